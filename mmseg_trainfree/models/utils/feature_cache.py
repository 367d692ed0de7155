"""An on-disk cache of what the frozen models compute per image, shared by the runs of an ablation.

A sweep over fusion weights, thresholds, K, lambda, sigma or the protocol recomputes the same UNet passes; each
method names the part of its computation that those settings do not change (DiffSeg's aggregated
self-attention, DiffSegmenter's per-prompt attention maps, MaskDiffusion's features and maps, EmerDiff's
inversion, queries and difference maps) and gets it from here. An entry is one safetensors file, keyed by a
digest of everything it depends on: the weights themselves (a digest of the parameters, so a hub id, a folder and
a single file with the same weights share entries and a retrained folder shares none), the input tensor the
model gets (image, resize, crop) and the method's settings that reach that part.

Several processes may share a folder: an entry is written to a temporary file and renamed into place, so a
reader sees a whole entry or none; two processes that compute the same entry write the same bytes. The folder is
bounded: past ``max_size`` the least recently used entries are removed (``policy='lru'``), or nothing new is
written (``policy='keep'``).
"""
from __future__ import annotations

import hashlib
import json
import logging
import os
import os.path as osp
import re
import time
from typing import Any, Callable, Iterable, Optional

import torch
from mmengine.logging import print_log
from torch import Tensor

from ...fileio import atomic_path

POLICIES = ('lru', 'keep')
SUFFIX = '.safetensors'
STALE_TEMPORARY_S = 3600
UNITS = {'': 1, 'B': 1, 'K': 2 ** 10, 'KB': 2 ** 10, 'M': 2 ** 20, 'MB': 2 ** 20, 'G': 2 ** 30, 'GB': 2 ** 30,
         'T': 2 ** 40, 'TB': 2 ** 40}


def parse_size(size: int | float | str) -> int:
    """Bytes from ``1073741824``, ``'500MB'``, ``'20 GB'`` (binary units)."""
    if isinstance(size, (int, float)):
        value, unit = float(size), ''
    else:
        m = re.fullmatch(r'\s*([0-9.]+)\s*([A-Za-z]*)\s*', str(size))
        if m is None or m.group(2).upper() not in UNITS:
            raise ValueError(f"feature cache max_size must be bytes or a size like '20GB', got {size!r}")
        value, unit = float(m.group(1)), m.group(2).upper()
    if value <= 0:
        raise ValueError(f'feature cache max_size must be > 0, got {size!r}')
    return int(value * UNITS[unit])


def tensor_digest(x: Tensor, h: Optional[Any] = None) -> str:
    """Digest of a tensor's dtype, shape and values (on the CPU, contiguous)."""
    h = h or hashlib.blake2b(digest_size=16)
    x = x.detach().to('cpu').contiguous()
    h.update(f'{x.dtype}{tuple(x.shape)}'.encode())
    h.update(x.view(-1).view(torch.uint8).numpy().tobytes() if x.numel() else b'')
    return h.hexdigest()


def weights_digest(modules: Iterable[torch.nn.Module]) -> str:
    """Digest of every parameter and buffer of ``modules`` (names, dtypes, shapes, values)."""
    h = hashlib.blake2b(digest_size=16)
    for module in modules:
        if module is None:
            continue
        for name, value in module.state_dict().items():
            h.update(name.encode())
            tensor_digest(value, h)
    return h.hexdigest()


def _canonical(value: Any) -> Any:
    """JSON-able form of a key part; tensors become their digest."""
    if isinstance(value, Tensor):
        return {'tensor': tensor_digest(value)}
    if isinstance(value, dict):
        return {str(k): _canonical(v) for k, v in sorted(value.items(), key=lambda kv: str(kv[0]))}
    if isinstance(value, (list, tuple)):
        return [_canonical(v) for v in value]
    if isinstance(value, (str, int, float, bool)) or value is None:
        return value
    return repr(value)


class FeatureCache:
    """Per-image intermediate results on disk, keyed by everything they depend on.

    Args:
        root: the folder (created); may be shared by configs, runs and processes.
        max_size: bound on the folder's entries, bytes or ``'20GB'``.
        policy: past ``max_size``, ``'lru'`` removes the least recently used entries (reads count as use),
            ``'keep'`` keeps the entries it has and writes no new one.
    """

    def __init__(self, root: str, max_size: int | str = '50GB', policy: str = 'lru'):
        if policy not in POLICIES:
            raise ValueError(f'feature cache policy must be one of {POLICIES}, got {policy!r}')
        self.root, self.max_size, self.policy = osp.abspath(root), parse_size(max_size), policy
        os.makedirs(self.root, exist_ok=True)
        self.hits = self.misses = self.writes = self.evictions = self.skipped = 0
        self._size = self.folder_size()
        self._warned_full = False

    def __repr__(self) -> str:
        return f'FeatureCache(root={self.root!r}, max_size={self.max_size}, policy={self.policy!r})'

    # keys and files
    @staticmethod
    def digest(key: dict) -> str:
        text = json.dumps(_canonical(key), sort_keys=True, separators=(',', ':'))
        return hashlib.blake2b(text.encode(), digest_size=20).hexdigest()

    def path(self, digest: str) -> str:
        return osp.join(self.root, digest[:2], digest + SUFFIX)

    def entries(self, temporary: bool = False) -> list[tuple[str, os.stat_result]]:
        """(path, stat) of the entries, or of the temporary files of unfinished writes."""
        out = []
        for sub in os.scandir(self.root):
            if not sub.is_dir():
                continue
            for entry in os.scandir(sub.path):
                if entry.name.endswith(SUFFIX) and ('.tmp' in entry.name) == temporary:
                    try:
                        out.append((entry.path, entry.stat()))
                    except FileNotFoundError:  # removed by another process meanwhile
                        pass
        return out

    def folder_size(self) -> int:
        return sum(st.st_size for _, st in self.entries())

    # reading and writing
    def load(self, key: dict, device: Optional[torch.device] = None) -> Optional[dict[str, Tensor]]:
        """The tensors stored under ``key`` (on ``device``), or None."""
        from safetensors.torch import load_file
        path = self.path(self.digest(key))
        try:
            tensors = load_file(path, device='cpu')
        except FileNotFoundError:
            return None
        except Exception as e:  # noqa: BLE001 - a damaged entry is a miss, and goes
            print_log(f'feature cache: {path} is unreadable ({e}); recomputing it', logger='current',
                      level=logging.WARNING)
            self._remove(path)
            return None
        try:
            os.utime(path)  # recently used
        except FileNotFoundError:  # evicted by another process since: what was read is whole
            pass
        return {k: v.to(device) for k, v in tensors.items()} if device is not None else tensors

    def store(self, key: dict, tensors: dict[str, Tensor]) -> None:
        """Write ``tensors`` under ``key`` (atomically), then keep the folder within ``max_size``."""
        from safetensors.torch import save_file
        tensors = {k: v.detach().to('cpu', copy=True).contiguous() for k, v in tensors.items()}
        size = sum(v.numel() * v.element_size() for v in tensors.values())
        if self.policy == 'keep' and self._size + size > self.max_size:
            self._size = self.folder_size()  # other processes may have removed entries
            if self._size + size > self.max_size:
                self.skipped += 1
                if not self._warned_full:
                    print_log(f'feature cache {self.root} is full ({self._size / 2 ** 30:.2f} of '
                              f'{self.max_size / 2 ** 30:.2f} GiB, policy keep): new entries are not written',
                              logger='current', level=logging.WARNING)
                    self._warned_full = True
                return
        path = self.path(self.digest(key))
        metadata = {'key': json.dumps(_canonical(key), sort_keys=True)}
        with atomic_path(path) as tmp:
            save_file(tensors, tmp, metadata=metadata)
        self.writes += 1
        self._size += osp.getsize(path)
        if self._size > self.max_size:
            self.evict()

    def evict(self) -> None:
        """Remove least recently used entries until the folder is at most 90 % of ``max_size`` (and the temporary
        files of writes killed over an hour ago)."""
        for path, st in self.entries(temporary=True):  # left by a killed process (a live write takes seconds)
            if time.time() - st.st_mtime > STALE_TEMPORARY_S:
                self._remove(path)
        entries = sorted(self.entries(), key=lambda e: e[1].st_mtime)
        self._size = sum(st.st_size for _, st in entries)
        target = 0.9 * self.max_size
        for path, st in entries:
            if self._size <= target:
                break
            if self._remove(path):
                self._size -= st.st_size
                self.evictions += 1

    @staticmethod
    def _remove(path: str) -> bool:
        try:
            os.remove(path)
            return True
        except FileNotFoundError:
            return False

    def get_or_compute(self, key: dict, compute: Callable[[], dict[str, Tensor]],
                       device: Optional[torch.device] = None) -> dict[str, Tensor]:
        """The tensors under ``key``, or ``compute()``'s, stored. Returned tensors are on ``device`` (computed
        ones stay where they are)."""
        cached = self.load(key, device)
        if cached is not None:
            self.hits += 1
            return cached
        self.misses += 1
        tensors = compute()
        self.store(key, tensors)
        return tensors

    def stats(self) -> dict:
        return dict(hits=self.hits, misses=self.misses, writes=self.writes, evictions=self.evictions,
                    skipped=self.skipped, size_mb=round(self._size / 2 ** 20, 2))
