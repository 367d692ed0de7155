"""The results file of a run: ``WORK_DIR/results.json``, everything needed to tabulate it later
(tools/collect_results.py): the metrics with per-class IoU, the config, the models and their revisions, the
dataset, the package version and the git commit."""
from __future__ import annotations

import datetime
import json
import os.path as osp
import subprocess
from typing import Any, Optional

import numpy as np
from mmengine.dist import is_main_process
from mmengine.hooks import Hook

from ..fileio import atomic_path
from ..registry import HOOKS
from ..version import __version__

MODEL_KEYS = ('model_id', 'revision', 'model_name', 'pretrained', 'variant', 'dtype')


def model_sources(cfg: Any, prefix: str = 'model') -> list[dict]:
    """Every sub-config of the model that loads weights (has a model id, model name or checkpoint)."""
    out = []
    if isinstance(cfg, dict):
        if 'model_id' in cfg or 'model_name' in cfg:
            out.append(dict(field=prefix, type=cfg.get('type'), **{k: cfg[k] for k in MODEL_KEYS if k in cfg}))
        for key, value in cfg.items():
            out += model_sources(value, f'{prefix}.{key}')
    elif isinstance(cfg, (list, tuple)):
        for i, value in enumerate(cfg):
            out += model_sources(value, f'{prefix}.{i}')
    return out


def git_commit(path: str) -> Optional[str]:
    """The commit of the git checkout holding ``path`` (with '+dirty' when it has local changes), or None."""
    try:
        sha = subprocess.run(['git', 'rev-parse', 'HEAD'], cwd=path, capture_output=True, text=True, timeout=10)
        if sha.returncode:
            return None
        dirty = subprocess.run(['git', 'status', '--porcelain', '--untracked-files=no'], cwd=path,
                               capture_output=True, text=True, timeout=10).stdout.strip()
        return sha.stdout.strip() + ('+dirty' if dirty else '')
    except (OSError, subprocess.SubprocessError):
        return None


def plain(value: Any) -> Any:
    """JSON-safe copy of config values (tuples become lists, other objects their repr)."""
    if isinstance(value, dict):
        return {str(k): plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [plain(v) for v in value]
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    if isinstance(value, np.generic):  # metrics come as numpy scalars
        return value.item()
    return repr(value)


@HOOKS.register_module()
class ResultsFileHook(Hook):
    """Write ``results.json`` in the work dir after testing (rank 0, atomically)."""

    priority = 'VERY_LOW'

    def __init__(self, filename: str = 'results.json'):
        self.filename = filename

    def after_test_epoch(self, runner, metrics: Optional[dict] = None) -> None:
        if not is_main_process():
            return
        cfg = runner.cfg
        dataset = runner.test_dataloader.dataset
        per_class = {}
        for metric in getattr(runner.test_evaluator, 'metrics', []):
            if getattr(metric, 'per_class', None):
                per_class = metric.per_class
        evaluator = cfg.get('test_evaluator')
        record = dict(
            config=osp.abspath(cfg.filename) if cfg.filename else None,
            config_name=osp.splitext(osp.basename(cfg.filename))[0] if cfg.filename else None,
            metrics=plain(metrics or {}), per_class=per_class,
            evaluator=plain(evaluator), models=plain(model_sources(cfg.get('model'))),
            dataset=dict(type=type(dataset).__name__, data_root=getattr(dataset, 'data_root', None),
                         num_images=len(dataset), classes=list(dataset.metainfo.get('classes', ()))),
            mmseg_trainfree=__version__, git_commit=git_commit(osp.dirname(osp.abspath(__file__))),
            world_size=runner.world_size, finished=datetime.datetime.now().isoformat(timespec='seconds'))
        path = osp.join(runner.work_dir, self.filename)
        with atomic_path(path) as tmp, open(tmp, 'w', encoding='utf-8') as f:
            json.dump(record, f, indent=1)
        runner.logger.info(f'results written to {path}')
