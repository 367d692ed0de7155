"""The built-in dataset, image loading edge cases and dataset path checks."""
import cv2
import numpy as np
import pytest
import torch

from mmseg_trainfree.datasets import LoadImage, ShapesDataset, check_dataset_paths, generate_shapes_dataset
from mmseg_trainfree.registry import DATASETS, MODELS


def test_shapes_dataset_is_deterministic_and_loads(shapes_root, tmp_path):
    again = generate_shapes_dataset(str(tmp_path), num_images=4, size=(96, 128))
    for name in ('img_dir/val/shapes_0002.png', 'ann_dir/val/shapes_0002.png'):
        assert np.array_equal(cv2.imread(f'{shapes_root}/{name}'), cv2.imread(f'{again}/{name}'))
    ds = DATASETS.build(dict(type='ShapesDataset', data_root=shapes_root,
                             data_prefix=dict(img_path='img_dir/val', seg_map_path='ann_dir/val'),
                             pipeline=[dict(type='LoadImage'), dict(type='LoadAnnotations'),
                                       dict(type='PackSegInputs')]))
    assert len(ds) == 4 and ds.metainfo['classes'] == ShapesDataset.METAINFO['classes']
    sample = ds[0]
    assert sample['inputs'].shape == (3, 96, 128)
    labels = sample['data_samples'].gt_sem_seg.data.unique().tolist()
    assert labels[0] == 0 and len(labels) >= 2 and max(labels) <= 3
    # the label map matches the drawing: shape pixels differ in colour from the background
    img = cv2.imread(f'{shapes_root}/img_dir/val/shapes_0000.png').astype(float)
    ann = cv2.imread(f'{shapes_root}/ann_dir/val/shapes_0000.png', cv2.IMREAD_UNCHANGED)
    assert np.abs(img[ann > 0].mean(0) - img[ann == 0].mean(0)).max() > 20


@pytest.mark.parametrize('kind', ['grey', 'rgba', 'uint16', 'tiny'])
def test_unusual_images_are_handled(tmp_path, tiny_sd, kind):
    path = str(tmp_path / f'{kind}.png')
    image = {'grey': np.full((40, 50), 120, np.uint8), 'rgba': np.full((40, 50, 4), 200, np.uint8),
             'uint16': (np.arange(40 * 50).reshape(40, 50) * 30).astype(np.uint16),
             'tiny': np.full((3, 5, 3), 90, np.uint8)}[kind]
    cv2.imwrite(path, image)
    out = LoadImage().transform(dict(img_path=path))
    assert out['img'].ndim == 3 and out['img'].shape[2] == 3 and out['img'].dtype == np.uint8
    from conftest import maskdiffusion_cfg
    model = MODELS.build(maskdiffusion_cfg(tiny_sd))
    x = torch.from_numpy(out['img']).permute(2, 0, 1)[None].float() / 127.5 - 1
    [pred] = model.predict(x)
    assert pred.pred_sem_seg.data.shape[1:] == out['img'].shape[:2]


def test_unreadable_or_missing_image_names_the_file(tmp_path):
    bad = tmp_path / 'broken.png'
    bad.write_bytes(b'not an image')
    with pytest.raises(ValueError, match='broken.png'):
        LoadImage().transform(dict(img_path=str(bad)))
    with pytest.raises(FileNotFoundError, match='nothere.png'):
        LoadImage().transform(dict(img_path=str(tmp_path / 'nothere.png')))


def test_missing_dataset_root_names_path_and_layout(tmp_path, shapes_root):
    cfg = dict(type='PascalVOCDataset', data_root=str(tmp_path / 'VOC2012'),
               data_prefix=dict(img_path='JPEGImages', seg_map_path='SegmentationClass'))
    with pytest.raises(FileNotFoundError) as e:
        check_dataset_paths(cfg)
    msg = str(e.value)
    assert 'VOC2012' in msg and 'JPEGImages' in msg and 'SegmentationClass' in msg and 'data_root' in msg
    cfg = dict(type='ShapesDataset', data_root=shapes_root,
               data_prefix=dict(img_path='img_dir/val', seg_map_path='ann_dir/test'))
    with pytest.raises(FileNotFoundError, match='ann_dir/test'):
        check_dataset_paths(cfg)
    check_dataset_paths(dict(cfg, data_prefix=dict(img_path='img_dir/val', seg_map_path='ann_dir/val')))


def protocol_pipelines():
    """The test pipeline of every protocol family: open vocabulary (the dataset base's), the unsupervised crops
    (DiffSeg, STEGO), EmerDiff's, and the report's 320 x 320."""
    from mmengine.config import Config
    from mmseg_trainfree.compat import resolve_config
    crops = Config.fromfile(resolve_config('_base_/protocols/eval_crops.py'))
    emerdiff = Config.fromfile(resolve_config('_base_/protocols/emerdiff.py'))
    shapes = Config.fromfile(resolve_config('_base_/datasets/shapes.py'))
    return {'open_vocabulary': shapes.test_pipeline, 'diffseg_crop': crops.diffseg_test_pipeline,
            'stego_crop': crops.stego_test_pipeline, 'emerdiff': emerdiff.emerdiff_test_pipeline,
            'report_320': crops.langseg_test_pipeline}


@pytest.mark.parametrize('protocol', sorted(protocol_pipelines()))
@pytest.mark.parametrize('case', ['label_size', 'grey', 'uint16', 'tiny', 'unreadable', 'empty_split'])
def test_bad_inputs_through_every_protocol(tmp_path, protocol, case):
    """Each bad input, through each protocol family's pipeline: handled (grey, 16-bit, tiny images load as 3-channel
    uint8 and score at the protocol's size) or stopped with an error naming the file(s) or folder."""
    root = generate_shapes_dataset(str(tmp_path / 'd'), num_images=1, size=(64, 80), seed=3)
    image, label = f'{root}/img_dir/val/shapes_0000.png', f'{root}/ann_dir/val/shapes_0000.png'
    gt = cv2.imread(label, cv2.IMREAD_UNCHANGED)
    if case == 'label_size':
        cv2.imwrite(label, cv2.resize(gt, (40, 32), interpolation=cv2.INTER_NEAREST))
    elif case == 'grey':
        cv2.imwrite(image, np.full((64, 80), 120, np.uint8))
    elif case == 'uint16':
        cv2.imwrite(image, (np.arange(64 * 80).reshape(64, 80) * 13).astype(np.uint16))
    elif case == 'tiny':
        cv2.imwrite(image, np.full((3, 5, 3), 90, np.uint8))
        cv2.imwrite(label, np.zeros((3, 5), np.uint8))
    elif case == 'unreadable':
        open(image, 'wb').write(b'not a png')
    elif case == 'empty_split':
        import os
        os.remove(image)
    cfg = dict(type='ShapesDataset', data_root=root,
               data_prefix=dict(img_path='img_dir/val', seg_map_path='ann_dir/val'),
               pipeline=protocol_pipelines()[protocol])
    if case == 'empty_split':
        with pytest.raises(ValueError, match=r"img_dir/val' holds no .png file: the split is empty"):
            check_dataset_paths(cfg)
        return
    dataset = DATASETS.build(cfg)
    if case == 'label_size':
        with pytest.raises(ValueError, match=r'shapes_0000.png is 80x64 but its label map .*shapes_0000.png is 40x32'):
            dataset[0]
    elif case == 'unreadable':
        with pytest.raises(ValueError, match='cannot decode image .*shapes_0000.png'):
            dataset[0]
    else:
        sample = dataset[0]
        assert sample['inputs'].shape[0] == 3 and sample['inputs'].dtype == torch.uint8
        gt_shape = tuple(sample['data_samples'].gt_sem_seg.data.shape[1:])
        assert gt_shape == tuple(sample['data_samples'].ori_shape)  # scored where the labels are
