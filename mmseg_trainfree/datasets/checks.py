"""Fail early, and clearly, when a dataset is not where the config says."""
from __future__ import annotations

import os
import os.path as osp

from mmengine.config import Config


def check_dataset_paths(dataset_cfg: dict, what: str = 'test_dataloader.dataset') -> None:
    """Raise ``FileNotFoundError`` naming the missing folder and the layout the dataset expects."""
    if dataset_cfg.get('type') == 'ConcatDataset':
        for i, sub in enumerate(dataset_cfg.get('datasets') or []):
            check_dataset_paths(sub, f'{what}.datasets[{i}]')
        return
    if dataset_cfg.get('type') == 'RepeatDataset':
        return check_dataset_paths(dataset_cfg.get('dataset') or {}, f'{what}.dataset')
    root = dataset_cfg.get('data_root') or ''
    prefix = dataset_cfg.get('data_prefix') or {}
    if root and not osp.isdir(root):
        raise FileNotFoundError(
            f"{what}.data_root {root!r} does not exist (dataset type {dataset_cfg.get('type')}). It should hold "
            + ', '.join(f"{k}: {osp.join(root, v)}" for k, v in prefix.items())
            + '. See docs/datasets/index.md (a page per benchmark) for how to prepare it, or override it with '
            f'--cfg-options {what}.data_root=/path/to/data')
    for key, sub in prefix.items():
        path = osp.join(root, sub)
        if sub and not osp.isdir(path):
            raise FileNotFoundError(f'{what}.data_prefix.{key}: folder {path!r} does not exist under '
                                    f'data_root {root!r}; expected ' + ', '.join(
                                        f'{k}={osp.join(root, v)}' for k, v in prefix.items()))
    ann = dataset_cfg.get('ann_file')
    if ann and not osp.isfile(osp.join(root, ann)):
        raise FileNotFoundError(f'{what}.ann_file {osp.join(root, ann)!r} does not exist')
    check_split_not_empty(dataset_cfg, what)


def image_suffix(dataset_cfg: dict) -> str | tuple | None:
    """The dataset's image suffix: the config's, else its class's default."""
    if dataset_cfg.get('img_suffix'):
        return dataset_cfg['img_suffix']
    import inspect

    from ..registry import DATASETS
    cls = DATASETS.get(dataset_cfg.get('type', '')) if dataset_cfg.get('type') else None
    if cls is None:
        return None
    if getattr(cls, 'IMG_SUFFIX', None):
        return cls.IMG_SUFFIX
    default = inspect.signature(cls.__init__).parameters.get('img_suffix')
    return default.default if default is not None and default.default is not inspect.Parameter.empty else None


def check_split_not_empty(dataset_cfg: dict, what: str = 'test_dataloader.dataset') -> None:
    """Refuse an empty split before any model loads (mmengine would fail later with "need at least one array
    to concatenate"): an ann_file without names, or an image folder without a file of the dataset's suffix."""
    root = dataset_cfg.get('data_root') or ''
    ann = dataset_cfg.get('ann_file')
    if ann:
        path = osp.join(root, ann)
        with open(path, encoding='utf-8') as f:
            if not any(line.strip() for line in f):
                raise ValueError(f'{what}.ann_file {path!r} lists no images: the split is empty')
        return
    folder = osp.join(root, (dataset_cfg.get('data_prefix') or {}).get('img_path', ''))
    suffix = image_suffix(dataset_cfg)
    if not osp.isdir(folder) or suffix is None:
        return
    suffixes = tuple(suffix) if isinstance(suffix, (list, tuple)) else (suffix,)
    for _, _, files in os.walk(folder):
        if any(f.endswith(suffixes) for f in files):
            return
    raise ValueError(f'{what}: the image folder {folder!r} holds no {"/".join(suffixes)} file: the split is empty '
                     f'(is data_prefix.img_path the right split, e.g. val?)')


def check_config_datasets(cfg: Config) -> None:
    """Check the dataset of every dataloader the config defines."""
    for loader in ('test_dataloader', 'val_dataloader'):
        if cfg.get(loader) is not None and cfg[loader].get('dataset') is not None:
            check_dataset_paths(cfg[loader]['dataset'], f'{loader}.dataset')
