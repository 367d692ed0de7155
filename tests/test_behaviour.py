"""Behavioural tests: every Stable Diffusion method segments the shapes benchmark with the tiny SD trained
here (assets/tiny-sd-shapes, the oracle), through tools/test.py's Runner path, above a floor chosen from
measurements with a margin; the random-weight model of the same architecture stays well below that floor;
and deliberately broken readers of the oracle fall below it (mutation checks).

Floors and the measured values they come from are listed in MEASURED (mIoU on the 12-image split below);
docs/tiny_model.md has the table. The attention of the oracle was trained to localise (mask supervision,
see mmseg_trainfree.testing.tiny_training): these tests prove that each method reads the right layers,
tokens, signs and steps of a model whose attention localises, not that attention emerges.
"""
import os.path as osp

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from conftest import REPO, all_background_miou, run_config

from mmseg_trainfree.datasets import generate_shapes_dataset
from mmseg_trainfree.testing import trained_stable_diffusion

SPLIT = dict(num_images=12, size=(128, 128), seed=1000)  # the trained model saw seed 0 only
# config -> (floor, measured with the trained model, measured with random weights): mIoU in % on SPLIT. Floors
# sit about 20 % below the measurement; config choices were made on another split (seed 2000), see the configs.
MEASURED = {
    'maskdiffusion_shapes.py': (38.0, 47.23, 16.40),
    'maskdiffusion_unsup_shapes.py': (37.0, 45.42, 22.94),  # per-image Hungarian
    'kmeans_sd_unsup_shapes.py': (44.0, 55.18, 23.96),  # per-image Hungarian, no prototype refinement
    'emerdiff_shapes.py': (28.0, 35.13, 9.06),  # modified protocol (mask embeddings)
    'diffsegmenter_shapes.py': (48.0, 60.29, 10.98),
    'aggsd_shapes.py': (65.0, 80.30, 16.82),  # weakly supervised: the image's ground-truth classes
    'diffseg_shapes.py': (50.0, 62.54, 20.89),  # per-image Hungarian
    # per-image Hungarian; the floor is above DiffSeg's measurement (62.54): DiffCut's claim holds on this oracle
    'diffcut_shapes.py': (74.0, 92.04, 21.57),
}
ALL_BACKGROUND = 20.89  # mmseg's mIoU of predicting background everywhere on SPLIT (checked below)
RANDOM_MARGIN = 10.0  # the random-weight model must stay this far below the floor


@pytest.fixture(scope='module')
def shapes_val(tmp_path_factory) -> str:
    return generate_shapes_dataset(str(tmp_path_factory.mktemp('shapes_val')), **SPLIT)


@pytest.fixture(scope='module')
def trained_sd() -> str:
    return trained_stable_diffusion()


def evaluate(config: str, model_id: str, data_root: str, work_dir, *options: str) -> float:
    """mIoU of ``configs/<config>`` through tools/test.py's main on ``data_root`` with ``model_id``."""
    return float(run_config(config, work_dir, f'model.backbone.model_id={model_id}',
                            f'test_dataloader.dataset.data_root={data_root}', *options)['mIoU'])


def test_the_constant_baseline_of_the_split(shapes_val):
    assert all_background_miou(shapes_val) == pytest.approx(ALL_BACKGROUND, abs=0.01)


@pytest.mark.parametrize('config', sorted(MEASURED))
def test_trained_model_segments_and_random_weights_do_not(config, shapes_val, trained_sd, tiny_sd, tmp_path):
    floor = MEASURED[config][0]
    trained = evaluate(config, trained_sd, shapes_val, tmp_path / 'trained')
    random = evaluate(config, tiny_sd, shapes_val, tmp_path / 'random')
    assert trained >= floor, f'{config}: {trained:.2f} mIoU with the trained model, floor {floor}'
    assert random <= floor - RANDOM_MARGIN, f'{config}: {random:.2f} mIoU with random weights, floor {floor}'
    assert trained >= ALL_BACKGROUND + RANDOM_MARGIN


# Mutation checks: break one thing the method must get right; the oracle must notice.
def test_diffcut_without_the_affinity_exponent_falls_below_the_floor(shapes_val, trained_sd, tmp_path):
    """DiffCut's affinity used as it is (alpha = 1, no sharpening): 69.32. (Features from another block do not
    fail here: down_blocks.1's 88.21, up_blocks.1's 90.23; every block of the tiny SD carries the shapes.)"""
    miou = evaluate('diffcut_shapes.py', trained_sd, shapes_val, tmp_path, 'model.alpha=1.0')
    assert miou < MEASURED['diffcut_shapes.py'][0]


def test_maskdiffusion_reading_the_next_token_falls_below_the_floor(shapes_val, trained_sd, tmp_path, monkeypatch):
    from mmseg_trainfree.models.segmentors import maskdiffusion
    real = maskdiffusion.pack_prompts

    def next_token(*args, **kwargs):
        prompts = real(*args, **kwargs)
        for p in prompts:
            p.spans = {entry: [t + 1 for t in tokens] for entry, tokens in p.spans.items()}
        return prompts

    monkeypatch.setattr(maskdiffusion, 'pack_prompts', next_token)
    miou = evaluate('maskdiffusion_shapes.py', trained_sd, shapes_val, tmp_path)
    assert miou < MEASURED['maskdiffusion_shapes.py'][0]


def emerdiff_masks_and_differences(trained_sd: str, data_root: str, num_images: int = 6):
    """EmerDiff's low-resolution masks and per-mask difference maps |I- - I+| (before the blur) on the
    first ``num_images`` images, built from configs/emerdiff_shapes.py."""
    import cv2
    from mmengine.config import Config

    from mmseg_trainfree.models.segmentors.emerdiff import difference_maps
    from mmseg_trainfree.registry import MODELS
    cfg = Config.fromfile(osp.join(REPO, 'configs/emerdiff_shapes.py'))
    cfg.model.backbone.model_id = trained_sd
    model = MODELS.build(cfg.model)
    out = []
    for i in range(num_images):
        image = cv2.imread(osp.join(data_root, f'img_dir/val/shapes_{i:04d}.png'))[..., ::-1].copy()
        x = torch.from_numpy(image).permute(2, 0, 1)[None].float() / 127.5 - 1
        with torch.no_grad():
            x0 = model.backbone.encode_images(x).float()
            text = model.backbone.encode_prompts([model.prompt])
            inversion, queries = model.invert_and_record(x0, text, torch.Generator().manual_seed(model.seed))
            features = queries[model.feature_timestep, model.feature_layer]
            labels = model.low_resolution_masks(features, tuple(x0.shape[2:]))
            masks = F.one_hot(labels, int(labels.max()) + 1).permute(2, 0, 1).float()
            images = model.decode(model.modulated_denoising(inversion, text, masks))
        out.append((masks, difference_maps(images[1::2], images[0::2])))
    return out


def test_emerdiff_difference_maps_follow_their_own_masks(shapes_val, trained_sd):
    """Per mask, the difference map |I- - I+| is larger inside the mask than outside, and per pixel its argmax
    is the pixel's own mask. Measured on SPLIT's first 6 images (24 masks): the smallest inside / outside ratio
    is 0.99 with the trained model and 0.62 with random weights (where 21 of 24 masks still have ratio > 1: a
    convolutional UNet keeps any modulation roughly local); the pixel agreement is 0.575 against 0.455."""
    ratios, agreement = [], []
    for masks, diff in emerdiff_masks_and_differences(trained_sd, shapes_val):
        up = F.interpolate(masks[None], diff.shape[1:], mode='nearest')[0].bool()
        ratios += [float(d[m].mean() / d[~m].mean()) for d, m in zip(diff, up) if m.any() and (~m).any()]
        agreement.append(float((diff.argmax(0) == up.float().argmax(0)).float().mean()))
    assert min(ratios) >= 0.9, f'smallest inside / outside ratio {min(ratios):.3f} of {len(ratios)} masks'
    assert np.mean(agreement) >= 0.52, f'pixel agreement {np.mean(agreement):.3f}'


def test_emerdiff_without_opposite_signs_falls_below_the_floor(shapes_val, trained_sd, tmp_path, monkeypatch):
    """Both branches of a mask modulated with +lambda: the difference maps vanish."""
    from mmseg_trainfree.models.attention import OutputModulator
    real = OutputModulator._delta
    monkeypatch.setattr(OutputModulator, '_delta', lambda self, hidden: real(self, hidden).abs())
    miou = evaluate('emerdiff_shapes.py', trained_sd, shapes_val, tmp_path)
    assert miou < MEASURED['emerdiff_shapes.py'][0]


def test_emerdiff_attention_injection_helps(shapes_val, trained_sd, tmp_path):
    """Without attention injection EmerDiff scores 33.6 against 35.1 here (the floor is not crossed: in this
    model injection contributes 1.5 points); the refinement without it must still be measurably worse."""
    without = evaluate('emerdiff_shapes.py', trained_sd, shapes_val, tmp_path, 'model.attention_injection=False')
    assert without <= MEASURED['emerdiff_shapes.py'][1] - 0.75
