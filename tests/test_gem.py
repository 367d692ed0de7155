"""GEM on open_clip 3.x: the self-self attention path against a hand computation, and the original path
against open_clip's own image encoder."""
import math

import pytest
import torch
import torch.nn.functional as F

from mmseg_trainfree.models import GEMBackbone


def gem_backbone(tiny_clip, **kw):
    fields = {k: v for k, v in tiny_clip.items() if k != 'short_side'}
    return GEMBackbone(**fields, image_size=(32, 32), **kw)


def test_original_path_is_open_clips_image_encoder(tiny_clip):
    """With the GEM path off, the class token equals open_clip's encode_image (same input size)."""
    clip = gem_backbone(tiny_clip, gem=False, gem_depth=3)
    x = torch.rand(2, 3, 32, 32, generator=torch.Generator().manual_seed(0)) * 2 - 1
    gem, ori = clip.forward_tokens(x)
    reference = clip.model.encode_image(((x + 1) / 2 - clip.mean) / clip.std)
    assert gem is None and torch.allclose(ori[:, 0], reference, atol=1e-5)
    dense = clip.dense_features(x)
    assert dense.shape == (2, 32, 4, 4) and torch.allclose(dense.flatten(2).transpose(1, 2),
                                                           F.normalize(ori[:, 1:], dim=-1), atol=1e-6)


def hand_gem_block(block, x, iterations, inv_temp=None):
    """GEM's paper formulas written out per image and head, with plain loops."""
    attn = block.attn
    y = block.ln_1(x)
    b, n, c = y.shape
    heads = attn.num_heads
    d = c // heads
    qkv = y @ attn.in_proj_weight.T + attn.in_proj_bias
    out = torch.zeros(b, n, c)
    for i in range(b):
        tau = y[i].norm(dim=-1).mean() / math.sqrt(d) if inv_temp is None else inv_temp
        for h in range(heads):
            q, k, v = (qkv[i, :, j * c + h * d: j * c + (h + 1) * d] for j in range(3))
            total = torch.zeros(n, d)
            for z in (q, k, v):
                for _ in range(iterations):
                    z = z / z.norm(dim=-1, keepdim=True)
                    z = torch.softmax(tau * z @ z.T, dim=-1) @ z
                z = z / z.norm(dim=-1, keepdim=True)
                total += torch.softmax(tau * z @ z.T, dim=-1) @ v
            out[i, :, h * d:(h + 1) * d] = total / 3
    return out @ attn.out_proj.weight.T + attn.out_proj.bias


def input_tokens(clip, x):
    """The normalised image and the first block's input tokens (class token first), written out."""
    visual = clip.model.visual
    normalised = ((x + 1) / 2 - clip.mean) / clip.std
    tokens = visual.conv1(normalised).flatten(2).transpose(1, 2)
    tokens = torch.cat([visual.class_embedding.view(1, 1, -1).expand(x.shape[0], -1, -1), tokens], 1)
    return normalised, visual.ln_pre(tokens + visual.positional_embedding)


@pytest.mark.parametrize('iterations,temp', [(1, None), (2, None), (1, 3.0)])
def test_gem_path_equals_a_hand_computation(tiny_clip, iterations, temp):
    """gem_depth=2 on the tiny 2-block ViT: the GEM path is the last block's input plus the self-self attention
    residual (no MLP), then ln_post and the projection; the original path is untouched."""
    clip = gem_backbone(tiny_clip, gem_depth=2, ss_attn_iter=iterations, ss_attn_temp=temp)
    visual = clip.model.visual
    x = torch.rand(2, 3, 32, 32, generator=torch.Generator().manual_seed(1)) * 2 - 1
    gem, ori = clip.forward_tokens(x)
    normalised, tokens = input_tokens(clip, x)
    first, last = visual.transformer.resblocks
    before_last = first(tokens)
    expected = before_last + last.ls_1(hand_gem_block(last, before_last, iterations, temp))
    assert torch.allclose(gem, visual.ln_post(expected) @ visual.proj, atol=1e-5)
    assert torch.allclose(ori[:, 0], clip.model.encode_image(normalised), atol=1e-5)
    with pytest.raises(ValueError, match='gem_depth'):
        gem_backbone(tiny_clip, gem_depth=4)


def test_gem_path_accumulates_over_two_blocks(tiny_clip):
    """gem_depth=3 on the tiny 2-block ViT: both blocks add their self-self attention (computed on the original
    path's input of that block) to one GEM residual stream that starts at the first block's input."""
    clip = gem_backbone(tiny_clip, gem_depth=3)
    visual = clip.model.visual
    x = torch.rand(2, 3, 32, 32, generator=torch.Generator().manual_seed(2)) * 2 - 1
    gem, _ = clip.forward_tokens(x)
    tokens = input_tokens(clip, x)[1]
    first, last = visual.transformer.resblocks
    expected = (tokens + first.ls_1(hand_gem_block(first, tokens, 1))
                + last.ls_1(hand_gem_block(last, first(tokens), 1)))
    assert torch.allclose(gem, visual.ln_post(expected) @ visual.proj, atol=1e-5)
    one_block = gem_backbone(tiny_clip, gem_depth=2).forward_tokens(x)[0]
    assert not torch.allclose(gem, one_block, atol=1e-4)
