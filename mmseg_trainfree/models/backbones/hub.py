"""Loading pretrained components by model id (hub id or local folder), with one clear error when offline."""
from __future__ import annotations

import os

import torch

_DTYPES = dict(float32=torch.float32, float16=torch.float16, bfloat16=torch.bfloat16)


class ModelNotAvailableError(OSError):
    """A model id that is neither a local folder nor in the Hugging Face cache while offline."""


def resolve_dtype(dtype: str | torch.dtype) -> torch.dtype:
    """``'auto'`` is float16 when CUDA is available, else float32."""
    if isinstance(dtype, torch.dtype):
        return dtype
    if dtype == 'auto':
        return torch.float16 if torch.cuda.is_available() else torch.float32
    if dtype not in _DTYPES:
        raise ValueError(f"dtype must be one of {sorted(_DTYPES)} or 'auto', got {dtype!r}")
    return _DTYPES[dtype]


def load_pretrained(cls, model_id: str, layout: str, config_field: str, subfolder: str | None = None, **kwargs):
    """``cls.from_pretrained(model_id, ...)``; a missing model raises :class:`ModelNotAvailableError` naming the
    model id, whether the run is offline, the expected folder ``layout`` and the ``config_field`` to override."""
    if subfolder is not None:
        kwargs['subfolder'] = subfolder
    what = f'model {model_id!r}' + (f' (component {subfolder!r})' if subfolder else '')
    try:
        return cls.from_pretrained(model_id, **kwargs)
    except (OSError, ValueError) as e:
        if os.path.isdir(model_id):
            raise ModelNotAvailableError(
                f"cannot load {what} from the local folder: expected {layout}. ({e})") from e
        if looks_like_path(model_id):  # never suggest downloading a path
            raise ModelNotAvailableError(
                f'{what}: no such folder (relative paths start from {os.getcwd()}); expected a folder in {layout}, '
                f'set with --cfg-options {config_field}=/path/to/folder') from e
        offline = kwargs.get('local_files_only') or os.environ.get('HF_HUB_OFFLINE', '0') not in ('0', '', 'false')
        raise ModelNotAvailableError(
            f'{what} is not available'
            + (' in the local Hugging Face cache and this run is offline' if offline else '')
            + f'. Download it on a machine with hub access (`hf download {model_id}`, the huggingface_hub CLI), '
            f'or point the config at a local folder in {layout}: --cfg-options {config_field}=/path/to/folder') from e


def looks_like_path(model_id: str) -> bool:
    """A file-system path rather than a hub id (``org/name``, or ``name``)."""
    return (model_id.startswith(('/', './', '../', '~', '.\\')) or model_id.count('/') > 1 or '\\' in model_id
            or os.path.exists(os.path.dirname(model_id) or '\0'))
