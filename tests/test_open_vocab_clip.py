"""The open-vocabulary CLIP family (SCLIP, ClearCLIP, NACLIP; MaskCLIP and GEM on their protocol): the last-block
attention forms against per-head references, PAMR against a dense loop, the protocol's scoring by hand, the class-name
files, and configs through tools/test.py on benchmark fixtures. Behaviour on the trained tiny CLIP:
tests/test_behaviour_clip.py."""
import glob
import math
import os.path as osp

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from conftest import REPO, load_test_tool
from mmengine.config import Config
from PIL import Image

from mmseg_trainfree.compat import resolve_config
from mmseg_trainfree.models import OpenCLIPBackbone
from mmseg_trainfree.models.backbones.clip_attention import neighbourhood_bias, proxy_attention
from mmseg_trainfree.models.utils.pamr import pamr
from mmseg_trainfree.models.utils.vocabulary import read_class_name_file
from mmseg_trainfree.registry import DATASETS, MODELS
from mmseg_trainfree.testing import random_timm_vit, write_benchmark_fixture


@pytest.fixture(scope='module')
def clip(tiny_clip):
    return OpenCLIPBackbone(**dict(tiny_clip, short_side=None))


def reference_last_block(block, x, form, grid, std=5.0):
    """out_proj of the per-head attention of ``form`` applied to v, head by head, written out from the papers."""
    attn = block.attn
    d, heads = attn.embed_dim, attn.num_heads
    q, k, v = F.linear(block.ln_1(x), attn.in_proj_weight, attn.in_proj_bias)[0].chunk(3, dim=-1)
    n = x.shape[1]
    omega = torch.zeros(n, n)
    cells = [(i, j) for i in range(grid[0]) for j in range(grid[1])]
    for a, (i1, j1) in enumerate(cells):
        for b, (i2, j2) in enumerate(cells):
            omega[a + 1, b + 1] = np.exp(-((i1 - i2) ** 2 + (j1 - j2) ** 2) / (2 * std ** 2))
    outs = []
    for h in range(heads):
        sl = slice(h * d // heads, (h + 1) * d // heads)
        qh, kh, vh = q[:, sl], k[:, sl], v[:, sl]
        s = (d // heads) ** -0.5
        weights = {'csa': torch.softmax(qh @ qh.T * s, -1) + torch.softmax(kh @ kh.T * s, -1),
                   'qq': torch.softmax(qh @ qh.T * s, -1), 'kk': torch.softmax(kh @ kh.T * s, -1),
                   'neighbourhood': torch.softmax(kh @ kh.T * s + omega, -1), 'value': torch.eye(n)}[form]
        outs.append(weights @ vh)
    return attn.out_proj(torch.cat(outs, -1))[None]


@pytest.mark.parametrize('form', ['csa', 'qq', 'kk', 'neighbourhood', 'value'])
def test_last_block_attention_forms_match_per_head_references(clip, form):
    last = clip.model.visual.transformer.resblocks[-1]
    grid = (2, 3)
    x = torch.randn(1, 1 + 6, last.attn.embed_dim, generator=torch.Generator().manual_seed(0))
    clip.attention, clip.keep_residual = form, False
    try:
        want = reference_last_block(last, x, form, grid)
        assert torch.allclose(clip.last_block(last, x, grid), want, atol=1e-5)
        clip.keep_residual = True  # SCLIP / MaskCLIP: x + out_proj(A v), then the block's MLP
        y = x + want
        assert torch.allclose(clip.last_block(last, x, grid), y + last.mlp(last.ln_2(y)), atol=1e-5)
    finally:
        clip.attention, clip.keep_residual = 'value', True


def test_query_key_form_with_residual_is_clips_own_block(clip):
    last = clip.model.visual.transformer.resblocks[-1]
    x = torch.randn(2, 1 + 12, last.attn.embed_dim, generator=torch.Generator().manual_seed(1))
    clip.attention = 'qk'
    try:
        assert torch.allclose(clip.last_block(last, x, (3, 4)), last(x), atol=1e-5)
    finally:
        clip.attention = 'value'


def test_neighbourhood_bias_is_a_gaussian_of_grid_distance():
    bias = neighbourhood_bias((2, 3), std=2.0)
    assert bias.shape == (7, 7) and (bias[0] == 0).all() and (bias[:, 0] == 0).all()
    # patches (0, 0) and (1, 2): squared distance 1 + 4
    assert bias[1, 6].item() == pytest.approx(np.exp(-5 / 8)) and bias[3, 3].item() == pytest.approx(1.0)
    with pytest.raises(ValueError, match='gaussian_std'):
        neighbourhood_bias((2, 2), std=0)


def test_proxy_attention_and_block_match_proxyclips_formulas(clip):
    g = torch.Generator().manual_seed(2)
    feats = torch.randn(1, 5, 4, 6, generator=g)  # a VFM's features on a 4 x 6 grid
    f = F.normalize(feats.flatten(2)[0], dim=0)
    sim = (f.T @ f - 1.2 * (f.T @ f).mean()) * 3.0
    want = torch.softmax(torch.where(sim < 0, torch.tensor(float('-inf')), sim), -1)
    assert torch.allclose(proxy_attention(feats, 1.2, 3.0)[0], want, atol=1e-6)
    same = torch.ones(1, 5, 2, 2)  # identical patches: beta * mean(s) > 1 masks every entry but the diagonal
    assert torch.allclose(proxy_attention(same, 1.2, 3.0)[0], torch.eye(4))
    # the block: v of CLIP's 2 x 3 grid, upsampled bilinearly to the VFM's 4 x 6 grid, out_proj(A v); no residual
    last = clip.model.visual.transformer.resblocks[-1]
    x = torch.randn(1, 1 + 6, last.attn.embed_dim, generator=g)
    d = last.attn.embed_dim
    v = F.linear(last.ln_1(x)[0, 1:], last.attn.in_proj_weight[2 * d:], last.attn.in_proj_bias[2 * d:])
    v = F.interpolate(v.T.reshape(1, d, 2, 3), (4, 6), mode='bilinear', align_corners=False)[0].flatten(1).T
    assert torch.allclose(clip.proxy_block(last, x, (2, 3), feats)[0], last.attn.out_proj(want @ v), atol=1e-5)
    with pytest.raises(ValueError, match="attention='proxy'"):
        clip.dense_features(torch.zeros(1, 3, 32, 32), proxy=feats)


def test_proxyclip_reads_the_vfm_on_its_grid(tiny_clip):
    vfm = dict(type='TimmViTBackbone', **random_timm_vit())
    model = build(tiny_clip, type='ProxyCLIP', vfm=vfm, class_names=['background', 'circle'],
                  clip=dict(type='OpenCLIPBackbone', **dict(tiny_clip, short_side=None), attention='proxy'))
    assert model.pad_multiple == math.lcm(model.clip.patch_size, model.vfm.patch_size)
    x = torch.rand(1, 3, 44, 60, generator=torch.Generator().manual_seed(0)) * 2 - 1  # padded to 48 x 64
    dense = model.dense_features(F.pad(x, (2, 2, 2, 2)))
    assert dense.shape[2:] == model.vfm.dense_features(torch.zeros(1, 3, 48, 64)).shape[2:]  # the VFM's grid
    assert model.encode_decode(x, [{}]).shape == (1, 2, 44, 60)
    with pytest.raises(ValueError, match="attention='proxy'"):
        build(tiny_clip, type='ProxyCLIP', vfm=vfm, class_names=['a'])
    # ProxyCLIP's 56 with patch sizes that do not divide it (CLIP ViT-B/16 and DINO ViT-B/8 in its configs): each
    # model floors its grid, the logits cover the padded crop
    odd = build(tiny_clip, type='ProxyCLIP', vfm=vfm, pad_multiple=12, class_names=['background', 'circle'],
                clip=dict(type='OpenCLIPBackbone', **dict(tiny_clip, short_side=None), attention='proxy'))
    assert 12 % odd.clip.patch_size and 12 % odd.vfm.patch_size
    assert odd.vfm.dense_features(torch.zeros(1, 3, 36, 60)).shape[2:] == (36 // 8, 60 // 8)
    assert odd.encode_decode(x, [{}]).shape == (1, 2, 44, 60)
    with pytest.raises(ValueError, match='pad_multiple must be a positive'):
        build(tiny_clip, type='ProxyCLIP', vfm=vfm, pad_multiple=0,
              clip=dict(type='OpenCLIPBackbone', **dict(tiny_clip, short_side=None), attention='proxy'))


def dense_pamr(image, masks, steps, dilations):
    """PAMR written pixel by pixel: softmax over dilated neighbours of -|I(p)-I(q)| / (0.1 std over p's windows)."""
    _, c, h, w = image.shape
    offs = [(dy, dx) for dy in (-1, 0, 1) for dx in (-1, 0, 1) if (dy, dx) != (0, 0)]
    clamp = (lambda y, x: (min(max(y, 0), h - 1), min(max(x, 0), w - 1)))
    weights = np.zeros((h, w, len(dilations) * 8))
    img = image[0].numpy()
    for y in range(h):
        for x in range(w):
            logits = np.zeros((c, len(dilations) * 8))
            for ch in range(c):
                window = [img[ch][clamp(y + d * dy, x + d * dx)] for d in dilations
                          for dy in (-1, 0, 1) for dx in (-1, 0, 1)]
                std = np.std(window, ddof=1)
                nbrs = [img[ch][clamp(y + d * dy, x + d * dx)] for d in dilations for dy, dx in offs]
                logits[ch] = -np.abs(img[ch, y, x] - np.array(nbrs)) / (1e-8 + 0.1 * std)
            z = logits.mean(0)
            weights[y, x] = np.exp(z - z.max()) / np.exp(z - z.max()).sum()
    m = masks[0].numpy().copy()
    for _ in range(steps):
        new = np.zeros_like(m)
        for y in range(h):
            for x in range(w):
                nbrs = [m[:, clamp(y + d * dy, x + d * dx)[0], clamp(y + d * dy, x + d * dx)[1]]
                        for d in dilations for dy, dx in offs]
                new[:, y, x] = (np.stack(nbrs, 1) * weights[y, x]).sum(1)
        m = new
    return m


def test_pamr_matches_a_pixel_by_pixel_reference():
    g = torch.Generator().manual_seed(0)
    image, masks = torch.rand(1, 3, 6, 7, generator=g) * 2 - 1, torch.rand(1, 2, 6, 7, generator=g)
    out = pamr(image, masks, steps=2, dilations=(1, 2))
    assert np.allclose(out[0].numpy(), dense_pamr(image.double(), masks.double(), 2, (1, 2)), atol=1e-5)
    constant = pamr(image, torch.full((1, 2, 6, 7), 0.3), steps=3, dilations=(1, 2))
    assert torch.allclose(constant, torch.full_like(constant, 0.3), atol=1e-6)  # weights are an average
    # invariant to a per-channel affine change of the image (CLIP's normalisation or [-1, 1] give one result)
    rescaled = pamr(image * torch.tensor([2.0, 0.5, 3.0]).view(1, 3, 1, 1) + 0.7, masks, steps=2, dilations=(1, 2))
    assert torch.allclose(rescaled, out, atol=1e-5)


def build(tiny_clip, **kw):
    clip = dict(type='OpenCLIPBackbone', **dict(tiny_clip, short_side=None))
    return MODELS.build(dict(dict(type='OpenVocabCLIP', clip=clip, templates=['a photo of a {}.']), **kw))


def test_scores_softmax_over_names_max_over_synonyms_area_and_background(tiny_clip):
    model = build(tiny_clip, class_names=[['background', 'sky'], ['circle'], ['square', 'box']], logit_scale=10.0,
                  area_thd=0.3)
    assert model.queries()[1].tolist() == [0, 0, 1, 2, 2]
    logits = torch.tensor([[0.9, 0.1, 0.1, 0.1], [0.1, 0.1, 0.1, 0.1], [0.1, 0.1, 0.1, 0.9],
                           [0.1, 0.9, 0.2, 0.1], [0.1, 0.1, 0.1, 0.1]]).view(5, 1, 4)
    probs = torch.softmax(10 * logits, 0)
    want = torch.stack([probs[:2].max(0)[0], probs[2], probs[3:].max(0)[0]])
    # argmax: background, square, square, circle; circle has 1 of 3 non-background pixels (> 0.3): kept
    assert torch.allclose(model.scores(logits), want, atol=1e-6)
    model.area_thd = 0.4  # now circle's area is too small: its scores are zeroed
    assert torch.allclose(model.scores(logits), want * torch.tensor([1.0, 0.0, 1.0]).view(3, 1, 1), atol=1e-6)


def test_predict_pads_to_the_patch_grid_and_thresholds_to_background(tiny_clip):
    model = build(tiny_clip, class_names=['background', 'circle', 'square'], prob_thd=0.99,
                  test_cfg=dict(mode='slide', crop_size=(32, 48), stride=(16, 24)))
    x = torch.rand(1, 3, 50, 70, generator=torch.Generator().manual_seed(0)) * 2 - 1
    logits = model.encode_decode(x, [{}])
    assert logits.shape == (1, 3, 50, 70)
    meta = dict(ori_shape=(60, 80), img_shape=(50, 70), padding_size=[0, 0, 0, 0])
    from mmseg.structures import SegDataSample
    [sample] = model.predict(x, [SegDataSample(metainfo=meta)])
    assert sample.pred_sem_seg.data.shape == (1, 60, 80) and sample.seg_logits.data.shape == (3, 60, 80)
    low = sample.seg_logits.data.max(0)[0] < 0.99
    assert low.any() and (sample.pred_sem_seg.data[0][low] == 0).all()  # a tiny random CLIP is never that sure
    model.prob_thd = 0.0
    [plain] = model.predict(x, [SegDataSample(metainfo=meta)])
    assert torch.equal(plain.pred_sem_seg.data[0], plain.seg_logits.data.argmax(0))


def test_bad_fields_are_named(tiny_clip):
    with pytest.raises(ValueError, match="'imagenet'"):
        build(tiny_clip, templates='imagenet')
    with pytest.raises(ValueError, match='logit_scale'):
        build(tiny_clip, logit_scale=0)
    with pytest.raises(ValueError, match='OpenCLIPBackbone.attention'):
        OpenCLIPBackbone(**dict(tiny_clip, attention='cs'))
    with pytest.raises(RuntimeError, match='no vocabulary'):
        build(tiny_clip).queries()


# SCLIP's and NACLIP's files; ClearCLIP's and ProxyCLIP's differ for some
FAMILY_NAMES = {'voc21': 21, 'voc20': 20, 'context60': 60, 'context59': 59, 'coco_object': 81, 'coco_stuff': 171,
                'cityscapes': 19, 'ade20k': 150}


def test_the_familys_class_name_files():
    folder = osp.dirname(resolve_config('_base_/classnames/sclip/voc21.txt'))
    assert {osp.basename(p)[:-4] for p in glob.glob(osp.join(folder, '*.txt'))} == set(FAMILY_NAMES)
    for name, n in FAMILY_NAMES.items():
        assert len(read_class_name_file(osp.join(folder, f'{name}.txt'))) == n, name
    sclip, clear = (read_class_name_file(resolve_config(f'_base_/classnames/{m}/voc21.txt'))
                    for m in ('sclip', 'clearclip'))
    assert len(sclip[0]) == 26 and 'sky' in sclip[0] and clear[0] == ['background']  # VOC's background words
    assert 'tv monitor' in sclip[20] and clear[20] == ['tvmonitor']
    proxy = read_class_name_file(resolve_config('_base_/classnames/proxyclip/voc21.txt'))
    assert proxy[0] == ['; '.join(sclip[0])] and proxy[1:] == clear[1:]  # ProxyCLIP: one query, words joined by ';'


@pytest.mark.parametrize('config,fixture,root,side', [
    ('sclip_voc21.py', 'pascal_voc12', 'VOCdevkit/VOC2012', 336),
    ('clearclip_cityscapes.py', 'cityscapes', 'cityscapes', 448)])
def test_protocol_resizes_the_image_and_keeps_the_labels(config, fixture, root, side, tmp_path):
    write_benchmark_fixture(fixture, str(tmp_path))
    ds_cfg = Config.fromfile(osp.join(REPO, 'configs', config)).test_dataloader.dataset
    item = DATASETS.build(dict(ds_cfg, data_root=str(tmp_path / root)))[0]
    original = np.array(Image.open(item['data_samples'].img_path)).shape[:2]
    assert min(item['inputs'].shape[1:]) == side
    assert tuple(item['data_samples'].gt_sem_seg.shape) == original == tuple(item['data_samples'].ori_shape)


@pytest.mark.parametrize('config,fixture,extra', [
    ('sclip_voc21.py', 'pascal_voc12', []),                      # slide crops, area rule, background words
    ('naclip_voc21.py', 'pascal_voc12', ['model.pamr_steps=2']),  # whole image, neighbourhood attention, PAMR
    ('gem_ovss_coco_object.py', 'coco_object',                    # GEM's backbone, background by threshold
     ['model.test_cfg.crop_size=[224,224]', 'model.test_cfg.stride=[224,224]']),
    ('proxyclip_cityscapes.py', 'cityscapes', []),               # a VFM's proxy attention, slide 224 / 112
])
def test_configs_run_through_tools_test_with_out(config, fixture, extra, tiny_clip, tmp_path, monkeypatch):
    write_benchmark_fixture(fixture, str(tmp_path / 'data'))
    monkeypatch.chdir(tmp_path)
    options = [f'model.clip.{k}={v}' for k, v in tiny_clip.items() if k != 'short_side']
    if config.startswith('gem'):
        options.append('model.clip.gem_depth=2')
    if config.startswith('proxyclip'):
        vfm = random_timm_vit()
        options += [f"model.vfm.model_name={vfm['model_name']}", f"model.vfm.checkpoint={vfm['checkpoint']}",
                    *(f'model.vfm.model_kwargs.{k}={v}' for k, v in vfm['model_kwargs'].items())]
    options += extra
    out = tmp_path / 'out'
    metrics = load_test_tool().main([osp.join(REPO, 'configs', config), '--work-dir', str(tmp_path / 'wd'),
                                     '--out', str(out), '--cfg-options', *options])
    assert {'aAcc', 'mIoU', 'mAcc'} <= set(metrics) and 0 <= metrics['mIoU'] <= 100
    pngs = glob.glob(str(out / '*.png'))
    assert pngs and all(np.array(Image.open(p)).ndim == 2 for p in pngs)
