"""Every dataset config base loads a tiny copy of its benchmark in the real on-disk format (through our
converters where the benchmark needs one) with the right classes, palette, ids and ignore value."""
import os.path as osp

import numpy as np
import pytest
from mmengine.config import Config

from mmseg_trainfree.compat import resolve_config
from mmseg_trainfree.datasets import (CenterSquareCropResize, LoadSegAnnotations, ResizeShortCenterCrop,
                                      check_dataset_paths, make_lut)
from mmseg_trainfree.registry import DATASETS
from mmseg_trainfree.testing import BENCHMARK_FIXTURES, write_benchmark_fixture

NUM_CLASSES = {'pascal_voc12': 21, 'pascal_voc12_20': 20, 'pascal_voc12_train': 21, 'pascal_voc12_trainaug': 21, 'pascal_context_60': 60, 'pascal_context_59': 59,
               'pascal_context_459': 459, 'ade20k': 150, 'ade20k_847': 847, 'coco_stuff164k': 171,
               'coco_object': 81, 'coco_stuff27': 27, 'coco_stuff27_full': 27, 'coco2014': 81, 'cityscapes': 19,
               'cityscapes27': 27, 'potsdam': 6, 'potsdam3': 3}


def build_base(base: str, data_dir: str):
    cfg = Config.fromfile(resolve_config(f'_base_/datasets/{base}.py'))
    ds_cfg = cfg.test_dataloader.dataset
    for sub in ds_cfg.datasets if ds_cfg.type == 'ConcatDataset' else [ds_cfg]:
        assert sub.data_root.startswith('data/')
        sub.data_root = osp.join(data_dir, sub.data_root[len('data/'):])
    check_dataset_paths(ds_cfg)
    return cfg, DATASETS.build(ds_cfg)


def test_every_base_has_a_fixture():
    import glob
    folder = osp.dirname(resolve_config('_base_/datasets/shapes.py'))
    bases = {osp.basename(p)[:-3] for p in glob.glob(osp.join(folder, '*.py'))} - {'shapes'}
    assert bases == set(BENCHMARK_FIXTURES) == set(NUM_CLASSES)


@pytest.mark.parametrize('base', sorted(BENCHMARK_FIXTURES))
def test_dataset_base_loads_its_fixture(base, tmp_path):
    expected = write_benchmark_fixture(base, str(tmp_path / 'data'))
    cfg, ds = build_base(base, str(tmp_path / 'data'))
    classes, palette = ds.metainfo['classes'], ds.metainfo['palette']
    assert len(classes) == len(palette) == NUM_CLASSES[base] and len(set(classes)) == len(classes)
    ignore = cfg.test_evaluator.get('ignore_index', 255)
    assert len(ds) == len(expected)
    for i in range(len(ds)):
        sample = ds[i]['data_samples']
        want = expected[osp.basename(sample.img_path)]
        assert set(np.unique(want).tolist()) <= set(range(len(classes))) | {ignore}
        gt = sample.gt_sem_seg.data[0].numpy()
        assert gt.shape == want.shape == tuple(sample.ori_shape)
        np.testing.assert_array_equal(gt, want)


def test_16bit_labels_keep_values_above_255(tmp_path):
    write_benchmark_fixture('ade20k_847', str(tmp_path / 'data'))
    _, ds = build_base('ade20k_847', str(tmp_path / 'data'))
    values = set(np.unique(ds[0]['data_samples'].gt_sem_seg.data).tolist())
    assert {846, 65535, 255} <= values  # 846 stays 846 (mmseg's uint8 cast would make it 78); 255 is a class


def test_coco_sources_agree(tmp_path):
    """COCO-Object and COCO-Stuff-27 read from the release PNGs, mmseg's 171 ids or converted files alike."""
    write_benchmark_fixture('coco_object', str(tmp_path / 'data'))
    root = str(tmp_path / 'data/coco_stuff164k')
    loaded = {}
    for dtype, sources in (('COCOObjectDataset', ['converted', 'stuffthingmaps', 'mmseg171']),
                           ('COCOStuff27Dataset', ['mmseg171', 'stuffthingmaps'])):
        for source in sources:
            ds = DATASETS.build(dict(type=dtype, data_root=root, label_source=source,
                                     data_prefix=dict(img_path='images/val2017', seg_map_path='annotations/val2017'),
                                     pipeline=[dict(type='LoadSegAnnotations')]))
            loaded[dtype, source] = [ds[i]['gt_seg_map'] for i in range(len(ds))]
        first = loaded[dtype, sources[0]]
        for source in sources[1:]:
            for a, b in zip(first, loaded[dtype, source]):
                np.testing.assert_array_equal(a, b)
    with pytest.raises(ValueError, match="label_source 'png'"):
        DATASETS.build(dict(type='COCOStuff27Dataset', data_root=root, label_source='png',
                            data_prefix=dict(img_path='images/val2017', seg_map_path='annotations/val2017')))


def test_label_loader_errors_name_the_file(tmp_path):
    import cv2
    colour = str(tmp_path / 'colour.png')
    cv2.imwrite(colour, np.zeros((4, 4, 3), np.uint8))
    with pytest.raises(ValueError, match='colour.png.*one channel'):
        LoadSegAnnotations().transform(dict(seg_map_path=colour))
    with pytest.raises(FileNotFoundError, match='nothere.png'):
        LoadSegAnnotations().transform(dict(seg_map_path=str(tmp_path / 'nothere.png')))
    broken = tmp_path / 'broken.tif'
    broken.write_bytes(b'nope')
    with pytest.raises(ValueError, match='broken.tif'):
        LoadSegAnnotations().transform(dict(seg_map_path=str(broken)))
    big = str(tmp_path / 'big.png')
    cv2.imwrite(big, np.full((4, 4), 900, np.uint16))
    with pytest.raises(ValueError, match='id 900.*label_source'):
        LoadSegAnnotations().transform(dict(seg_map_path=big, label_lut=make_lut({1: 0})))


@pytest.mark.parametrize('transform,hw,out', [(ResizeShortCenterCrop(320), (400, 640), (320, 320)),
                                              (CenterSquareCropResize(512), (1024, 2048), (512, 512)),
                                              (CenterSquareCropResize(8), (6, 10), (8, 8))])
def test_unsupervised_crops_apply_to_image_and_labels(transform, hw, out):
    h, w = hw
    img = np.zeros((h, w, 3), np.uint8)
    label = np.zeros((h, w), np.uint16)
    y, x = np.mgrid[0:h, 0:w]
    centre = (abs(y - h / 2) < h / 4) & (abs(x - w / 2) < min(h, w) / 4)
    img[centre], label[centre] = 200, 300
    label[:, :(w - min(h, w)) // 2] = 7  # outside the centred square: cropped away
    res = transform.transform(dict(img=img, gt_seg_map=label, seg_fields=['gt_seg_map'], ori_shape=hw, img_shape=hw))
    assert res['img'].shape[:2] == res['gt_seg_map'].shape == res['ori_shape'] == res['img_shape'] == out
    assert res['gt_seg_map'].dtype == np.uint16 and set(np.unique(res['gt_seg_map'])) <= {0, 300}
    assert ((res['img'][..., 0] > 100) == (res['gt_seg_map'] == 300)).mean() > 0.95


def test_report_protocol_resizes_labels_and_logits_but_not_the_input(tmp_path):
    """Le's report: the model gets the original image; labels are resized to 320 x 320 (nearest) and mmseg's
    post-processing resizes the logits to that ori_shape; resize_image=True is the old, downsampling variant."""
    from mmseg_trainfree.datasets import ResizeToSquare
    img = np.zeros((240, 400, 3), np.uint8)
    label = np.zeros((240, 400), np.uint8)
    label[:, 200:] = 5
    res = ResizeToSquare(320).transform(dict(img=img.copy(), gt_seg_map=label, seg_fields=['gt_seg_map'],
                                             ori_shape=(240, 400), img_shape=(240, 400)))
    assert res['img'].shape == (240, 400, 3) and res['img_shape'] == (240, 400)
    assert res['gt_seg_map'].shape == res['ori_shape'] == (320, 320)
    assert (res['gt_seg_map'][:, :160] == 0).all() and (res['gt_seg_map'][:, 160:] == 5).all()
    old = ResizeToSquare(320, resize_image=True).transform(dict(img=img.copy(), gt_seg_map=label,
                                                                seg_fields=['gt_seg_map'], ori_shape=(240, 400)))
    assert old['img'].shape == (320, 320, 3) and old['img_shape'] == (320, 320)


CLASS_NAME_FILES = {'voc21': 21, 'voc21_official': 21, 'voc20': 20, 'pascal_context60': 60, 'pascal_context59': 59,
                    'pascal_context459': 459, 'ade847': 847, 'coco_object': 81, 'cocostuff171': 171,
                    'cocostuff27': 27, 'cityscapes': 19, 'cityscapes_maskdiffusion_official': 19, 'cityscapes27': 27,
                    'potsdam': 6, 'potsdam3': 3}


def test_class_name_files_match_their_datasets():
    import glob
    from mmseg_trainfree.models.utils import read_class_name_file
    folder = osp.dirname(resolve_config('_base_/classnames/voc20.txt'))
    assert {osp.basename(p)[:-4] for p in glob.glob(osp.join(folder, '*.txt'))} == set(CLASS_NAME_FILES)
    for name, n in CLASS_NAME_FILES.items():
        assert len(read_class_name_file(f'mmseg_trainfree::_base_/classnames/{name}.txt')) == n, name


@pytest.mark.parametrize('protocol,size', [('diffseg', 512), ('stego', 320)])
def test_unsupervised_protocol_pipelines(protocol, size, tmp_path):
    """The protocol base's pipelines crop image and labels alike and pack the crop for visualisation."""
    expected = write_benchmark_fixture('cityscapes27', str(tmp_path / 'data'))
    protocols = Config.fromfile(resolve_config('_base_/protocols/eval_crops.py'))
    _, ds = build_base('cityscapes27', str(tmp_path / 'data'))
    ds.pipeline = type(ds.pipeline)(protocols[f'{protocol}_test_pipeline'])
    sample = ds[0]['data_samples']
    gt = sample.gt_sem_seg.data[0].numpy()
    assert gt.shape == tuple(sample.ori_shape) == (size, size) and 'eval_crop' in sample.metainfo
    from mmseg_trainfree.datasets.crops import apply_eval_crop
    want = apply_eval_crop(next(iter(expected.values())).astype(np.uint8), sample.eval_crop, nearest=True)
    np.testing.assert_array_equal(gt, want)
    assert protocols[f'{protocol}_evaluator']['mode'] == {'diffseg': 'per_image', 'stego': 'dataset'}[protocol]


def test_converter_command_line_and_errors(tmp_path):
    import subprocess
    import sys
    from conftest import REPO
    from mmseg_trainfree.datasets.converters import (convert_ade20k_847, convert_label_dir,
                                                     convert_pascal_context_459)
    write_benchmark_fixture('coco_stuff27_full', str(tmp_path / 'data'))
    labels = tmp_path / 'data/coco_stuff164k/annotations/val2017'
    proc = subprocess.run([sys.executable, osp.join(REPO, 'tools/dataset_converters/coco_stuff27.py'), str(labels)],
                          capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert 'wrote 2 COCO-Stuff-27 label maps' in proc.stdout
    root = str(tmp_path / 'data/coco_stuff164k')
    converted, onthefly = (DATASETS.build(dict(type='COCOStuff27Dataset', data_root=root, label_source=source,
                                               data_prefix=dict(img_path='images/val2017',
                                                                seg_map_path='annotations/val2017'),
                                               pipeline=[dict(type='LoadSegAnnotations')]))
                           for source in ('converted', 'mmseg171'))
    for i in range(2):
        np.testing.assert_array_equal(converted[i]['gt_seg_map'], onthefly[i]['gt_seg_map'])
    with pytest.raises(FileNotFoundError, match='ADE_\\*.jpg'):
        convert_ade20k_847(str(tmp_path), str(tmp_path / 'out'))
    (tmp_path / 'ids.txt').write_text('2008_000002\n')
    with pytest.raises(FileNotFoundError, match='ids.txt'):
        convert_pascal_context_459(str(tmp_path), str(tmp_path / 'out'), str(tmp_path / 'ids.txt'))
    with pytest.raises(ValueError, match='holds id 255'):
        convert_label_dir(str(labels), str(tmp_path / 'out'), make_lut({0: 1}, size=200))


def test_coco2014_val5k_list_from_the_official_filter_output(tmp_path):
    """tools/dataset_converters/coco2014_val5k.py writes the image names of the official JSON as an ann_file
    that the COCO 2014 dataset reads; --data-root names a missing image; a wrong JSON is refused."""
    import json
    from conftest import load_tool
    tool = load_tool('dataset_converters/coco2014_val5k')
    write_benchmark_fixture('coco2014', str(tmp_path / 'data'))
    root = tmp_path / 'data/coco2014'
    present, absent = 'COCO_val2014_000000000042', 'COCO_val2014_000000000073'
    official = {s: {f'{present}.jpg': ['person'], f'{absent}.jpg': []}
                for s in ('synonym_matching', 'image_similarity', 'text_similarity')}
    (tmp_path / 'f.json').write_text(json.dumps(official))
    assert tool.main([str(tmp_path / 'f.json'), '-o', str(root / 'val_5k.txt'), '--data-root', str(root)]) == 1
    assert tool.main([str(tmp_path / 'f.json'), '-o', str(root / 'val_5k.txt')]) == 0
    assert (root / 'val_5k.txt').read_text().split() == [present, absent]
    (root / 'val_5k.txt').write_text(present + '\n')
    cfg = Config.fromfile(resolve_config('diffsegmenter_coco_object.py'))
    ds_cfg = cfg.test_dataloader.dataset
    ds_cfg.data_root = str(root)
    ds = DATASETS.build(ds_cfg)
    assert len(ds) == 1 and osp.basename(ds[0]['data_samples'].img_path) == present + '.jpg'
    (tmp_path / 'bad.json').write_text(json.dumps([present]))
    with pytest.raises(ValueError, match='expected the official filter output'):
        tool.image_names(str(tmp_path / 'bad.json'))
