"""Every config of the report's methods and of DiffSeg runs through tools/test.py (in this process) on tiny
copies of its benchmark, with the tiny offline SD and CLIP swapped in by --cfg-options."""
import glob
import os.path as osp

import pytest
from conftest import REPO, load_test_tool

from mmseg_trainfree.testing import write_benchmark_fixture

METHODS = ('gem', 'agggem', 'diffsegclust', 'specclust', 'aggsd', 'diffseg')
CONFIGS = sorted(osp.basename(p) for m in METHODS for p in glob.glob(osp.join(REPO, 'configs', f'{m}_*.py'))
                 if not p.endswith('_shapes.py') and '_ovss_' not in p)  # shapes: test_behaviour.py; GEM on the
# open-vocabulary CLIP protocol (gem_ovss_*): test_open_vocab_clip.py
FIXTURES = ('pascal_voc12', 'pascal_context_59', 'coco_stuff27', 'cityscapes27')


@pytest.fixture(scope='module')
def data_root(tmp_path_factory):
    root = tmp_path_factory.mktemp('langseg')
    for base in FIXTURES:
        write_benchmark_fixture(base, str(root / 'data'))
    return root


def test_every_table4_cell_has_a_config():
    assert len(CONFIGS) == 5 * 4 + 2


@pytest.mark.parametrize('config', CONFIGS)
def test_config_runs_through_tools_test(config, data_root, tiny_sd, tiny_clip, monkeypatch):
    monkeypatch.chdir(data_root)
    method = config.split('_')[0]
    options = []
    if method != 'gem':  # Stable Diffusion at 64 x 64 (an 8 x 8 latent: 4 x 4 anchors)
        options += [f'model.backbone.model_id={tiny_sd}', 'model.backbone.dtype=float32', 'model.image_size=[64,64]']
    if method in ('diffseg', 'diffsegclust'):
        options.append('model.num_points=4')
    if method in ('gem', 'agggem', 'diffsegclust', 'specclust'):  # GEM on the tiny 2-block ViT
        options += [f'model.clip.{k}={v}' for k, v in tiny_clip.items() if k != 'short_side']
        options += ['model.clip.image_size=[32,32]', 'model.clip.gem_depth=2']
    metrics = load_test_tool().main([osp.join(REPO, 'configs', config), '--work-dir', str(data_root / 'wd' / config),
                                     '--cfg-options', *options])
    assert {'aAcc', 'mIoU', 'mAcc'} <= set(metrics) and 0 <= metrics['mIoU'] <= 100
