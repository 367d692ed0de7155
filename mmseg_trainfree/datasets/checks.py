"""Fail early, and clearly, when a dataset is not where the config says."""
from __future__ import annotations

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
            + '. See docs/datasets.md for how to prepare it, or override it with '
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


def check_config_datasets(cfg: Config) -> None:
    """Check the dataset of every dataloader the config defines."""
    for loader in ('test_dataloader', 'val_dataloader'):
        if cfg.get(loader) is not None and cfg[loader].get('dataset') is not None:
            check_dataset_paths(cfg[loader]['dataset'], f'{loader}.dataset')
