"""Loading transforms with errors that name the file, and a label loader that keeps 16-bit ids."""
from __future__ import annotations

import io
from typing import Optional

import numpy as np
from mmcv.transforms import BaseTransform, LoadImageFromFile
from mmengine import fileio
from PIL import Image

from ..registry import TRANSFORMS


@TRANSFORMS.register_module()
class LoadImage(LoadImageFromFile):
    """mmcv's ``LoadImageFromFile`` (grey-scale and RGBA become 3-channel, 16-bit becomes 8-bit) that
    raises a clear error for a missing or undecodable file instead of passing ``None`` on."""

    def transform(self, results: dict) -> dict:
        path = results.get('img_path')
        try:
            out = super().transform(results)
        except FileNotFoundError as e:
            raise FileNotFoundError(f'image file not found: {path}') from e
        except AssertionError:  # mmcv asserts that the decoded image is not None
            out = None
        if out is None or out.get('img') is None:
            raise ValueError(f'cannot decode image {path}: expected a readable PNG / JPEG / TIFF file')
        return out


def read_label_map(path: str, backend_args: Optional[dict] = None) -> np.ndarray:
    """A label image as stored, one channel: 8-bit (a palette PNG gives its indices, as VOC needs) or 16-bit."""
    try:
        data = fileio.get(path, backend_args=backend_args)
    except FileNotFoundError as e:
        raise FileNotFoundError(f'label map not found: {path}') from e
    try:
        with Image.open(io.BytesIO(data)) as im:
            mode = im.mode
            label = np.asarray(im)
    except (OSError, ValueError) as e:
        raise ValueError(f'cannot decode label map {path}: expected a PNG or TIFF of class ids') from e
    if mode in ('P', 'L'):
        return label.astype(np.uint8, copy=False)
    if mode.startswith('I') and label.ndim == 2 and label.size and 0 <= label.min() and label.max() <= 65535:
        return label.astype(np.uint16, copy=False)
    raise ValueError(f'label map {path} is a {mode!r} image of shape {label.shape}: expected one channel of 8- or '
                     '16-bit class ids (a colour-coded annotation needs its converter first)')


@TRANSFORMS.register_module()
class LoadSegAnnotations(BaseTransform):
    """mmseg's ``LoadAnnotations`` for every benchmark: keeps 16-bit ids (PASCAL-Context-459, ADE-847, where
    mmseg's loader casts to uint8 and 846 becomes 78) and first applies the dataset's ``label_lut``
    (raw id -> benchmark id, e.g. Cityscapes label ids 7..33 -> 0..26), then mmseg's ``reduce_zero_label``
    and ``label_map`` exactly as mmseg does. With a ``fine_label_lut`` (COCO-Stuff-27 read from its 171 ids)
    it also records ``fine_image_labels``, the fine classes present, before they are mapped to coarse ones.
    """

    def __init__(self, backend_args: Optional[dict] = None):
        self.backend_args = backend_args

    def transform(self, results: dict) -> dict:
        if 'seg_map_path' not in results:  # inference on an image without labels (mmseg's inference_model)
            return results
        path = results['seg_map_path']
        label = read_label_map(path, self.backend_args)
        lut = results.get('label_lut')
        if lut is not None:
            if int(label.max()) >= len(lut):
                raise ValueError(f'label map {path} holds id {int(label.max())} but the dataset maps only ids '
                                 f'0..{len(lut) - 1}: is label_source right for these files?')
            fine = results.get('fine_label_lut')
            if fine is not None:
                results['fine_image_labels'] = [int(v) for v in np.unique(np.asarray(fine)[label]) if v != 255]
            label = np.asarray(lut)[label]
        if results.get('reduce_zero_label'):
            if label.dtype != np.uint8:
                raise ValueError('reduce_zero_label is defined for 8-bit labels only')
            label = label.copy()
            label[label == 0] = 255
            label = label - 1
            label[label == 254] = 255
        if results.get('label_map'):
            ignore = np.iinfo(label.dtype).max
            mapped = label.copy()
            for old, new in results['label_map'].items():
                mapped[label == old] = ignore if new == 255 and ignore != 255 else new
            label = mapped
        # the image as loaded (mmseg's pipelines may resize it before the labels load: ori_shape keeps its size)
        size = results.get('ori_shape') or (results['img'].shape[:2] if results.get('img') is not None else None)
        if size is not None and tuple(size[:2]) != tuple(label.shape[:2]):
            raise ValueError(f"image {results.get('img_path')} is {size[1]}x{size[0]} but its label map {path} is "
                             f'{label.shape[1]}x{label.shape[0]} (width x height): they must match pixel for pixel')
        results['gt_seg_map'] = label
        results.setdefault('seg_fields', []).append('gt_seg_map')
        return results

    def __repr__(self) -> str:
        return f'{type(self).__name__}(backend_args={self.backend_args})'
