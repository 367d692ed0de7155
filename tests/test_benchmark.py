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
    assert out.exists() and result['channels_last'] is False and result['compiled'] is False


def test_benchmark_reports_the_speed_options(tiny_sd, monkeypatch):
    monkeypatch.setenv('MMSEG_TRAINFREE_CACHE', osp.dirname(tiny_sd))
    result = benchmark.main([osp.join(REPO, 'configs/maskdiffusion_voc.py'), '--model-size', 'tiny', '--num-images',
                             '1', '--warmup', '0', '--image-size', '64', '64', '--cfg-options',
                             'model.image_size=[64,64]', 'model.backbone.channels_last=True',
                             'model.backbone.dtype=bfloat16'])
    assert result['channels_last'] is True and result['dtype'] == 'bfloat16'
    assert result['unet_evaluations_per_image'] == 1


@pytest.mark.parametrize('max_batch,calls,rows', [(3, 15 + 2 * 15, 15 + 2 * 3 * 15),  # 4 branches, 2 a call
                                                  (2, 15 + 4 * 15, 15 + 4 * 2 * 15)])  # naive: 1 a call
def test_benchmark_counts_emerdiff(max_batch, calls, rows, tiny_sd, monkeypatch):
    """EmerDiff with K=2: 15 inversion calls, then 2K=4 branches x 15 steps, each call with a reference row."""
    monkeypatch.setenv('MMSEG_TRAINFREE_CACHE', osp.dirname(tiny_sd))
    result = benchmark.main([osp.join(REPO, 'configs/emerdiff_ade20k.py'), '--model-size', 'tiny', '--num-images',
                             '1', '--warmup', '0', '--image-size', '64', '64', '--cfg-options', 'model.num_masks=2',
                             'model.pixels=4096', f'model.max_batch={max_batch}'])
    assert result['unet_calls_per_image'] == calls and result['unet_evaluations_per_image'] == rows
    assert result['branch_steps_per_image'] == 4 * 15 and result['classes'] == 2


@pytest.mark.parametrize('config,options,rows,captions', [
    # 20 prompted classes, 23 names (3 synonyms): 23 rows in 3 calls of 8, one BLIP continuation per name
    ('diffsegmenter_voc_no_filter.py', [], 23, 23),
    # weakly supervised without BLIP: 4 timesteps x 23 rows; image labels need ground truth, so all classes here
    ('diffsegmenter_voc_no_filter.py', ['model.timestep=[1,50,100,150]', 'model.captioner=None'], 4 * 23, None),
])
def test_benchmark_counts_diffsegmenter(config, options, rows, captions, tiny_sd, monkeypatch, tmp_path):
    monkeypatch.setenv('MMSEG_TRAINFREE_CACHE', osp.dirname(tiny_sd))
    result = benchmark.main([osp.join(REPO, 'configs', config), '--model-size', 'tiny', '--num-images', '1',
                             '--warmup', '0', '--image-size', '64', '64',
                             '--cfg-options', 'model.image_size=[64,64]', 'model.captioner.max_new_tokens=4', *options])
    assert result['unet_evaluations_per_image'] == rows and result['unet_calls_per_image'] == rows / 23 * 3
    assert result['candidates_per_image'] == 20 and result.get('captions_per_image') == captions


@pytest.mark.parametrize('config,rows,clip_passes', [('gem_voc.py', 0, 1), ('agggem_voc.py', 1, 1),
                                                     ('aggsd_voc.py', 1, 0), ('diffseg_cocostuff27.py', 1, 0),
                                                     ('aggsd_cocostuff27.py', 6, 0)])
def test_benchmark_counts_langseg(config, rows, clip_passes, tiny_sd, monkeypatch):
    """One CLIP pass for the GEM methods, one UNet row per prompt; AggSD gets every class as an image label
    (its worst case): 20 VOC names fit one prompt, COCO-Stuff's 171 need 6."""
    monkeypatch.setenv('MMSEG_TRAINFREE_CACHE', osp.dirname(tiny_sd))
    options = [] if config.startswith('gem_') else ['model.image_size=[64,64]']
    if config.startswith('diffseg_'):
        options.append('model.num_points=4')
    args = [osp.join(REPO, 'configs', config), '--model-size', 'tiny', '--num-images', '1', '--warmup', '0',
            '--image-size', '64', '64']
    result = benchmark.main(args + (['--cfg-options', *options] if options else []))
    assert result['unet_evaluations_per_image'] == rows and result['clip_image_passes_per_image'] == clip_passes
