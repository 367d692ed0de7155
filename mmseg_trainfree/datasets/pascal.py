"""PASCAL VOC without background (20 classes) and PASCAL-Context with its full 459-class label set."""
from __future__ import annotations

from mmseg.datasets import BaseSegDataset, PascalVOCDataset

from ..registry import DATASETS
from .meta.pascal_context_459 import PC459_CLASSES


@DATASETS.register_module()
class PascalVOC20Dataset(BaseSegDataset):
    """VOC2012 ``SegmentationClass`` with background ignored (``reduce_zero_label``): 20 object classes.

    mmseg's ``PascalVOCDataset`` is the 21-class variant (background included).
    """

    METAINFO = dict(classes=PascalVOCDataset.METAINFO['classes'][1:],
                    palette=PascalVOCDataset.METAINFO['palette'][1:])

    def __init__(self, img_suffix: str = '.jpg', seg_map_suffix: str = '.png', reduce_zero_label: bool = True,
                 **kwargs):
        super().__init__(img_suffix=img_suffix, seg_map_suffix=seg_map_suffix,
                         reduce_zero_label=reduce_zero_label, **kwargs)


@DATASETS.register_module()
class PascalContext459Dataset(BaseSegDataset):
    """PASCAL-Context, all 459 classes: 16-bit ``.tif`` labels (class k - 1 for LabelMap value k,
    unlabelled 65535) written by ``tools/dataset_converters/pascal_context_459.py``.

    Load with ``LoadSegAnnotations`` (mmseg's loader casts to uint8) and evaluate with
    ``ignore_index=65535``: 255 is a real class here.
    """

    METAINFO = dict(classes=PC459_CLASSES)

    def __init__(self, img_suffix: str = '.jpg', seg_map_suffix: str = '.tif', **kwargs):
        super().__init__(img_suffix=img_suffix, seg_map_suffix=seg_map_suffix, reduce_zero_label=False, **kwargs)
