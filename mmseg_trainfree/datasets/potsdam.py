"""Potsdam-3: the 3-class variant of unsupervised segmentation (IIC / STEGO)."""
from __future__ import annotations

from ..registry import DATASETS
from .base import RemappedSegDataset, make_lut

POTSDAM3_CLASSES = ('road and car', 'building and clutter', 'vegetation and tree')
POTSDAM3_PALETTE = [[255, 255, 255], [0, 0, 255], [0, 255, 0]]


@DATASETS.register_module()
class Potsdam3Dataset(RemappedSegDataset):
    """Potsdam merged to 3 classes: {impervious surface, car} -> 0, {building, clutter} -> 1,
    {low vegetation, tree} -> 2; boundary pixels ignored.

    ``label_source='mmseg6'`` reads the PNGs of mmseg's Potsdam converter (0 boundary, 1..6 impervious,
    building, low vegetation, tree, car, clutter) and merges on the fly; ``'converted'`` reads files that
    already hold 0..2 (255 ignored).
    """

    METAINFO = dict(classes=POTSDAM3_CLASSES, palette=POTSDAM3_PALETTE)
    LABEL_SOURCES = {'mmseg6': ('.png', lambda: make_lut({1: 0, 5: 0, 2: 1, 6: 1, 3: 2, 4: 2})),
                     'converted': ('.png', None)}
    DEFAULT_LABEL_SOURCE = 'mmseg6'
    IMG_SUFFIX = '.png'

    def __init__(self, **kwargs):
        super().__init__(reduce_zero_label=False, **kwargs)
