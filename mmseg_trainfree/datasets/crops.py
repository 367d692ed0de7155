"""The unsupervised benchmarks' evaluation crops, applied to the labels and (unless ``resize_image=False``) the image.

Unsupervised protocols score the prediction at the crop, not at the original image, so these
transforms also set ``ori_shape`` (mmseg resizes predictions back to ``ori_shape``): place them after
the annotation loader. The crop is recorded as ``eval_crop`` (pack it with
``PackSegInputs(meta_keys=(..., 'eval_crop'))``) so that ``EvalCropVisualizationHook`` can draw
predictions over the same crop of the image.
"""
from __future__ import annotations

from typing import Sequence

import cv2
import numpy as np
from mmcv.transforms import BaseTransform

from ..registry import TRANSFORMS

def _resize(array: np.ndarray, hw: tuple[int, int], nearest: bool, exact: bool = False) -> np.ndarray:
    if tuple(array.shape[:2]) == tuple(hw):
        return array
    mode = (cv2.INTER_NEAREST_EXACT if exact else cv2.INTER_NEAREST) if nearest else cv2.INTER_LINEAR
    return cv2.resize(array, (hw[1], hw[0]), interpolation=mode)


def apply_eval_crop(array: np.ndarray, crop: dict, nearest: bool = False) -> np.ndarray:
    """Resize to ``crop['resize']`` (if set), cut ``crop['box']`` = (y1, x1, y2, x2), resize to ``crop['size']``.
    ``crop['nearest_exact']``: nearest resizing samples pixel centres, as PIL's (cv2's default takes the corner)."""
    exact = bool(crop.get('nearest_exact'))
    if crop.get('resize') is not None:
        array = _resize(array, crop['resize'], nearest, exact)
    y1, x1, y2, x2 = crop['box']
    return _resize(array[y1:y2, x1:x2], crop['size'], nearest, exact)


def _center_box(h: int, w: int, ch: int, cw: int) -> tuple[int, int, int, int]:
    y1, x1 = (h - ch) // 2, (w - cw) // 2
    return y1, x1, y1 + ch, x1 + cw


class _EvalCrop(BaseTransform):
    """``resize_image=False`` leaves the model input as it is and crops / resizes only the labels: the
    prediction is then resized to the labels' size (``ori_shape``) before scoring."""

    def __init__(self, size: int, resize_image: bool = True):
        if size <= 0:
            raise ValueError(f'size must be positive, got {size}')
        self.size = int(size)
        self.resize_image = bool(resize_image)

    def crop_for(self, h: int, w: int) -> dict:
        raise NotImplementedError

    def transform(self, results: dict) -> dict:
        crop = self.crop_for(*results['img'].shape[:2])
        if self.resize_image:
            results['img'] = apply_eval_crop(results['img'], crop)
            results['img_shape'] = crop['size']
        elif crop['resize'] is not None or crop['box'] != (0, 0, *results['img'].shape[:2]):
            raise ValueError(f'{type(self).__name__}: resize_image=False needs a crop of the whole image')
        for key in results.get('seg_fields', []):
            results[key] = apply_eval_crop(results[key], crop, nearest=True)
        results['ori_shape'] = crop['size']
        results['eval_crop'] = crop
        return results

    def __repr__(self) -> str:
        return f'{type(self).__name__}(size={self.size}, resize_image={self.resize_image})'


@TRANSFORMS.register_module()
class ResizeShortCenterCrop(_EvalCrop):
    """STEGO / PiCIE: resize the short side to ``size`` (bilinear image, nearest labels), centre-crop
    ``size`` x ``size``."""

    def __init__(self, size: int = 320):
        super().__init__(size)

    def crop_for(self, h: int, w: int) -> dict:
        scale = self.size / min(h, w)
        rh, rw = max(self.size, round(h * scale)), max(self.size, round(w * scale))
        return dict(resize=(rh, rw), box=_center_box(rh, rw, self.size, self.size), size=(self.size, self.size))


@TRANSFORMS.register_module()
class CenterSquareCropResize(_EvalCrop):
    """DiffSeg: centre-crop the largest square, resize it to ``size`` x ``size`` (bilinear image,
    nearest labels)."""

    def __init__(self, size: int = 512):
        super().__init__(size)

    def crop_for(self, h: int, w: int) -> dict:
        side = min(h, w)
        return dict(resize=None, box=_center_box(h, w, side, side), size=(self.size, self.size))


@TRANSFORMS.register_module()
class ResizeToSquare(_EvalCrop):
    """The language-based segmentation report (Le, EPFL): scored at ``size`` x ``size`` (aspect not kept, no
    crop): the labels are resized there (nearest) and so is the prediction (bilinear logits). The model gets the
    original image (``resize_image=False``, the report's protocol: SD and CLIP resize it to their own input);
    ``resize_image=True`` resizes the image to ``size`` too (bilinear)."""

    def __init__(self, size: int = 320, resize_image: bool = False):
        super().__init__(size, resize_image)

    def crop_for(self, h: int, w: int) -> dict:
        return dict(resize=None, box=(0, 0, h, w), size=(self.size, self.size))


@TRANSFORMS.register_module()
class ResizeTo(_EvalCrop):
    """Scored at a fixed (height, width), aspect not kept, no crop: the labels are resized there with PIL's nearest
    rule (pixel centres) and so is the prediction (bilinear logits). The official MaskDiffusion code scores
    Cityscapes this way at 256 x 352 (``torchvision.transforms.Resize((256, 352), Image.NEAREST)`` on the labels).
    The model gets the original image unless ``resize_image``."""

    def __init__(self, size: Sequence[int] = (256, 352), resize_image: bool = False):
        if len(size) != 2 or min(size) <= 0:
            raise ValueError(f'ResizeTo.size must be a positive (height, width), got {size!r}')
        self.size, self.resize_image = (int(size[0]), int(size[1])), bool(resize_image)

    def crop_for(self, h: int, w: int) -> dict:
        return dict(resize=None, box=(0, 0, h, w), size=self.size, nearest_exact=True)
