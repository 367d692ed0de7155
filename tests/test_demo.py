"""Segment your own image: mmseg's init_model / inference_model on our configs, TrainingFreeInferencer and
demo/image_demo.py (files and folders, open-vocabulary and unsupervised), on the trained tiny model."""
import glob
import os.path as osp

import numpy as np
import pytest
from conftest import REPO
from PIL import Image

from mmseg_trainfree.datasets import generate_shapes_dataset
from mmseg_trainfree.testing import trained_stable_diffusion

SHAPES = 'background, disc, square, triangle'


@pytest.fixture(scope='module')
def images(tmp_path_factory):
    root = generate_shapes_dataset(str(tmp_path_factory.mktemp('own')), num_images=2, size=(128, 128), seed=1000,
                                   split='val')
    return sorted(glob.glob(osp.join(root, 'img_dir/val/*.png'))), osp.join(root, 'ann_dir/val')


def miou(pred: np.ndarray, gt: np.ndarray) -> float:
    ious = [((pred == c) & (gt == c)).sum() / ((pred == c) | (gt == c)).sum() for c in np.unique(gt)]
    return float(np.mean(ious)) * 100


def test_mmseg_init_model_and_inference_model_run_our_configs(images):
    from mmseg.apis import inference_model, init_model
    import mmcv
    # no class_names: the vocabulary is the config's test dataset's classes (ShapesDataset), as VocabularyHook does
    model = init_model(osp.join(REPO, 'configs/maskdiffusion_shapes.py'), None, device='cpu',
                       cfg_options={'model.backbone.model_id': trained_stable_diffusion()})
    assert model.dataset_meta['classes'] == tuple(SHAPES.split(', ')) and len(model.dataset_meta['palette']) == 4
    [path, _], ann_dir = images
    from_path = inference_model(model, path).pred_sem_seg.data[0].numpy()
    from_array = inference_model(model, mmcv.imread(path)).pred_sem_seg.data[0].numpy()
    assert np.array_equal(from_path, from_array)
    assert miou(from_path, np.array(Image.open(osp.join(ann_dir, osp.basename(path))))) > 40  # it segments
    from mmseg_trainfree.registry import MODELS  # None is accepted (init_model sets it); a value is refused
    with pytest.raises(ValueError, match='MaskDiffusion is training-free: it takes no `pretrained`'):
        MODELS.build(dict(model.cfg.model, pretrained='ckpt.pth'))
    # neither class_names nor a dataset with classes: the clear error, at the first use
    from mmengine.config import Config
    bare = Config.fromfile(osp.join(REPO, 'configs/maskdiffusion_shapes.py'))
    bare.model.backbone.model_id = trained_stable_diffusion()
    bare.pop('test_dataloader')
    unnamed = init_model(bare, None, device='cpu')
    with pytest.raises(RuntimeError, match='MaskDiffusion has no vocabulary'):
        inference_model(unnamed, path)
    # a segmentor without a vocabulary (DiffSeg) is left without one
    diffseg = init_model(osp.join(REPO, 'configs/diffseg_shapes.py'), None, device='cpu',
                         cfg_options={'model.backbone.model_id': trained_stable_diffusion()})
    assert getattr(diffseg, 'class_names', None) is None


def test_mmseg_inferencer_names_ours(tmp_path):
    """mmseg's MMSegInferencer builds under mmseg's scope, where our segmentors are not: it fails with a message that
    names TrainingFreeInferencer, not a bare registry KeyError."""
    from mmseg.apis import MMSegInferencer
    with pytest.raises(TypeError, match='TrainingFreeInferencer'):
        MMSegInferencer(osp.join(REPO, 'configs/maskdiffusion_shapes.py'), device='cpu')


def test_image_demo_on_a_folder_and_a_file(images, tmp_path, capsys):
    paths, ann_dir = images
    import importlib.util
    spec = importlib.util.spec_from_file_location('image_demo', osp.join(REPO, 'demo/image_demo.py'))
    demo = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(demo)
    options = ['--cfg-options', f'model.backbone.model_id={trained_stable_diffusion()}']
    results = demo.main([osp.dirname(paths[0]), osp.join(REPO, 'configs/maskdiffusion_shapes.py'), '--classes', SHAPES,
                         '--out-dir', str(tmp_path / 'out'), '--device', 'cpu', *options])
    assert [osp.basename(t) for _, _, t in results] == [osp.basename(p) for p in paths]
    for path, pred, target in results:
        gt = np.array(Image.open(osp.join(ann_dir, osp.basename(path))))
        assert pred.shape == gt.shape and miou(pred, gt) > 40
        overlay = np.array(Image.open(target))
        assert overlay.shape[1] == 128 and overlay.shape[0] > 128  # the image, then the legend under it
    assert 'disc' in capsys.readouterr().out
    [(_, segments, target)] = demo.main([paths[0], osp.join(REPO, 'configs/diffseg_shapes.py'), '--out-file',
                                         str(tmp_path / 'one.png'), '--device', 'cpu', *options])
    assert target == str(tmp_path / 'one.png') and osp.isfile(target)
    assert 'segment 0' in capsys.readouterr().out and segments.max() >= 1
    (tmp_path / 'empty').mkdir()
    with pytest.raises(FileNotFoundError, match='no images'):
        demo.main([str(tmp_path / 'empty'), 'x.py'])
    with pytest.raises(FileNotFoundError, match='image not found'):
        demo.main([str(tmp_path / 'missing.png'), 'x.py'])
