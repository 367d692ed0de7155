"""A segmentation dataset whose label files come in several formats, each mapped to the benchmark's ids."""
from __future__ import annotations

from typing import Callable, Mapping, Optional, Sequence, Union

import numpy as np
from mmseg.datasets import BaseSegDataset


def make_lut(mapping: Union[Mapping[int, int], Sequence[int]], size: int = 256, fill: int = 255) -> np.ndarray:
    """A lookup table raw id -> benchmark id; ids not in ``mapping`` get ``fill`` (255: ignored)."""
    pairs = dict(mapping.items() if isinstance(mapping, Mapping) else enumerate(mapping))
    lut = np.full(size, fill, np.uint8 if max([fill, *pairs.values()]) < 256 else np.uint16)
    lut[list(pairs)] = list(pairs.values())
    return lut


class RemappedSegDataset(BaseSegDataset):
    """``BaseSegDataset`` with ``label_source``: which release format the label files are in.

    ``LABEL_SOURCES`` maps a source name to its ``seg_map_suffix`` and a builder of the lookup table
    (None: the files already hold the benchmark's ids). The table travels with each sample as
    ``label_lut`` and is applied by ``LoadSegAnnotations``, so no converted copy is needed on disk.
    ``IMG_SUFFIX`` is the images' default suffix.
    """

    LABEL_SOURCES: dict[str, tuple[str, Optional[Callable[[], np.ndarray]]]] = {}
    # label_source -> builder of a lookup table raw id -> fine id, for benchmarks scored over coarse classes
    # whose files hold fine ones (COCO-Stuff-27 from the 171 ids): ``LoadSegAnnotations`` records the image's
    # fine classes as ``fine_image_labels`` (weakly supervised methods prompt them).
    FINE_LABEL_SOURCES: dict[str, Callable[[], np.ndarray]] = {}
    DEFAULT_LABEL_SOURCE = ''
    IMG_SUFFIX = '.jpg'

    def __init__(self, label_source: Optional[str] = None, seg_map_suffix: Optional[str] = None,
                 img_suffix: Optional[str] = None, **kwargs):
        source = label_source or self.DEFAULT_LABEL_SOURCE
        if source not in self.LABEL_SOURCES:
            raise ValueError(f'{type(self).__name__}: unknown label_source {source!r}; expected one of '
                             f'{sorted(self.LABEL_SOURCES)}')
        suffix, build_lut = self.LABEL_SOURCES[source]
        self.label_source = source
        self.label_lut = None if build_lut is None else build_lut()
        build_fine = self.FINE_LABEL_SOURCES.get(source)
        self.fine_label_lut = None if build_fine is None else build_fine()
        super().__init__(img_suffix=img_suffix or self.IMG_SUFFIX, seg_map_suffix=seg_map_suffix or suffix, **kwargs)

    def load_data_list(self) -> list[dict]:
        data_list = super().load_data_list()
        for info in data_list:
            info['label_lut'] = self.label_lut
            if self.fine_label_lut is not None:
                info['fine_label_lut'] = self.fine_label_lut
        return data_list
