"""Attention processors: recorder, injector, modulator, feature recorder; clean removal."""
import pytest
import torch

from mmseg_trainfree.models.attention import (AttentionInjector, AttentionRecorder, FeatureRecorder,
                                              OutputModulator, attention_hooks, attention_layer_names)

LAYER = 'up_blocks.1.attentions.0.transformer_blocks.0.attn2'
SELF_LAYER = 'up_blocks.1.attentions.0.transformer_blocks.0.attn1'


@pytest.fixture
def inputs(backbone):
    g = torch.Generator().manual_seed(0)
    latents = torch.randn(2, 4, 16, 16, generator=g)
    text = backbone.encode_prompts(['a red disc', 'a green square'])
    return latents, text


def run(backbone, latents, text, t=10):
    return backbone.unet_forward(latents, t, text)


def _capture_inputs(module):
    seen = {}

    def hook(mod, args, kwargs):
        seen['hidden'] = args[0] if args else kwargs['hidden_states']
        seen['context'] = kwargs.get('encoder_hidden_states')
    return seen, module.register_forward_pre_hook(hook, with_kwargs=True)


@pytest.mark.parametrize('layer', [LAYER, SELF_LAYER])
def test_recorded_maps_equal_softmax_by_hand(backbone, inputs, layer):
    latents, text = inputs
    attn = dict(backbone.unet.named_modules())[layer]
    seen, handle = _capture_inputs(attn)
    rec = AttentionRecorder(layer, what=('probs', 'scores', 'queries'))
    with attention_hooks(backbone.unet, [rec]):
        run(backbone, latents, text)
    handle.remove()
    x = seen['hidden']
    ctx = x if seen['context'] is None else seen['context']
    q, k = attn.to_q(x), attn.to_k(ctx)
    b, heads = q.shape[0], attn.heads
    split = lambda t: t.view(b, -1, heads, t.shape[-1] // heads).transpose(1, 2)  # noqa: E731
    d = q.shape[-1] // heads
    scores = split(q) @ split(k).transpose(-1, -2) / d ** 0.5
    torch.testing.assert_close(rec['scores'][layer][0], scores.mean(1), rtol=1e-5, atol=1e-5)
    torch.testing.assert_close(rec['probs'][layer][0], scores.softmax(-1).mean(1), rtol=1e-5, atol=1e-6)
    torch.testing.assert_close(rec['queries'][layer][0], q)
    assert len(rec['probs'][layer]) == 1


def test_recorder_keeps_only_requested_layers_and_columns(backbone, inputs):
    latents, text = inputs
    rec = AttentionRecorder('up_blocks.1.attentions.*.attn2', what='scores', head_mean=False,
                            key_index=torch.tensor([1, 2]))
    with attention_hooks(backbone.unet, [rec]) as hooked:
        run(backbone, latents, text)
    assert hooked == [f'up_blocks.1.attentions.{i}.transformer_blocks.0.attn2' for i in range(3)]
    assert set(rec['scores']) == set(hooked)
    assert rec["scores"][hooked[0]][0].shape == (2, 2, 16, 2)  # (B, heads, 4x4 queries, 2 kept tokens)


def test_injection_reproduces_run_exactly_and_unet_is_restored(backbone, inputs):
    latents, text = inputs
    unet = backbone.unet
    original_types = {k: type(v) for k, v in unet.attn_processors.items()}
    state = {k: v.clone() for k, v in unet.state_dict().items()}
    plain = run(backbone, latents, text)

    layers = attention_layer_names(unet)
    rec = AttentionRecorder(layers, what='probs', head_mean=False)
    with attention_hooks(unet, [rec]):
        recorded_run = run(backbone, latents, text)
    torch.testing.assert_close(recorded_run, plain, rtol=1e-4, atol=1e-5)

    inj = AttentionInjector(rec['probs'])
    with attention_hooks(unet, [inj]):
        injected = run(backbone, latents, text)
    assert torch.equal(injected, recorded_run)
    assert all(inj.calls[n] == 1 for n in layers)

    # the injected maps really drive the run: other latents with the same maps differ from a plain run
    other = torch.randn_like(latents)
    inj.reset()
    with attention_hooks(unet, [inj]):
        forced = run(backbone, other, text)
    assert not torch.allclose(forced, run(backbone, other, text), atol=1e-4)

    assert {k: type(v) for k, v in unet.attn_processors.items()} == original_types
    assert all(torch.equal(state[k], v) for k, v in unet.state_dict().items())
    assert torch.equal(run(backbone, latents, text), plain)


def test_hooks_removed_after_an_exception(backbone, inputs):
    latents, text = inputs
    before = {k: type(v) for k, v in backbone.unet.attn_processors.items()}
    with pytest.raises(RuntimeError, match='boom'):
        with attention_hooks(backbone.unet, [AttentionRecorder(LAYER)]):
            raise RuntimeError('boom')
    assert {k: type(v) for k, v in backbone.unet.attn_processors.items()} == before


def test_head_averaged_injection_broadcasts_over_batch(backbone, inputs):
    latents, text = inputs
    rec = AttentionRecorder(LAYER, what='probs', head_mean=False)
    with attention_hooks(backbone.unet, [rec]):
        run(backbone, latents[:1], text[:1])
    ref = rec['probs'][LAYER][0]  # (1, heads, Nq, Nk)
    rec2 = AttentionRecorder(LAYER, what='probs', head_mean=False)
    with attention_hooks(backbone.unet, [AttentionInjector({LAYER: [ref]}), rec2]):
        run(backbone, latents.repeat(3, 1, 1, 1), text[:1])
    # the recorder sees no computed probs once they are injected: nothing to record
    assert LAYER not in rec2['probs']


def test_modulator_adds_c_times_mask(backbone, inputs):
    latents, text = inputs
    n = 16  # 4x4 positions at up_blocks.1 (latent / 4) for a 16x16 latent
    mask = torch.zeros(n)
    mask[:10] = 1
    plain = AttentionRecorder(LAYER, what='outputs')
    with attention_hooks(backbone.unet, [plain]):
        run(backbone, latents, text)
    scale = torch.tensor([2.0, -3.0])
    mod, rec = OutputModulator(LAYER, mask, scale), AttentionRecorder(LAYER, what='outputs')
    with attention_hooks(backbone.unet, [mod, rec]):
        out = run(backbone, latents, text)
    delta = rec['outputs'][LAYER][0] - plain['outputs'][LAYER][0]
    expected = scale.view(2, 1, 1) * mask.view(1, n, 1)
    torch.testing.assert_close(delta, expected.expand_as(delta), rtol=1e-4, atol=1e-4)
    assert not torch.allclose(out, run(backbone, latents, text))
    mod.active = False
    with attention_hooks(backbone.unet, [mod]):
        torch.testing.assert_close(run(backbone, latents, text), run(backbone, latents, text))


def test_modulator_before_projection(backbone, inputs):
    latents, text = inputs
    mask = torch.ones(16)
    a, b = AttentionRecorder(LAYER, what='outputs'), AttentionRecorder(LAYER, what='outputs')
    with attention_hooks(backbone.unet, [a]):
        run(backbone, latents, text)
    with attention_hooks(backbone.unet, [OutputModulator(LAYER, mask, 1.0, position='before_proj'), b]):
        run(backbone, latents, text)
    attn = dict(backbone.unet.named_modules())[LAYER]
    expected = attn.to_out[0].weight.sum(1)  # to_out(h + 1) - to_out(h) = W @ 1
    torch.testing.assert_close(b['outputs'][LAYER][0] - a['outputs'][LAYER][0],
                               expected.expand(2, 16, -1), rtol=1e-4, atol=1e-4)
    with pytest.raises(ValueError, match='position'):
        OutputModulator(LAYER, mask, position='middle')


def test_feature_recorder(backbone, inputs):
    latents, text = inputs
    names = ['up_blocks.0.resnets.2', 'up_blocks.1.attentions.2', 'up_blocks.1']
    with FeatureRecorder(backbone.unet, names) as feats:
        run(backbone, latents, text)
    assert feats['up_blocks.0.resnets.2'][0].shape == (2, 32, 2, 2)
    assert feats['up_blocks.1.attentions.2'][0].shape == (2, 32, 4, 4)
    assert feats['up_blocks.1'][0].shape == (2, 32, 8, 8)  # after the upsampler
    assert all(not m._forward_hooks for m in backbone.unet.modules())
    with pytest.raises(KeyError, match='no module named'):
        FeatureRecorder(backbone.unet, ['up_blocks.9'])


def test_unknown_layer_pattern_is_an_error(backbone):
    with pytest.raises(KeyError, match='no attention layer matches'):
        with attention_hooks(backbone.unet, [AttentionRecorder('up_blocks.7.*')]):
            pass
    with pytest.raises(ValueError, match='cannot record'):
        AttentionRecorder(LAYER, what='keys')
