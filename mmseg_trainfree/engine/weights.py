"""Frozen backbones load their weights before the test loop, and mmseg's ``CHECKPOINT`` may name them.

mmseg's own ``tools/test.py CONFIG CHECKPOINT`` requires a checkpoint and sets ``load_from`` to it; mmengine then
builds the model and, after the ``before_run`` hooks, ``torch.load``-s the file into the model's state dict. A
training-free config has no trained checkpoint: the weights it needs are the Stable Diffusion ones. With the
backbone built lazily (``StableDiffusionBackbone(lazy=True)``, as the configs set it), :class:`DiffusionWeightsHook`
takes a ``load_from`` that holds Stable Diffusion weights (a ``.safetensors`` / ``.ckpt`` file in the original
layout, or a diffusers folder) as the backbone's ``model_id`` and clears it, so mmengine does not read it again.
Any other ``load_from`` (an mmengine checkpoint of the whole segmentor) is left to mmengine.
"""
from __future__ import annotations

import os
import time
from typing import Optional

import torch
from mmengine.hooks import Hook
from mmengine.model import is_model_wrapper

from ..models.backbones.stable_diffusion import StableDiffusionBackbone, is_single_file, load_lazy_backbones
from ..registry import HOOKS

LDM_PREFIXES = ('model.diffusion_model.', 'first_stage_model.', 'cond_stage_model.', 'conditioner.')


def is_diffusion_weights(path: str) -> bool:
    """Whether the local ``path`` holds Stable Diffusion weights rather than an mmengine checkpoint of a model: a
    folder (diffusers layout), a ``.safetensors`` file, or a pickle whose state dict has the original (LDM) keys; a
    ``.ckpt`` that cannot be read safely counts as SD weights (the backbone then refuses it with its reason)."""
    if os.path.isdir(path) or path.lower().endswith('.safetensors'):
        return True
    if not os.path.isfile(path):
        return False
    try:  # weights only, memory-mapped: the keys without reading the tensors
        checkpoint = torch.load(path, map_location='cpu', weights_only=True, mmap=True)
    except Exception:  # an unsafe or old-format pickle: decide by the name
        return path.lower().endswith('.ckpt')
    state = checkpoint.get('state_dict', checkpoint) if isinstance(checkpoint, dict) else {}
    return any(isinstance(k, str) and k.startswith(LDM_PREFIXES) for k in state)


@HOOKS.register_module()
class DiffusionWeightsHook(Hook):
    """Before the run: take Stable Diffusion weights given as ``load_from`` / mmseg's ``CHECKPOINT`` as every
    Stable Diffusion backbone's ``model_id``, then load the weights of each lazy backbone (logged, with the time).

    For a single file, the backbone's ``single_file_config`` describes its architecture, or else the config's own
    ``model_id`` (weights of another architecture than the config's need ``model.backbone.single_file_config``).
    """

    priority = 'VERY_HIGH'

    def before_run(self, runner) -> None:
        model = runner.model.module if is_model_wrapper(runner.model) else runner.model
        backbones = [(name, m) for name, m in model.named_modules() if isinstance(m, StableDiffusionBackbone)]
        checkpoint: Optional[str] = runner._load_from  # mmengine loads it after before_run; no public accessor
        if isinstance(checkpoint, str) and '://' not in checkpoint:
            if not os.path.exists(checkpoint):
                raise FileNotFoundError(
                    f'checkpoint {checkpoint!r} does not exist (load_from / CHECKPOINT; relative paths start from '
                    f'{os.getcwd()}). For a training-free config it is optional: the Stable Diffusion weights as a '
                    '.safetensors / .ckpt file or a diffusers folder, or an mmengine checkpoint of the model')
            if is_diffusion_weights(checkpoint):
                if not backbones:
                    raise ValueError(f'{checkpoint} holds Stable Diffusion weights (load_from / CHECKPOINT) but '
                                     f'{type(model).__name__} has no Stable Diffusion backbone: its weights come from '
                                     'the model ids of its config (run mmseg_trainfree tools/test.py CONFIG without '
                                     'a checkpoint)')
                for name, backbone in backbones:
                    config = None
                    if is_single_file(checkpoint):
                        config = backbone.single_file_config or (
                            None if is_single_file(backbone.model_id) else backbone.model_id)
                    runner.logger.info(f'Stable Diffusion weights from the checkpoint {checkpoint} '
                                       f'(instead of model.{name}.model_id={backbone.model_id!r})')
                    backbone.load_weights(checkpoint, config)
                    runner.cfg.merge_from_dict({f'model.{name}.model_id': checkpoint})  # results.json names it
                runner._load_from = None
        start = time.perf_counter()
        loaded = load_lazy_backbones(model)
        if loaded:
            runner.logger.info(', '.join(f'model.{name}.model_id={model.get_submodule(name).model_id!r}'
                                         for name in loaded)
                               + f' loaded in {time.perf_counter() - start:.1f} s')
