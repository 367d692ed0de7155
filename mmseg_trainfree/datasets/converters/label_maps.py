"""Rewrite a folder of label PNGs through a lookup table (COCO-Object, COCO-Stuff-27 from stuffthingmaps)."""
from __future__ import annotations

import glob
import os
import os.path as osp
from functools import partial

import cv2
import numpy as np

from ..transforms import read_label_map
from .common import run_with_progress


def _convert_one(src: str, src_dir: str, dst_dir: str, src_suffix: str, dst_suffix: str, lut: np.ndarray) -> None:
    label = read_label_map(src)
    if int(label.max()) >= len(lut):
        raise ValueError(f'{src} holds id {int(label.max())}; the table maps 0..{len(lut) - 1}')
    rel = osp.relpath(src, src_dir)[:-len(src_suffix)] + dst_suffix
    dst = osp.join(dst_dir, rel)
    os.makedirs(osp.dirname(dst), exist_ok=True)
    if not cv2.imwrite(dst, lut[label]):
        raise OSError(f'cannot write {dst}')


def convert_label_dir(src_dir: str, dst_dir: str, lut: np.ndarray, src_suffix: str = '.png',
                      dst_suffix: str = '.png', nproc: int = 1, skip: tuple[str, ...] = ('TrainIds',)) -> int:
    """Map every ``*src_suffix`` label file under ``src_dir`` through ``lut`` into ``dst_dir`` (same
    relative paths, ``dst_suffix``); returns the number of files written. Files whose name contains a
    ``skip`` string (converted maps written beside the release's, e.g. mmseg's ``*_labelTrainIds.png``)
    are not inputs."""
    if not osp.isdir(src_dir):
        raise FileNotFoundError(f'label folder {src_dir!r} does not exist')
    files = sorted(f for f in glob.glob(osp.join(src_dir, '**', '*' + src_suffix), recursive=True)
                   if not any(s in osp.basename(f) for s in skip))
    if not files:
        raise FileNotFoundError(f'no *{src_suffix} label files under {src_dir!r}')
    work = partial(_convert_one, src_dir=src_dir, dst_dir=dst_dir, src_suffix=src_suffix, dst_suffix=dst_suffix,
                   lut=lut)
    run_with_progress(work, files, nproc)
    return len(files)


def label_dir_main(argv, description: str, lut: np.ndarray, dst_suffix: str, what: str) -> int:
    """The command line of a stuffthingmaps-derived benchmark (tools/dataset_converters)."""
    import argparse
    p = argparse.ArgumentParser(description=description, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument('label_dir', help='stuffthingmaps PNGs (raw COCO-Stuff ids 0..181, 255 unlabelled)')
    p.add_argument('-o', '--out-dir', help='default: beside the inputs')
    p.add_argument('--nproc', type=int, default=1)
    args = p.parse_args(argv)
    n = convert_label_dir(args.label_dir, args.out_dir or args.label_dir, lut, '.png', dst_suffix, args.nproc)
    print(f'\nwrote {n} {what} label maps')
    return 0
