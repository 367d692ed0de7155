"""COCO benchmark variants: COCO-Object (80 things + background), COCO-Stuff-27 (coarse classes) and
the COCO-2014 object masks of weakly supervised segmentation."""
from __future__ import annotations

import numpy as np
from mmseg.datasets import BaseSegDataset, COCOStuffDataset

from ..registry import DATASETS
from .base import RemappedSegDataset, make_lut
from .meta.coco import (COARSE27_CLASSES, COCO_THING_CLASSES, COCO_THING_RAW_IDS, RAW182_TO_COARSE27,
                        TRAINID171_TO_COARSE27)

COCO_OBJECT_CLASSES = ('background',) + COCO_THING_CLASSES
COCO_OBJECT_PALETTE = [[0, 0, 0]] + COCOStuffDataset.METAINFO['palette'][:80]


def coco_object_lut_raw() -> np.ndarray:
    """stuffthingmaps value -> COCO-Object id: things 1..80 in COCO order, everything else (stuff and the
    unlabelled 255) background 0."""
    return make_lut({raw: i + 1 for i, raw in enumerate(COCO_THING_RAW_IDS)}, fill=0)


def coco_object_lut_171() -> np.ndarray:
    """mmseg's 171 contiguous ids (things first) -> COCO-Object id."""
    return make_lut({i: i + 1 for i in range(80)}, fill=0)


@DATASETS.register_module()
class COCOObjectDataset(RemappedSegDataset):
    """COCO-Object (val2017, 5,000 images): background + the 80 COCO things, no ignored pixels.

    ``label_source``: ``'converted'`` (``*_instanceTrainIds.png`` from
    ``tools/dataset_converters/coco_object.py``), ``'stuffthingmaps'`` (the COCO-Stuff-164k release
    PNGs, mapped on the fly) or ``'mmseg171'`` (mmseg's ``*_labelTrainIds.png``, mapped on the fly).
    """

    METAINFO = dict(classes=COCO_OBJECT_CLASSES, palette=COCO_OBJECT_PALETTE)
    LABEL_SOURCES = {'converted': ('_instanceTrainIds.png', None),
                     'stuffthingmaps': ('.png', coco_object_lut_raw),
                     'mmseg171': ('_labelTrainIds.png', coco_object_lut_171)}
    DEFAULT_LABEL_SOURCE = 'converted'


def raw182_to_trainid171() -> dict[int, int]:
    """The release's raw ids -> mmseg's 171 train ids: the 80 used thing ids (of 0..90), then stuff 91..181."""
    used = list(COCO_THING_RAW_IDS) + list(range(91, len(RAW182_TO_COARSE27)))
    return {raw: fine for fine, raw in enumerate(used)}


@DATASETS.register_module()
class COCOStuff27Dataset(RemappedSegDataset):
    """COCO-Stuff-27: the 27 coarse classes (IIC / PiCIE / STEGO hierarchy), unlabelled pixels ignored.

    Give the curated 2,175-image list ``Coco164kFull_Stuff_Coarse_7.txt`` as ``ann_file`` for the
    STEGO / DiffSeg benchmark, or no ``ann_file`` for all of val2017. ``label_source``:
    ``'mmseg171'`` (default: mmseg's ``*_labelTrainIds.png``), ``'stuffthingmaps'`` (the release's
    raw ids) or ``'converted'`` (``*_labelTrainIds27.png`` from ``tools/dataset_converters/coco_stuff27.py``).
    """

    METAINFO = dict(classes=COARSE27_CLASSES)
    LABEL_SOURCES = {'mmseg171': ('_labelTrainIds.png', lambda: make_lut(TRAINID171_TO_COARSE27)),
                     'stuffthingmaps': ('.png', lambda: make_lut(RAW182_TO_COARSE27)),
                     'converted': ('_labelTrainIds27.png', None)}
    DEFAULT_LABEL_SOURCE = 'mmseg171'
    FINE_LABEL_SOURCES = {'mmseg171': lambda: make_lut(range(len(TRAINID171_TO_COARSE27))),
                          'stuffthingmaps': lambda: make_lut(raw182_to_trainid171())}


@DATASETS.register_module()
class COCO2014ObjectDataset(BaseSegDataset):
    """COCO 2014 object masks as used in weakly supervised segmentation and by DiffSegmenter: val2014,
    ``*.png`` with 0 background, 1..80 the things in COCO order, 255 ignored."""

    METAINFO = dict(classes=COCO_OBJECT_CLASSES, palette=COCO_OBJECT_PALETTE)

    def __init__(self, img_suffix: str = '.jpg', seg_map_suffix: str = '.png', **kwargs):
        super().__init__(img_suffix=img_suffix, seg_map_suffix=seg_map_suffix, reduce_zero_label=False, **kwargs)
