"""The unsupervised benchmarks' evaluation crops, applied to the image *and* its labels.

Unsupervised protocols score the prediction at the crop, not at the original image, so these
transforms also set ``ori_shape`` (mmseg resizes predictions back to ``ori_shape``): place them after
the annotation loader.
"""
from __future__ import annotations

import cv2
import numpy as np
from mmcv.transforms import BaseTransform

from ..registry import TRANSFORMS


def _resize(array: np.ndarray, hw: tuple[int, int], nearest: bool) -> np.ndarray:
    if array.shape[:2] == hw:
        return array
    return cv2.resize(array, (hw[1], hw[0]), interpolation=cv2.INTER_NEAREST if nearest else cv2.INTER_LINEAR)


def _apply(results: dict, box: tuple[int, int, int, int], out_hw: tuple[int, int]) -> dict:
    """Crop every image / label field to box = (y1, x1, y2, x2), then resize to out_hw."""
    y1, x1, y2, x2 = box
    results['img'] = _resize(results['img'][y1:y2, x1:x2], out_hw, nearest=False)
    for key in results.get('seg_fields', []):
        results[key] = _resize(results[key][y1:y2, x1:x2], out_hw, nearest=True)
    results['img_shape'] = results['ori_shape'] = out_hw
    return results


def _center_box(h: int, w: int, ch: int, cw: int) -> tuple[int, int, int, int]:
    y1, x1 = (h - ch) // 2, (w - cw) // 2
    return y1, x1, y1 + ch, x1 + cw


@TRANSFORMS.register_module()
class ResizeShortCenterCrop(BaseTransform):
    """STEGO / PiCIE: resize the short side to ``size`` (bilinear image, nearest labels), centre-crop
    ``size`` x ``size``."""

    def __init__(self, size: int = 320):
        if size <= 0:
            raise ValueError(f'size must be positive, got {size}')
        self.size = int(size)

    def transform(self, results: dict) -> dict:
        h, w = results['img'].shape[:2]
        scale = self.size / min(h, w)
        rh, rw = max(self.size, round(h * scale)), max(self.size, round(w * scale))
        results['img'] = _resize(results['img'], (rh, rw), nearest=False)
        for key in results.get('seg_fields', []):
            results[key] = _resize(results[key], (rh, rw), nearest=True)
        return _apply(results, _center_box(rh, rw, self.size, self.size), (self.size, self.size))

    def __repr__(self) -> str:
        return f'{type(self).__name__}(size={self.size})'


@TRANSFORMS.register_module()
class CenterSquareCropResize(BaseTransform):
    """DiffSeg: centre-crop the largest square, resize it to ``size`` x ``size`` (bilinear image,
    nearest labels)."""

    def __init__(self, size: int = 512):
        if size <= 0:
            raise ValueError(f'size must be positive, got {size}')
        self.size = int(size)

    def transform(self, results: dict) -> dict:
        h, w = results['img'].shape[:2]
        side = min(h, w)
        return _apply(results, _center_box(h, w, side, side), (self.size, self.size))

    def __repr__(self) -> str:
        return f'{type(self).__name__}(size={self.size})'
