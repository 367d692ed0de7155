"""Tiny random models: real on-disk layout, loaded through from_pretrained, SD v1 topology."""
import glob
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


def test_offline_errors_suggest_the_current_cli_and_never_download_a_path(tmp_path, monkeypatch):
    monkeypatch.setenv('HF_HOME', str(tmp_path))
    with pytest.raises(ModelNotAvailableError) as e:
        StableDiffusionBackbone(model_id='CompVis/stable-diffusion-v1-4', local_files_only=True)
    assert '`hf download CompVis/stable-diffusion-v1-4`' in str(e.value) and 'huggingface-cli' not in str(e.value)
    for path in (str(tmp_path / 'models' / 'my-sd'), './no/such/sd'):
        with pytest.raises(ModelNotAvailableError, match='no such folder') as e:
            StableDiffusionBackbone(model_id=path, local_files_only=True)
        assert 'download' not in str(e.value)


def test_weights_variant_is_passed_through(tiny_sd, tmp_path):
    """A folder whose weights exist only as the fp16 variant (``*.fp16.safetensors``) loads with variant='fp16'."""
    import shutil
    reference = StableDiffusionBackbone(tiny_sd)
    folder = tmp_path / 'variant'
    for name in ('tokenizer', 'scheduler'):
        shutil.copytree(osp.join(tiny_sd, name), folder / name)
    for name in ('unet', 'vae', 'text_encoder'):
        getattr(reference, name).save_pretrained(str(folder / name), variant='fp16')
    assert glob.glob(str(folder / 'unet' / '*.fp16.safetensors'))
    with pytest.raises(ModelNotAvailableError):
        StableDiffusionBackbone(str(folder))  # no plain weights
    loaded = StableDiffusionBackbone(str(folder), variant='fp16', use_safetensors=True)
    for (n, p), (_, q) in zip(loaded.unet.named_parameters(), reference.unet.named_parameters()):
        assert torch.equal(p, q), n


# names of the original SD v1 checkpoints (CompVis / A1111 layout) that the written file must use
UNET_KEYS = ('input_blocks.0.0.weight', 'input_blocks.1.1.transformer_blocks.0.attn2.to_k.weight',
             'time_embed.2.weight', 'input_blocks.2.0.in_layers.2.weight', 'input_blocks.3.0.op.weight',
             'input_blocks.7.0.skip_connection.weight', 'middle_block.1.proj_in.weight',
             'middle_block.2.out_layers.3.weight', 'output_blocks.2.1.conv.weight', 'output_blocks.5.2.conv.weight',
             'output_blocks.11.1.proj_out.weight', 'out.2.weight')
VAE_KEYS = ('encoder.down.0.downsample.conv.weight', 'decoder.up.3.upsample.conv.weight', 'encoder.mid.attn_1.q.weight',
            'decoder.mid.block_2.conv2.weight', 'quant_conv.weight')
LDM_KEYS = (tuple('model.diffusion_model.' + k for k in UNET_KEYS) + tuple('first_stage_model.' + k for k in VAE_KEYS)
            + ('cond_stage_model.transformer.text_model.embeddings.position_embedding.weight',))


@pytest.mark.parametrize('suffix', ['.safetensors', '.ckpt'])
def test_single_file_checkpoint_loads_the_folders_weights(tiny_sd, backbone, tmp_path, suffix):
    """An original-layout single file (safetensors, or a pickle of plain tensors that loads with weights_only)
    made from the tiny folder loads through ``from_single_file`` into exactly the folder's weights."""
    from mmseg_trainfree.testing.single_file import write_single_file_checkpoint
    path = write_single_file_checkpoint(tiny_sd, str(tmp_path / f'tiny-sd{suffix}'))
    if suffix == '.safetensors':
        from safetensors import safe_open
        with safe_open(path, 'pt') as f:
            keys = set(f.keys())
            assert all(k in keys for k in LDM_KEYS), sorted(set(LDM_KEYS) - keys)
            assert f.get_slice('first_stage_model.encoder.mid.attn_1.q.weight').get_shape()[2:] == [1, 1]
    loaded = StableDiffusionBackbone(model_id=path, single_file_config=tiny_sd, local_files_only=True)
    for name in ('unet', 'vae', 'text_encoder'):
        expected, got = getattr(backbone, name).state_dict(), getattr(loaded, name).state_dict()
        assert expected.keys() == got.keys(), name
        for key, value in expected.items():
            assert torch.equal(value, got[key]), (name, key)
    assert dict(loaded.scheduler.config) == dict(backbone.scheduler.config)
    x = torch.randn(1, 4, 8, 8, generator=torch.Generator().manual_seed(0))
    torch.testing.assert_close(loaded.unet_forward(x, 10, loaded.encode_prompts(['a red square'])),
                               backbone.unet_forward(x, 10, backbone.encode_prompts(['a red square'])))


def test_single_file_checkpoints_missing_or_unsafe_pickle_are_refused(tmp_path, capfd):
    with pytest.raises(ModelNotAvailableError, match='single-file checkpoint .* does not exist'):
        StableDiffusionBackbone(model_id=str(tmp_path / 'sd-v1-5.safetensors'))

    class Payload:
        def __reduce__(self):
            return print, ('payload code ran',)

    torch.save({'state_dict': {'w': torch.zeros(1)}, 'payload': Payload()}, tmp_path / 'model.ckpt')
    with pytest.raises(ValueError, match=r'pickle checkpoint that would run code.*\.safetensors'):
        StableDiffusionBackbone(model_id=str(tmp_path / 'model.ckpt'), local_files_only=True)
    assert 'payload code ran' not in capfd.readouterr().out
