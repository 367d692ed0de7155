"""ADE20K-full (847 classes) from the ``ADE20K_2021_17_01`` release.

Each ``*_seg.png`` encodes the object class of a pixel as R / 10 * 256 + G (the release's toolkit);
those indices map to the 847 benchmark ids through ``ADE847_ADE_INDEX``, the rest to 65535. Images
whose short side exceeds ``max_short`` are resized to it (bilinear image, nearest labels), as the
benchmark does; labels are written as 16-bit TIFF.
"""
from __future__ import annotations

import glob
import os
import os.path as osp
import shutil
from functools import partial

import cv2
import numpy as np

from ..meta.ade20k_847 import ADE847_ADE_INDEX
from .common import IGNORE_16BIT, run_with_progress


def ade847_lut() -> np.ndarray:
    lut = np.full(max(ADE847_ADE_INDEX) + 1, IGNORE_16BIT, np.uint16)
    lut[list(ADE847_ADE_INDEX)] = np.arange(len(ADE847_ADE_INDEX))
    return lut


def decode_ade_classes(seg_bgr: np.ndarray) -> np.ndarray:
    """Object class index per pixel of a release ``_seg.png`` read by OpenCV (BGR)."""
    r, g = seg_bgr[..., 2].astype(np.int32), seg_bgr[..., 1].astype(np.int32)
    return r // 10 * 256 + g


def _convert_one(image_path: str, out_root: str, split: str, max_short: int, lut: np.ndarray) -> None:
    seg_path = image_path[:-len('.jpg')] + '_seg.png'
    seg = cv2.imread(seg_path, cv2.IMREAD_COLOR)
    if seg is None:
        raise FileNotFoundError(f'missing or unreadable ADE20K annotation {seg_path}')
    classes = decode_ade_classes(seg)
    label = np.where(classes < len(lut), lut[np.minimum(classes, len(lut) - 1)], IGNORE_16BIT).astype(np.uint16)
    name = osp.splitext(osp.basename(image_path))[0]
    out_img = osp.join(out_root, 'images', split, name + '.jpg')
    out_ann = osp.join(out_root, 'annotations', split, name + '.tif')
    h, w = label.shape
    if min(h, w) > max_short:
        scale = max_short / min(h, w)
        size = (max(max_short, round(w * scale)), max(max_short, round(h * scale)))  # (w, h) for cv2
        image = cv2.imread(image_path, cv2.IMREAD_COLOR)
        if image is None:
            raise ValueError(f'cannot decode ADE20K image {image_path}')
        cv2.imwrite(out_img, cv2.resize(image, size, interpolation=cv2.INTER_LINEAR))
        label = cv2.resize(label, size, interpolation=cv2.INTER_NEAREST)
    else:
        shutil.copyfile(image_path, out_img)
    if not cv2.imwrite(out_ann, label):
        raise OSError(f'cannot write {out_ann}')


def convert_ade20k_847(src_root: str, out_root: str, split: str = 'validation', max_short: int = 512,
                       nproc: int = 1) -> int:
    """Convert ``src_root/images/ADE/<split>/**/ADE_*.jpg`` (+ ``_seg.png``) into
    ``out_root/{images,annotations}/<split>/``; returns the number of images."""
    image_dir = osp.join(src_root, 'images', 'ADE', split)
    files = sorted(glob.glob(osp.join(image_dir, '**', 'ADE_*.jpg'), recursive=True))
    if not files:
        raise FileNotFoundError(f'no ADE_*.jpg under {image_dir!r}: expected the ADE20K_2021_17_01 release '
                                '(images/ADE/<split>/<scene folders>/ADE_*.jpg with *_seg.png beside them)')
    for sub in ('images', 'annotations'):
        os.makedirs(osp.join(out_root, sub, split), exist_ok=True)
    work = partial(_convert_one, out_root=out_root, split=split, max_short=max_short, lut=ade847_lut())
    run_with_progress(work, files, nproc)
    return len(files)
