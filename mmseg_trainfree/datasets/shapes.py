"""A built-in toy benchmark with known segmentation: textured shapes on textured backgrounds.

Written in mmseg's ``img_dir/<split>`` + ``ann_dir/<split>`` layout, so it exercises the same
loading, evaluation and visualisation code as the real benchmarks. Used by the demo and tests.
"""
from __future__ import annotations

import os
import os.path as osp

import cv2
import numpy as np
from mmseg.datasets import BaseSegDataset

from ..registry import DATASETS

SHAPES_CLASSES = ('background', 'disc', 'square', 'triangle')
SHAPES_PALETTE = [[40, 40, 40], [220, 60, 60], [60, 180, 75], [70, 110, 230]]
_SHAPE_COLOURS = {1: (230, 80, 70), 2: (80, 200, 90), 3: (70, 100, 235)}  # RGB



def _texture(rng: np.random.Generator, h: int, w: int, base, amp: float) -> np.ndarray:
    yy, xx = np.mgrid[0:h, 0:w]
    fx, fy, phase = rng.uniform(0.05, 0.3), rng.uniform(0.05, 0.3), rng.uniform(0, 2 * np.pi)
    wave = np.sin(fx * xx + fy * yy + phase)[..., None]
    noise = rng.normal(0, 0.5, (h, w, 3))
    return np.clip(np.asarray(base, float) + amp * (wave + noise), 0, 255)


def draw_shapes_sample(rng: np.random.Generator, height: int, width: int, max_shapes: int = 3,
                       texture: float = 1.0):
    """One RGB image (uint8, H x W x 3) and its label map (uint8, H x W)."""
    bg = rng.uniform(90, 170, 3)
    image = _texture(rng, height, width, bg, 20 * texture)
    label = np.zeros((height, width), np.uint8)
    for _ in range(int(rng.integers(1, max_shapes + 1))):
        cls = int(rng.integers(1, len(SHAPES_CLASSES)))
        mask = np.zeros((height, width), np.uint8)
        r = int(rng.uniform(0.12, 0.28) * min(height, width))
        cy, cx = int(rng.integers(r, height - r)), int(rng.integers(r, width - r))
        if cls == 1:
            cv2.circle(mask, (cx, cy), r, 1, -1)
        elif cls == 2:
            cv2.rectangle(mask, (cx - r, cy - r), (cx + r, cy + r), 1, -1)
        else:
            pts = np.array([[cx, cy - r], [cx - r, cy + r], [cx + r, cy + r]], np.int32)
            cv2.fillPoly(mask, [pts], 1)
        inside = mask.astype(bool)
        image[inside] = _texture(rng, height, width, _SHAPE_COLOURS[cls], 12 * texture)[inside]
        label[inside] = cls
    return image.astype(np.uint8), label


def generate_shapes_dataset(root: str, num_images: int = 8, size: tuple[int, int] = (96, 128), seed: int = 0,
                            split: str = 'val', texture: float = 1.0) -> str:
    """Write ``num_images`` samples under ``root`` (deterministic for a seed); returns ``root``."""
    img_dir, ann_dir = osp.join(root, 'img_dir', split), osp.join(root, 'ann_dir', split)
    os.makedirs(img_dir, exist_ok=True)
    os.makedirs(ann_dir, exist_ok=True)
    rng = np.random.default_rng(seed)
    for i in range(num_images):
        image, label = draw_shapes_sample(rng, *size, texture=texture)
        cv2.imwrite(osp.join(img_dir, f'shapes_{i:04d}.png'), image[..., ::-1])
        cv2.imwrite(osp.join(ann_dir, f'shapes_{i:04d}.png'), label)
    return root


@DATASETS.register_module()
class ShapesDataset(BaseSegDataset):
    """The built-in toy benchmark (see :func:`generate_shapes_dataset`)."""

    METAINFO = dict(classes=SHAPES_CLASSES, palette=SHAPES_PALETTE)

    def __init__(self, img_suffix: str = '.png', seg_map_suffix: str = '.png', **kwargs):
        super().__init__(img_suffix=img_suffix, seg_map_suffix=seg_map_suffix, **kwargs)
