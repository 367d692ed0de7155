"""Evaluations that survive interruption: ``ResumableTestLoop`` keeps, per image, what the metrics took from it.

Every metric here (mmseg's IoUMetric, the Hungarian and mask-embedding metrics, the background sweep) appends
one small entry per image to its ``results`` in ``process``: the image's sufficient statistics. The loop writes
those entries for each image, atomically, to ``WORK_DIR/resume/<key>/``, where the key hashes the model, the
dataset, the evaluator and the code version. A run started again with the same config and work dir loads the
entries of the images already done instead of running the model on them, and ends with exactly the metrics of
an uninterrupted run, under any number of processes (each image's entry is found by its path). A changed
config has another key, so it never reuses stale entries. After a successful run the store is removed.

With ``--out``, the output folder holds ``UNFINISHED`` (naming the run's key) until the run completes, so the
predictions of an interrupted run are never mistaken for a finished one.
"""
from __future__ import annotations

import hashlib
import json
import os
import os.path as osp
import pickle
import shutil
from typing import Any, Optional, Sequence

import torch
from mmengine.dist import all_reduce, barrier, is_main_process
from mmengine.logging import print_log
from mmengine.runner import TestLoop

from ..fileio import atomic_path
from ..registry import LOOPS
from .results import git_commit, plain

STORE = 'resume'
UNFINISHED = 'UNFINISHED'


def run_key(cfg) -> str:
    """A hash of everything the per-image entries depend on: model, checkpoint, dataset, evaluator (without output
    folders), package version and git commit."""
    from ..version import __version__
    evaluator = plain(cfg.get('test_evaluator'))
    for entry in evaluator if isinstance(evaluator, list) else [evaluator]:
        if isinstance(entry, dict):
            entry.pop('output_dir', None)
    record = dict(model=plain(cfg.get('model')), load_from=cfg.get('load_from'),
                  dataset=plain(cfg.get('test_dataloader', {}).get('dataset')), evaluator=evaluator,
                  version=__version__, commit=git_commit(osp.dirname(osp.abspath(__file__))))
    return hashlib.sha1(json.dumps(record, sort_keys=True, default=repr).encode()).hexdigest()[:16]


def to_cpu(value: Any) -> Any:
    """Tensors moved to the CPU inside tuples, lists and dicts (entries are pickled and summed on the CPU)."""
    if isinstance(value, torch.Tensor):
        return value.detach().cpu()
    if isinstance(value, (list, tuple)):
        return type(value)(to_cpu(v) for v in value)
    if isinstance(value, dict):
        return {k: to_cpu(v) for k, v in value.items()}
    return value


class ResultStore:
    """One pickle per image (named by a hash of its path) under ``folder``, written atomically."""

    def __init__(self, folder: str):
        self.folder = folder
        os.makedirs(folder, exist_ok=True)

    def path(self, image: str) -> str:
        return osp.join(self.folder, hashlib.sha1(image.encode()).hexdigest()[:20] + '.pkl')

    def get(self, image: str) -> Optional[list]:
        try:
            with open(self.path(image), 'rb') as f:
                stored = pickle.load(f)
        except (OSError, EOFError, pickle.UnpicklingError):
            return None
        return stored['entries'] if stored.get('image') == image else None

    def put(self, image: str, entries: list) -> None:
        with atomic_path(self.path(image)) as tmp, open(tmp, 'wb') as f:
            pickle.dump(dict(image=image, entries=entries), f)

    def __len__(self) -> int:
        return sum(1 for f in os.listdir(self.folder) if f.endswith('.pkl'))


def sample_paths(data_batch: dict) -> list[str]:
    return [s.metainfo.get('img_path') or '' for s in data_batch.get('data_samples', [])]


@LOOPS.register_module()
class ResumableTestLoop(TestLoop):
    """mmengine's ``TestLoop`` that skips the images a previous, interrupted run of the same config finished.

    Arguments besides ``TestLoop``'s.

    Args:
        resume: load the entries of finished images (default); False recomputes every image.
        keep_store: keep ``WORK_DIR/resume/<key>`` after a successful run (default: removed).
    """

    def __init__(self, runner, dataloader, evaluator, fp16: bool = False, resume: bool = True,
                 keep_store: bool = False):
        super().__init__(runner, dataloader, evaluator, fp16)
        self.resume, self.keep_store = resume, keep_store
        self.loaded = self.computed = 0  # images this process took from the store / ran the model on

    def output_dirs(self) -> list[str]:
        return [m.output_dir for m in self.evaluator.metrics if getattr(m, 'output_dir', None)]

    def run(self) -> dict:
        key = run_key(self.runner.cfg)
        self.store = ResultStore(osp.join(self.runner.work_dir, STORE, key))
        if is_main_process():
            for folder in self.output_dirs():
                os.makedirs(folder, exist_ok=True)
                with open(osp.join(folder, UNFINISHED), 'w') as f:
                    f.write(f'predictions of a run that has not finished (resume key {key}); rerun the same config '
                            'with the same work dir to complete it\n')
        if self.resume and len(self.store):
            print_log(f'resuming: {len(self.store)} images of an earlier run of this config are in {self.store.folder}',
                      logger='current')
        metrics = super().run()
        counts = torch.tensor([self.loaded, self.computed], dtype=torch.long)
        all_reduce(counts)  # over every process (a no-op in one process)
        print_log(f'images taken from the resume store: {int(counts[0])}, computed: {int(counts[1])}',
                  logger='current')
        barrier()
        if is_main_process():
            for folder in self.output_dirs():
                if osp.exists(osp.join(folder, UNFINISHED)):
                    os.remove(osp.join(folder, UNFINISHED))
            if not self.keep_store:
                shutil.rmtree(self.store.folder, ignore_errors=True)
        return metrics

    @torch.no_grad()
    def run_iter(self, idx: int, data_batch: Sequence[dict]) -> None:
        paths = sample_paths(data_batch)
        stored = [self.store.get(p) for p in paths] if self.resume and all(paths) else [None]
        if all(s is not None for s in stored):
            self.runner.call_hook('before_test_iter', batch_idx=idx, data_batch=data_batch)
            for entries in stored:
                for metric, new in zip(self.evaluator.metrics, entries):
                    metric.results.extend(new)
            self.loaded += len(paths)
            self.runner.call_hook('after_test_iter', batch_idx=idx, data_batch=data_batch, outputs=[])
            return
        before = [len(m.results) for m in self.evaluator.metrics]
        super().run_iter(idx, data_batch)
        self.computed += len(paths)
        new = []
        for metric, start in zip(self.evaluator.metrics, before):
            metric.results[start:] = to_cpu(metric.results[start:])
            new.append(metric.results[start:])
        if not all(paths) or any(len(n) % len(paths) for n in new):
            return  # entries that cannot be split per image are not stored: this batch reruns
        for i, path in enumerate(paths):
            self.store.put(path, [n[i * (len(n) // len(paths)):(i + 1) * (len(n) // len(paths))] for n in new])

