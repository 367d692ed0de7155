"""Tiny random models: real on-disk layout, loaded through from_pretrained, SD v1 topology."""
import json
import os.path as osp

import pytest
import torch

from mmseg_trainfree.models import ModelNotAvailableError, StableDiffusionBackbone
from mmseg_trainfree.models.attention import attention_layer_names
from mmseg_trainfree.testing import random_stable_diffusion


def test_layout_and_loading(tiny_sd, backbone):
    for sub in ('unet', 'vae', 'text_encoder', 'tokenizer', 'scheduler'):
        assert osp.isdir(osp.join(tiny_sd, sub))
    index = json.load(open(osp.join(tiny_sd, 'model_index.json')))
    assert index['_class_name'] == 'StableDiffusionPipeline'
    assert type(backbone.scheduler).__name__ == 'DDPMScheduler'
    assert backbone.scheduler.config.steps_offset == 1
    assert not any(p.requires_grad for p in backbone.parameters())
    assert not backbone.training


def test_sd_v1_topology(backbone):
    names = attention_layer_names(backbone.unet)
    assert len(names) == 32  # 16 transformer blocks x (attn1, attn2)
    for name in ('up_blocks.1.attentions.0.transformer_blocks.0.attn2',
                 'up_blocks.1.attentions.2.transformer_blocks.0.attn2',
                 'up_blocks.3.attentions.2.transformer_blocks.0.attn1',
                 'down_blocks.2.attentions.1.transformer_blocks.0.attn2',
                 'mid_block.attentions.0.transformer_blocks.0.attn2'):
        assert name in names
    assert not any(n.startswith('down_blocks.3.') or n.startswith('up_blocks.0.') for n in names)
    assert backbone.latent_factor == 8


def test_tokenizer_is_real_clip_bpe(backbone):
    ids = backbone.tokenize(['a photo of a cat'])[0]
    # openai/clip-vit-large-patch14 token ids
    assert ids[:7].tolist() == [49406, 320, 1125, 539, 320, 2368, 49407]
    assert ids.shape == (77,) and (ids[7:] == 49407).all()
    long = backbone.tokenize(['cat ' * 200])[0]
    assert long.shape == (77,) and long[-1] == 49407  # truncated, still ends with the end token


def test_cache_is_reused(tmp_path):
    a = random_stable_diffusion('tiny', root=str(tmp_path))
    mtime = osp.getmtime(osp.join(a, 'model_index.json'))
    assert random_stable_diffusion('tiny', root=str(tmp_path)) == a
    assert osp.getmtime(osp.join(a, 'model_index.json')) == mtime


def test_weights_are_seeded(tmp_path):
    a = StableDiffusionBackbone(random_stable_diffusion('tiny', seed=0, root=str(tmp_path / 'a')))
    b = StableDiffusionBackbone(random_stable_diffusion('tiny', seed=0, root=str(tmp_path / 'b')))
    for (n, p), (_, q) in zip(a.unet.named_parameters(), b.unet.named_parameters()):
        assert torch.equal(p, q), n


def test_uncached_model_offline_error(tmp_path, monkeypatch):
    monkeypatch.setenv('HF_HOME', str(tmp_path))
    with pytest.raises(ModelNotAvailableError) as e:
        StableDiffusionBackbone(model_id='CompVis/stable-diffusion-v1-4', local_files_only=True)
    msg = str(e.value)
    assert 'CompVis/stable-diffusion-v1-4' in msg and 'model.backbone.model_id' in msg and 'offline' in msg


def test_incomplete_local_folder_error(tmp_path):
    (tmp_path / 'unet').mkdir()
    with pytest.raises(ModelNotAvailableError, match='local folder'):
        StableDiffusionBackbone(model_id=str(tmp_path))


def test_unknown_dtype_and_component(tiny_sd):
    with pytest.raises(ValueError, match='dtype'):
        StableDiffusionBackbone(model_id=tiny_sd, dtype='float8')
    with pytest.raises(ValueError, match='components'):
        StableDiffusionBackbone(model_id=tiny_sd, components=('unet', 'controlnet'))
