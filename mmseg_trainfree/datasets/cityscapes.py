"""Cityscapes-27: all 27 evaluated label ids (7..33) of ``*_gtFine_labelIds.png``, as in unsupervised
segmentation (mmseg's ``CityscapesDataset`` is the 19-class train-id variant)."""
from __future__ import annotations

from ..registry import DATASETS
from .base import RemappedSegDataset, make_lut

CITYSCAPES27_CLASSES = (
    'road', 'sidewalk', 'parking', 'rail track', 'building', 'wall', 'fence', 'guard rail', 'bridge', 'tunnel',
    'pole', 'polegroup', 'traffic light', 'traffic sign', 'vegetation', 'terrain', 'sky', 'person', 'rider', 'car',
    'truck', 'bus', 'caravan', 'trailer', 'train', 'motorcycle', 'bicycle')
CITYSCAPES27_PALETTE = [
    [128, 64, 128], [244, 35, 232], [250, 170, 160], [230, 150, 140], [70, 70, 70], [102, 102, 156],
    [190, 153, 153], [180, 165, 180], [150, 100, 100], [150, 120, 90], [153, 153, 153], [153, 153, 153],
    [250, 170, 30], [220, 220, 0], [107, 142, 35], [152, 251, 152], [70, 130, 180], [220, 20, 60], [255, 0, 0],
    [0, 0, 142], [0, 0, 70], [0, 60, 100], [0, 0, 90], [0, 0, 110], [0, 80, 100], [0, 0, 230], [119, 11, 32]]


@DATASETS.register_module()
class Cityscapes27Dataset(RemappedSegDataset):
    """Cityscapes val (500 images) with label ids 7..33 -> 0..26 on the fly; every other id is ignored."""

    METAINFO = dict(classes=CITYSCAPES27_CLASSES, palette=CITYSCAPES27_PALETTE)
    LABEL_SOURCES = {'label_ids': ('_gtFine_labelIds.png', lambda: make_lut({7 + i: i for i in range(27)}))}
    DEFAULT_LABEL_SOURCE = 'label_ids'
    IMG_SUFFIX = '_leftImg8bit.png'
