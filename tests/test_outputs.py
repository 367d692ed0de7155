"""tools/test.py --out for every config: the matched-prediction metrics (Hungarian per image and over the
dataset, EmerDiff's mask embeddings) write one PNG of class ids per image, and plain IoU over those PNGs
reproduces the metric they report."""
import glob
import json
import os.path as osp

import numpy as np
import pytest
from conftest import REPO, load_test_tool
from mmengine.config import Config
from PIL import Image

from mmseg_trainfree.datasets import generate_shapes_dataset
from mmseg_trainfree.registry import METRICS
from mmseg_trainfree.testing import trained_stable_diffusion

CONFIGS = sorted(glob.glob(osp.join(REPO, 'configs', '*.py')))


@pytest.mark.parametrize('path', CONFIGS, ids=osp.basename)
def test_every_evaluator_takes_output_dir(path, tmp_path):
    """No config lacks --out: its evaluator builds with output_dir, as tools/test.py --out sets it."""
    cfg = Config.fromfile(path)
    evaluators = cfg.test_evaluator if isinstance(cfg.test_evaluator, list) else [cfg.test_evaluator]
    for evaluator in evaluators:
        METRICS.build(dict(evaluator, output_dir=str(tmp_path / 'out')))


def plain_miou(out_dir: str, ann_dir: str, names: list[str], num_classes: int) -> float:
    """mmseg's mIoU over the written class-id PNGs (255 = no class: a miss of the true class)."""
    inter, union = np.zeros(num_classes), np.zeros(num_classes)
    for name in names:
        pred = np.array(Image.open(osp.join(out_dir, name))).astype(np.int64)
        gt = np.array(Image.open(osp.join(ann_dir, name))).astype(np.int64)
        keep = gt != 255
        pred, gt = pred[keep], gt[keep]
        for c in range(num_classes):
            p, g = pred == c, gt == c
            inter[c] += (p & g).sum()
            union[c] += (p | g).sum()
    present = union > 0
    return float((inter[present] / union[present]).mean() * 100)


@pytest.mark.parametrize('config,extra', [
    ('diffseg_shapes.py', []),                                  # Hungarian, per image (DiffSeg's protocol)
    ('diffseg_shapes.py', ['test_evaluator.mode=dataset']),      # Hungarian over the dataset
    ('emerdiff_shapes.py', []),                                 # EmerDiff's modified protocol (mask embeddings)
])
def test_out_writes_matched_class_ids_that_reproduce_the_metric(config, extra, tmp_path):
    root = generate_shapes_dataset(str(tmp_path / 'data'), num_images=3, size=(128, 128), seed=1000, split='val')
    options = [f'model.backbone.model_id={trained_stable_diffusion()}', f'test_dataloader.dataset.data_root={root}',
               *extra]
    out = tmp_path / 'out'
    metrics = load_test_tool().main([osp.join(REPO, 'configs', config), '--work-dir', str(tmp_path / 'wd'),
                                     '--out', str(out), '--cfg-options', *options])
    ann_dir = osp.join(root, 'ann_dir/val')
    names = sorted(osp.basename(p) for p in glob.glob(osp.join(ann_dir, '*.png')))
    assert sorted(osp.basename(p) for p in glob.glob(str(out / '*.png'))) == names
    assert not (out / '.pending').exists()
    for name in names:
        pred = np.array(Image.open(out / name))
        assert pred.shape == np.array(Image.open(osp.join(ann_dir, name))).shape
        assert set(np.unique(pred).tolist()) <= {0, 1, 2, 3, 255}
    assert plain_miou(str(out), ann_dir, names, 4) == pytest.approx(metrics['mIoU'], abs=0.01)


def test_out_records_the_evaluation_crop(tmp_path):
    """Under a crop protocol the PNG is at the scored crop, and <image>.crop.json says which crop."""
    root = generate_shapes_dataset(str(tmp_path / 'data'), num_images=1, size=(128, 160), seed=1000, split='val')
    config = tmp_path / 'diffseg_shapes_crop.py'
    config.write_text("_base_ = ['mmseg_trainfree::diffseg_shapes.py',\n"
                      "          'mmseg_trainfree::_base_/protocols/eval_crops.py']\n"
                      "test_dataloader = dict(dataset=dict(pipeline={{_base_.diffseg_test_pipeline}}))\n")
    out = tmp_path / 'out'
    load_test_tool().main([str(config), '--work-dir', str(tmp_path / 'wd'), '--out', str(out), '--cfg-options',
                           f'model.backbone.model_id={trained_stable_diffusion()}',
                           f'test_dataloader.dataset.data_root={root}'])
    [png] = glob.glob(str(out / '*.png'))
    crop = json.loads(open(png[:-4] + '.crop.json').read())
    assert np.array(Image.open(png)).shape == (512, 512)
    assert crop['size'] == [512, 512] and crop['box'] == [0, 16, 128, 144]
