"""The recipe of the trained tiny Stable Diffusion: captions, attention targets and loss, and the tool end to end
(a few steps: a seeded run is reproducible and saves a folder that StableDiffusionBackbone loads)."""
import json
import os.path as osp

import pytest
import torch
from conftest import load_tool

from mmseg_trainfree.testing.tiny_training import (TinySDRecipe, attention_loss, make_captioned_shapes,
                                                   self_attention_loss, soft_targets)


@pytest.fixture(scope='module')
def tokenizer(tiny_sd):
    from transformers import CLIPTokenizer
    return CLIPTokenizer.from_pretrained(osp.join(tiny_sd, 'tokenizer'))


def test_captions_name_every_present_object_and_at_most_one_absent_class(tokenizer):
    recipe = TinySDRecipe(num_images=40, image_size=64, seed=3)
    images, labels, ids, token_class = make_captioned_shapes(recipe, tokenizer)
    assert images.shape == (40, 3, 64, 64) and -1 <= images.min() and images.max() <= 1
    empty = 0
    for label, row, matrix in zip(labels, ids, token_class):
        named = {c for c in range(4) if matrix[:, c].sum() > 0}
        present = set(label.unique().tolist())
        text = tokenizer.decode(row, skip_special_tokens=True)
        if not named:
            empty += 1
            assert text.strip() == ''
            continue
        assert present - {0} <= named, (text, present)
        assert len(named - present) <= 1 and (0 not in named or 0 in present)
        for c in named:  # each named class's columns average exactly its name's tokens
            tokens = matrix[:, c].nonzero().flatten()
            assert torch.allclose(matrix[tokens, c].sum(), torch.tensor(1.0))
            assert tokenizer.decode(row[tokens]).strip() == recipe.classes[c]
    assert 0 < empty < 40


def test_soft_targets_are_area_fractions_with_the_rest_on_the_null_target():
    labels = torch.tensor([[[0, 0, 1, 1], [0, 0, 1, 1], [2, 2, 3, 3], [2, 2, 3, 2]]])
    token_class = torch.zeros(1, 77, 4)
    token_class[0, 5, 1] = token_class[0, 7, 3] = 1  # the caption names classes 1 and 3 only
    targets = soft_targets(labels, token_class, (2, 2))[0]  # (4 positions, 4 classes + null)
    expected = torch.tensor([[0, 0, 0, 0, 1], [0, 1, 0, 0, 0], [0, 0, 0, 0, 1], [0, 0, 0, 0.75, 0.25]])
    assert torch.allclose(targets, expected)


def test_attention_loss_rewards_the_named_class_at_its_pixels():
    labels = torch.tensor([[[1, 1, 0, 0]] * 4])  # class 1 on the left half
    token_class = torch.zeros(1, 77, 4)
    token_class[0, 3, 1] = 1
    right = torch.zeros(1, 16, 77)
    right[0, :, 3] = torch.tensor([5.0, 5.0, -5.0, -5.0] * 4)  # class 1's token high on the left
    wrong = right.clone()
    wrong[0, :, 3] *= -1
    loss = lambda s: attention_loss(s, token_class, labels, (4, 4), torch.ones(1))  # noqa: E731
    assert loss(right) < 0.01 < 5 < loss(wrong)
    right[0, :, 0] = 10.0  # [SOS] is the null target: high everywhere, it wins the object pixels too
    assert loss(right) > 2
    silent = torch.zeros(1, 77, 4)  # an empty caption has no attention target
    assert attention_loss(right, silent, labels, (4, 4), torch.ones(1)) == 0


def test_self_attention_loss_is_the_mass_outside_the_own_class():
    labels = torch.tensor([[[0, 0, 1, 1]] * 4])  # on a 2 x 2 layer: positions 0, 2 class 0; 1, 3 class 1
    inside = torch.tensor([[[0.5, 0, 0.5, 0], [0, 0.5, 0, 0.5], [0.5, 0, 0.5, 0], [0, 0.5, 0, 0.5]]])
    uniform = torch.full((1, 4, 4), 0.25)
    loss = lambda p: float(self_attention_loss(p, labels, 4, (2, 2), torch.ones(1)))  # noqa: E731
    assert loss(inside) == pytest.approx(0, abs=1e-6)
    assert loss(uniform) == pytest.approx(-torch.log(torch.tensor(0.5)).item())
    assert loss(inside.flip(-1)) > loss(uniform)  # all the mass on the other class


def test_train_tool_is_seeded_and_saves_a_loadable_fp16_folder(tmp_path):
    from safetensors.torch import load_file

    from mmseg_trainfree.models import StableDiffusionBackbone
    args = ['--num-images', '8', '--image-size', '64', '--vae-steps', '2', '--vae-batch', '2', '--unet-steps', '2',
            '--batch-size', '2']
    tool = load_tool('train_tiny_sd')
    tool.main(['--out', str(tmp_path / 'a'), *args])
    tool.main(['--out', str(tmp_path / 'b'), *args])
    weights = [load_file(str(tmp_path / run / 'unet/diffusion_pytorch_model.safetensors')) for run in 'ab']
    assert all(v.dtype == torch.float16 for v in weights[0].values())
    assert all(torch.equal(weights[0][k], weights[1][k]) for k in weights[0])
    summary = json.loads((tmp_path / 'a/training_recipe.json').read_text())
    assert summary['recipe']['unet_steps'] == 2 and summary['scaling_factor'] > 0
    backbone = StableDiffusionBackbone(model_id=str(tmp_path / 'a'), dtype='float32')
    assert backbone.vae.config.scaling_factor == pytest.approx(summary['scaling_factor'])
    assert not (tmp_path / 'a.partial').exists()
