"""Tiny copies of the benchmarks in their real on-disk formats (release files where we ship a converter).

``write_benchmark_fixture(base, data_dir)`` writes the files that ``configs/_base_/datasets/<base>.py``
reads once its ``data/`` prefix is replaced by ``data_dir`` (running our converters where the benchmark
needs one), and returns the labels each image must load with: {image file name: (H, W) array}.
Label maps are vertical stripes of chosen raw ids, so every mapping rule is exercised.
"""
from __future__ import annotations

import os
import os.path as osp
from typing import Callable, Sequence

import cv2
import numpy as np
from PIL import Image

from ..datasets.meta.ade20k_847 import ADE847_ADE_INDEX
from ..datasets.meta.coco import RAW182_TO_COARSE27, TRAINID171_TO_COARSE27

HW = (12, 16)


def stripes(values: Sequence[int], hw: tuple[int, int] = HW, dtype=np.uint8) -> np.ndarray:
    """An (H, W) label map of vertical stripes, one per value."""
    cols = np.array_split(np.arange(hw[1]), len(values))
    out = np.zeros(hw, dtype)
    for v, c in zip(values, cols):
        out[:, c] = v
    return out


def _mkdir(path: str) -> str:
    os.makedirs(osp.dirname(path), exist_ok=True)
    return path


def _image(path: str, hw: tuple[int, int] = HW, seed: int = 0) -> None:
    img = np.random.default_rng(seed).integers(0, 256, (*hw, 3), dtype=np.uint8)
    cv2.imwrite(_mkdir(path), img)


def _label(path: str, label: np.ndarray, palette: bool = False) -> None:
    if palette:  # VOC's palette PNGs
        im = Image.fromarray(label, 'P')
        im.putpalette([(i * 37 + c * 91) % 256 for i in range(256) for c in range(3)])
        im.save(_mkdir(path))
    elif not cv2.imwrite(_mkdir(path), label):
        raise OSError(f'cannot write {path}')


def _lines(path: str, names: Sequence[str]) -> None:
    with open(_mkdir(path), 'w') as f:
        f.write('\n'.join(names) + '\n')


def _remap(raw: np.ndarray, table: dict, fill: int) -> np.ndarray:
    out = np.full(raw.shape, fill, np.int64)
    for k, v in table.items():
        out[raw == k] = v
    return out


def _reduce_zero(raw: np.ndarray) -> np.ndarray:
    return np.where((raw == 0) | (raw == 255), 255, raw.astype(np.int64) - 1)


# ---------------------------------------------------------------- PASCAL
def _voc(d: str, variant: str) -> dict:
    root, ids = osp.join(d, 'VOCdevkit/VOC2012'), ['2007_000033', '2007_000042']
    raws = [stripes([0, 1, 15, 255]), stripes([0, 20, 7, 255])]
    for i, (n, raw) in enumerate(zip(ids, raws)):
        _image(f'{root}/JPEGImages/{n}.jpg', seed=i)
        _label(f'{root}/SegmentationClass/{n}.png', raw, palette=True)
    _lines(f'{root}/ImageSets/Segmentation/val.txt', ids)
    return {f'{n}.jpg': (raw.astype(np.int64) if variant == '21' else _reduce_zero(raw)) for n, raw in zip(ids, raws)}


def _voc_train(d: str, aug: bool) -> dict:
    """VOC train (palette PNGs in SegmentationClass), and for train-aug also the SBD images of mmseg's voc_aug
    converter (grey index PNGs in SegmentationClassAug, listed in aug.txt)."""
    root, train_ids, aug_ids = osp.join(d, 'VOCdevkit/VOC2012'), ['2007_000032'], ['2008_000008', '2011_003276']
    raws = {'2007_000032': stripes([0, 1, 255]), '2008_000008': stripes([0, 13, 15]), '2011_003276': stripes([12, 255])}
    for i, n in enumerate(train_ids + aug_ids):
        _image(f'{root}/JPEGImages/{n}.jpg', seed=10 + i)
    for n in train_ids:
        _label(f'{root}/SegmentationClass/{n}.png', raws[n], palette=True)
    for n in aug_ids:
        _label(f'{root}/SegmentationClassAug/{n}.png', raws[n])
    _lines(f'{root}/ImageSets/Segmentation/train.txt', train_ids)
    _lines(f'{root}/ImageSets/Segmentation/aug.txt', aug_ids)
    return {f'{n}.jpg': raws[n].astype(np.int64) for n in (train_ids + aug_ids if aug else train_ids)}


def _context(d: str, variant: str) -> dict:
    root, ids = osp.join(d, 'VOCdevkit/VOC2010'), ['2008_000002', '2008_000080']
    _lines(f'{root}/ImageSets/SegmentationContext/val.txt', ids)
    out = {}
    for i, n in enumerate(ids):
        _image(f'{root}/JPEGImages/{n}.jpg', seed=i)
        if variant == '459':  # the release's .mat, then our converter
            from scipy.io import savemat
            label_map = stripes([0, 1, 256, 459], dtype=np.uint16) if i == 0 else stripes([459, 2], dtype=np.uint16)
            savemat(_mkdir(f'{d}/pascal_context_release/trainval/{n}.mat'), {'LabelMap': label_map})
            out[f'{n}.jpg'] = np.where(label_map == 0, 65535, label_map.astype(np.int64) - 1)
        else:
            raw = stripes([0, 1, 59]) if i == 0 else stripes([30, 0])
            _label(f'{root}/SegmentationClassContext/{n}.png', raw)
            out[f'{n}.jpg'] = raw.astype(np.int64) if variant == '60' else _reduce_zero(raw)
    if variant == '459':
        from ..datasets.converters import convert_pascal_context_459
        convert_pascal_context_459(f'{d}/pascal_context_release/trainval', f'{root}/SegmentationClassContext459',
                                   split_file=f'{root}/ImageSets/SegmentationContext/val.txt')
    return out


# ---------------------------------------------------------------- ADE20K
def _ade150(d: str) -> dict:
    root, n = osp.join(d, 'ade/ADEChallengeData2016'), 'ADE_val_00000001'
    raw = stripes([0, 1, 150])
    _image(f'{root}/images/validation/{n}.jpg')
    _label(f'{root}/annotations/validation/{n}.png', raw)
    return {f'{n}.jpg': _reduce_zero(raw)}


def unknown_ade_index() -> int:
    """An ADE20K object index that is not one of the 847 benchmark classes."""
    return min(set(range(1, max(ADE847_ADE_INDEX) + 2)) - set(ADE847_ADE_INDEX))


def _ade847(d: str) -> dict:
    """Release files (``_seg.png`` with R / 10 * 256 + G class codes), one image large enough to be resized."""
    release = osp.join(d, 'ADE20K_2021_17_01')
    codes = [ADE847_ADE_INDEX[0], ADE847_ADE_INDEX[255], ADE847_ADE_INDEX[846], unknown_ade_index(), 0]
    expected = np.array([0, 255, 846, 65535, 65535])
    out = {}
    for i, (n, hw) in enumerate([('ADE_val_00000001', HW), ('ADE_val_00000002', (520, 530))]):
        code = stripes(codes, hw, np.int64)
        seg = np.zeros((*hw, 3), np.uint8)  # BGR for OpenCV: R carries code // 256 * 10, G code % 256
        seg[..., 2], seg[..., 1], seg[..., 0] = code // 256 * 10, code % 256, 7
        folder = f'{release}/images/ADE/validation/cultural/abbey'
        _image(f'{folder}/{n}.jpg', hw, seed=i)
        cv2.imwrite(f'{folder}/{n}_seg.png', seg)
        label = expected[np.vectorize({c: k for k, c in enumerate(codes)}.get)(code)]
        if min(hw) > 512:
            size = (round(hw[1] * 512 / min(hw)), 512)
            label = cv2.resize(label.astype(np.uint16), size, interpolation=cv2.INTER_NEAREST).astype(np.int64)
        out[f'{n}.jpg'] = label
    from ..datasets.converters import convert_ade20k_847
    convert_ade20k_847(release, osp.join(d, 'ade20k_847'))
    return out


# ---------------------------------------------------------------- COCO
COCO_RAW = [0, 89, 91, 181, 255]  # person, toothbrush, banner (first stuff), wood (last stuff), unlabelled
COCO_171 = [0, 79, 80, 170, 255]  # the same pixels in mmseg's contiguous ids


def _coco_stuff(d: str, variant: str) -> dict:
    root, ids = osp.join(d, 'coco_stuff164k'), ['000000000139', '000000000285']
    raws = [stripes(COCO_RAW), stripes(COCO_RAW[::-1])]
    for i, (n, raw) in enumerate(zip(ids, raws)):
        _image(f'{root}/images/val2017/{n}.jpg', seed=i)
        _label(f'{root}/annotations/val2017/{n}.png', raw)
        _label(f'{root}/annotations/val2017/{n}_labelTrainIds.png', _remap(raw, dict(zip(COCO_RAW, COCO_171)), 255)
               .astype(np.uint8))
    _lines(f'{root}/curated/val2017/Coco164kFull_Stuff_Coarse_7.txt', ids[:1])  # PiCIE / STEGO / DiffSeg: 2,175
    _lines(f'{root}/curated/val2017/Coco164kFull_Stuff_Coarse.txt', ids[:1])  # IIC's, the report's code: 4,172
    if variant == 'object':
        from ..datasets.coco import coco_object_lut_raw
        from ..datasets.converters import convert_label_dir
        convert_label_dir(f'{root}/annotations/val2017', f'{root}/annotations/val2017', coco_object_lut_raw(),
                          '.png', '_instanceTrainIds.png')
        table = {0: 1, 89: 80, 91: 0, 181: 0, 255: 0}
    elif variant == '171':
        table = dict(zip(COCO_RAW, COCO_171))
    else:
        table = {r: RAW182_TO_COARSE27[r] for r in COCO_RAW[:-1]} | {255: 255}
        assert all(TRAINID171_TO_COARSE27[t] == table[r] for r, t in zip(COCO_RAW[:-1], COCO_171))
    keep = ids[:1] if variant == '27' else ids
    return {f'{n}.jpg': _remap(raw, table, -1) for n, raw in zip(ids, raws) if n in keep}


def _coco2014(d: str) -> dict:
    root, n = osp.join(d, 'coco2014'), 'COCO_val2014_000000000042'
    raw = stripes([0, 1, 80, 255])
    _image(f'{root}/images/val2014/{n}.jpg')
    _label(f'{root}/SegmentationClass/val2014/{n}.png', raw)
    return {f'{n}.jpg': raw.astype(np.int64)}


# ---------------------------------------------------------------- Cityscapes, Potsdam
def _cityscapes(d: str, variant: str) -> dict:
    root, stem = osp.join(d, 'cityscapes'), 'frankfurt_000000_000294'
    label_ids = stripes([0, 7, 26, 33, 34])
    _image(f'{root}/leftImg8bit/val/frankfurt/{stem}_leftImg8bit.png')
    _label(f'{root}/gtFine/val/frankfurt/{stem}_gtFine_labelIds.png', label_ids)
    train_ids = stripes([255, 0, 13, 18, 255])
    _label(f'{root}/gtFine/val/frankfurt/{stem}_gtFine_labelTrainIds.png', train_ids)
    expected = stripes([255, 0, 19, 26, 255]) if variant == '27' else train_ids
    return {f'{stem}_leftImg8bit.png': expected.astype(np.int64)}


def _potsdam(d: str, variant: str) -> dict:
    root, n = osp.join(d, 'potsdam'), '2_13_0_0_512_512'
    raw = stripes([0, 1, 2, 3, 4, 5, 6])
    _image(f'{root}/img_dir/val/{n}.png')
    _label(f'{root}/ann_dir/val/{n}.png', raw)
    expected = stripes([255, 0, 1, 2, 2, 0, 1]) if variant == '3' else _reduce_zero(raw)
    return {f'{n}.png': expected.astype(np.int64)}


BENCHMARK_FIXTURES: dict[str, Callable[[str], dict]] = {
    'pascal_voc12': lambda d: _voc(d, '21'),
    'pascal_voc12_20': lambda d: _voc(d, '20'),
    'pascal_voc12_train': lambda d: _voc_train(d, aug=False),
    'pascal_voc12_trainaug': lambda d: _voc_train(d, aug=True),
    'pascal_context_60': lambda d: _context(d, '60'),
    'pascal_context_59': lambda d: _context(d, '59'),
    'pascal_context_459': lambda d: _context(d, '459'),
    'ade20k': _ade150,
    'ade20k_847': _ade847,
    'coco_stuff164k': lambda d: _coco_stuff(d, '171'),
    'coco_object': lambda d: _coco_stuff(d, 'object'),
    'coco_stuff27': lambda d: _coco_stuff(d, '27'),
    'coco_stuff27_full': lambda d: _coco_stuff(d, '27full'),
    'coco2014': _coco2014,
    'cityscapes': lambda d: _cityscapes(d, '19'),
    'cityscapes27': lambda d: _cityscapes(d, '27'),
    'potsdam': lambda d: _potsdam(d, '6'),
    'potsdam3': lambda d: _potsdam(d, '3'),
}


def write_benchmark_fixture(base: str, data_dir: str) -> dict[str, np.ndarray]:
    """Write the tiny copy of ``configs/_base_/datasets/<base>.py``'s benchmark under ``data_dir``."""
    if base not in BENCHMARK_FIXTURES:
        raise KeyError(f'no fixture for {base!r}; known: {sorted(BENCHMARK_FIXTURES)}')
    return BENCHMARK_FIXTURES[base](data_dir)
