"""``tools/test.py --out DIR`` for metrics whose predictions become classes only once they are matched.

mmseg's ``IoUMetric`` writes ``DIR/<image>.png`` (class ids) as it goes. Cluster and mask predictions have no
class until the Hungarian / concept matching: per image (DiffSeg's protocol) it is known in ``process``; over
the dataset only in ``compute_metrics``. Then the raw ids wait under ``DIR/.pending/`` and are rewritten as
class ids once the matching is known. Every PNG is at the size that was scored (the evaluation crop, when the
protocol crops: ``<image>.crop.json`` records it). Pixels of unmatched clusters are 255.
"""
from __future__ import annotations

import json
import os
import os.path as osp
import shutil
from typing import Optional

import numpy as np
from PIL import Image

from ..fileio import atomic_path

PENDING = '.pending'


def png_name(sample: dict) -> str:
    """The output name of a sample: its image's base name with ``.png``."""
    path = sample.get('img_path')
    if not path:
        raise ValueError('--out needs img_path in each sample to name its PNG')
    return osp.splitext(osp.basename(path))[0] + '.png'


def write_png(path: str, array: np.ndarray) -> None:
    """Write a label map (uint8 when it fits, else uint16) atomically: a reader never sees half a file."""
    array = np.asarray(array)
    dtype = np.uint8 if array.size == 0 or int(array.max()) < 256 else np.uint16
    with atomic_path(path) as tmp:
        Image.fromarray(array.astype(dtype)).save(tmp)


class LabelOutputs:
    """The ``output_dir`` / ``format_only`` arguments of mmseg's ``IoUMetric``, for matched predictions."""

    def _init_outputs(self, output_dir: Optional[str], format_only: bool) -> None:
        if format_only:
            raise ValueError(f'{type(self).__name__}: format_only is not possible, the matching needs the ground '
                             'truth; give output_dir alone')
        self.output_dir = output_dir

    def record_sample(self, sample: dict) -> str:
        """The PNG name of a sample; its evaluation crop, if any, is written beside it."""
        name = png_name(sample)
        crop = sample.get('eval_crop')
        if crop is not None:
            os.makedirs(self.output_dir, exist_ok=True)
            with open(osp.join(self.output_dir, name[:-4] + '.crop.json'), 'w') as f:
                json.dump({k: list(v) if isinstance(v, tuple) else v for k, v in crop.items()}, f)
        return name

    def write_classes(self, name: str, ids: np.ndarray, lut: np.ndarray) -> None:
        """``DIR/name``: the class of each pixel's id through ``lut`` (ids outside it -> 255)."""
        lut = np.concatenate([np.asarray(lut, np.int64), [255]])
        write_png(osp.join(self.output_dir, name), lut[np.minimum(ids, len(lut) - 1)])

    def write_pending(self, name: str, ids: np.ndarray) -> None:
        write_png(osp.join(self.output_dir, PENDING, name), ids)

    def resolve_pending(self, luts: dict[str, np.ndarray]) -> None:
        """Rewrite every pending id map as class ids (``luts``: PNG name -> id-to-class table)."""
        for name, lut in luts.items():
            ids = np.array(Image.open(osp.join(self.output_dir, PENDING, name))).astype(np.int64)
            self.write_classes(name, ids, lut)
        shutil.rmtree(osp.join(self.output_dir, PENDING), ignore_errors=True)
