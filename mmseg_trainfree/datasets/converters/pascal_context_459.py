"""PASCAL-Context-459 from the release's ``trainval/*.mat`` files: ``LabelMap`` value k (1..459) is
class k - 1; 0 (unlabelled) becomes 65535; written as 16-bit TIFF."""
from __future__ import annotations

import glob
import os
import os.path as osp
from functools import partial
from typing import Optional

import cv2
import numpy as np
from scipy.io import loadmat

from .common import IGNORE_16BIT, run_with_progress


def label_map_to_459(label_map: np.ndarray) -> np.ndarray:
    label = label_map.astype(np.int64) - 1
    label[label < 0] = IGNORE_16BIT
    return label.astype(np.uint16)


def _convert_one(mat_path: str, out_dir: str) -> None:
    try:
        label_map = loadmat(mat_path)['LabelMap']
    except (KeyError, ValueError, OSError) as e:
        raise ValueError(f'{mat_path}: expected a PASCAL-Context .mat file with a LabelMap array') from e
    out = osp.join(out_dir, osp.splitext(osp.basename(mat_path))[0] + '.tif')
    if not cv2.imwrite(out, label_map_to_459(label_map)):
        raise OSError(f'cannot write {out}')


def convert_pascal_context_459(mat_dir: str, out_dir: str, split_file: Optional[str] = None, nproc: int = 1) -> int:
    """Convert ``mat_dir/*.mat`` (only the ids listed in ``split_file``, if given) into ``out_dir/<id>.tif``."""
    if split_file is not None:
        with open(split_file) as f:
            ids = [line.strip() for line in f if line.strip()]
        files = [osp.join(mat_dir, i + '.mat') for i in ids]
        missing = [f for f in files if not osp.isfile(f)]
        if missing:
            raise FileNotFoundError(f'{len(missing)} ids of {split_file} have no .mat in {mat_dir}, '
                                    f'e.g. {missing[0]}')
    else:
        files = sorted(glob.glob(osp.join(mat_dir, '*.mat')))
    if not files:
        raise FileNotFoundError(f'no *.mat files in {mat_dir!r}: expected the extracted PASCAL-Context '
                                'trainval.tar.gz (trainval/<id>.mat)')
    os.makedirs(out_dir, exist_ok=True)
    work = partial(_convert_one, out_dir=out_dir)
    run_with_progress(work, files, nproc)
    return len(files)
