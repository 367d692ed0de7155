"""tools/benchmark.py reports counts that follow from the method: one UNet row per image and prompt."""
import os.path as osp
import sys

import pytest
from conftest import REPO

sys.path.insert(0, osp.join(REPO, 'tools'))
import benchmark  # noqa: E402


@pytest.mark.parametrize('config,evals,classes', [('maskdiffusion_voc.py', 1, 20),
                                                  ('maskdiffusion_cocostuff171.py', 6, 171),
                                                  ('maskdiffusion_shapes_demo.py', 1, 4)])
def test_benchmark_counts(config, evals, classes, tiny_sd, monkeypatch, tmp_path):
    monkeypatch.setenv('MMSEG_TRAINFREE_CACHE', osp.dirname(tiny_sd))
    out = tmp_path / 'result.json'
    result = benchmark.main([osp.join(REPO, 'configs', config), '--model-size', 'tiny', '--num-images', '2',
                             '--image-size', '64', '64', '--out', str(out),
                             '--cfg-options', 'model.image_size=[64,64]'])
    assert result['unet_evaluations_per_image'] == evals
    assert result['classes'] == classes and result['images'] == 2
    assert result['latency_s_mean'] > 0 and result['peak_memory_mb'] > 0
    assert out.exists()
