"""ADE20K-full: the 847-class benchmark built from ``ADE20K_2021_17_01``."""
from __future__ import annotations

from mmseg.datasets import BaseSegDataset

from ..registry import DATASETS
from .meta.ade20k_847 import ADE847_CLASSES


@DATASETS.register_module()
class ADE20K847Dataset(BaseSegDataset):
    """ADE-847 validation (2,000 images): 16-bit ``.tif`` labels 0..846, unlabelled 65535, written by
    ``tools/dataset_converters/ade20k_847.py`` (short side resized to 512 when longer).

    Load with ``LoadSegAnnotations`` and evaluate with ``ignore_index=65535``.
    """

    METAINFO = dict(classes=ADE847_CLASSES)

    def __init__(self, img_suffix: str = '.jpg', seg_map_suffix: str = '.tif', **kwargs):
        super().__init__(img_suffix=img_suffix, seg_map_suffix=seg_map_suffix, reduce_zero_label=False, **kwargs)
