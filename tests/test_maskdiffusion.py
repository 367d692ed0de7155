"""MaskDiffusion: the math on hand-made tensors, prompts, and the end-to-end forward on a tiny SD."""
import pytest
import torch
import torch.nn.functional as F
from conftest import maskdiffusion_cfg

from mmseg_trainfree.models.segmentors.maskdiffusion import (assign_classes, class_prototypes, internal_features,
                                                             normalize_maps, spatial_shape)
from mmseg_trainfree.models.utils import pack_prompts
from mmseg_trainfree.registry import MODELS


def test_prototypes_are_weighted_means():
    f = torch.tensor([[1., 0.], [0., 1.], [1., 1.], [3., 0.]]).T.reshape(1, 2, 2, 2)  # 4 pixels, D=2
    a = torch.tensor([[1., 0., 0., 1.], [0., 2., 2., 0.]]).reshape(1, 2, 2, 2)
    protos = class_prototypes(f, a)
    torch.testing.assert_close(protos[0, 0], torch.tensor([2., 0.]))  # (1*[1,0] + 1*[3,0]) / 2
    torch.testing.assert_close(protos[0, 1], torch.tensor([.5, 1.]))  # (2*[0,1] + 2*[1,1]) / 4


def test_assignment_is_cosine_argmax():
    f = torch.tensor([[2., 0.1], [0.1, 5.], [1., 1.2]]).T.reshape(1, 2, 1, 3)
    protos = torch.tensor([[[10., 0.], [0., 0.1]]])
    logits = assign_classes(f, protos)
    assert logits.argmax(1).flatten().tolist() == [0, 1, 1]
    torch.testing.assert_close(logits[0, :, 0, 0], F.cosine_similarity(f[0, :, 0, :1].T, protos[0], dim=-1))


def test_known_segmentation_is_recovered():
    # features drawn around one direction per class; cross-attention a noisy version of the masks
    g = torch.Generator().manual_seed(0)
    labels = torch.randint(0, 3, (1, 16, 16), generator=g)
    dirs = torch.randn(3, 8, generator=g)
    f = dirs[labels].permute(0, 3, 1, 2) + 0.3 * torch.randn(1, 8, 16, 16, generator=g)
    masks = F.one_hot(labels, 3).permute(0, 3, 1, 2).float()
    ca = normalize_maps(masks + 0.4 * torch.rand(1, 3, 16, 16, generator=g), 'minmax')
    pred = assign_classes(f, class_prototypes(f, ca)).argmax(1)
    assert (pred == labels).float().mean() > 0.95


def test_internal_features_normalised_and_resized():
    maps = [torch.randn(2, 5, 2, 2), torch.randn(2, 3, 4, 4)]
    f = internal_features(maps, (4, 4))
    assert f.shape == (2, 8, 4, 4)
    torch.testing.assert_close(f.norm(dim=1), torch.ones(2, 4, 4))
    # each layer contributes equally: per-layer parts have norm 1/sqrt(2)
    torch.testing.assert_close(f[:, 5:].norm(dim=1), torch.full((2, 4, 4), 0.5 ** 0.5))


def test_normalize_maps():
    m = torch.tensor([[[[1., 3.], [2., 5.]]]])
    torch.testing.assert_close(normalize_maps(m, 'minmax').flatten(), torch.tensor([0., .5, .25, 1.]))
    torch.testing.assert_close(normalize_maps(m, 'max').flatten(), torch.tensor([.2, .6, .4, 1.]))
    assert torch.equal(normalize_maps(m, 'none'), m)


def test_spatial_shape():
    assert spatial_shape(16 * 24, (64, 96)) == (16, 24)
    assert spatial_shape(4 * 6, (64, 96)) == (4, 6)
    with pytest.raises(ValueError):
        spatial_shape(7, (64, 96))


def test_pack_prompts_spans_and_splitting(backbone):
    tok = backbone.tokenizer
    names = ['dining table', 'cat', 'tv monitor']
    [p] = pack_prompts(tok, names, ' and ')
    for i, name in enumerate(names):
        assert tok.decode(p.input_ids[p.spans[i]]).strip() == name
    assert tok.decode(p.input_ids[:12], skip_special_tokens=True).strip() == 'dining table and cat and tv monitor'
    many = [f'{a} {b}' for a in ('red', 'green', 'blue', 'small', 'large', 'old')
            for b in ('car', 'tree', 'house', 'dog', 'chair', 'road', 'boat', 'sky', 'lamp', 'bird')]
    packed = pack_prompts(tok, many, ' and ', prefix='a photo of')
    assert len(packed) > 1
    seen = [i for p in packed for i in p.spans]
    assert seen == list(range(60))  # each name exactly once, in order, never split over prompts
    for p in packed:
        assert p.input_ids.shape == (77,) and p.input_ids[0] == tok.bos_token_id
        for i, span in p.spans.items():
            assert tok.decode(p.input_ids[span]).strip() == many[i]
        assert tok.decode(p.input_ids[1:4]).strip() == 'a photo of'
    with pytest.raises(ValueError, match='more than one prompt'):
        pack_prompts(tok, ['word ' * 80])


def test_forward_shapes_and_determinism(tiny_sd):
    model = MODELS.build(maskdiffusion_cfg(tiny_sd))
    x = torch.rand(2, 3, 48, 80) * 2 - 1
    a = model.encode_decode(x, [{}] * 2)
    b = model.encode_decode(x, [{}] * 2)
    assert a.shape == (2, 4, 48, 80)
    assert torch.equal(a, b)
    assert a.abs().max() <= 1 + 1e-5  # cosine similarities
    single = model.encode_decode(x[1:], [{}])
    torch.testing.assert_close(single, a[1:], rtol=1e-4, atol=1e-5)  # batching does not mix images


@pytest.mark.parametrize('variant', [dict(cross_attn_map='exp', cross_attn_norm='max'),
                                     dict(cross_attn_map='softmax'), dict(timestep=0, add_noise=False)])
def test_config_variants_run(tiny_sd, variant):
    model = MODELS.build(maskdiffusion_cfg(tiny_sd, **variant))
    out = model.encode_decode(torch.rand(1, 3, 64, 64) * 2 - 1, [{}])
    assert out.shape == (1, 4, 64, 64) and torch.isfinite(out).all()


def test_long_vocabulary_is_split_over_prompts(tiny_sd):
    model = MODELS.build(maskdiffusion_cfg(tiny_sd, class_names='mmseg_trainfree::_base_/classnames/cocostuff171.txt'))
    packed, entry_class, _ = model.prompts()
    assert len(packed) >= 2 and model.num_classes == 171
    before = model.backbone.unet_evaluations
    out = model.encode_decode(torch.rand(1, 3, 64, 64) * 2 - 1, [{}])
    assert out.shape == (1, 171, 64, 64)
    assert model.backbone.unet_evaluations - before == len(packed)  # one batched pass, one row per prompt


def test_synonyms_average_their_maps(tiny_sd):
    model = MODELS.build(maskdiffusion_cfg(tiny_sd, class_names=[['cat', 'kitten'], 'dog']))
    packed, entry_class, _ = model.prompts()
    assert entry_class.tolist() == [0, 0, 1] and len(packed[0].spans) == 3
    assert model.encode_decode(torch.rand(1, 3, 64, 64), [{}]).shape[1] == 2


def test_invalid_options(tiny_sd):
    with pytest.raises(ValueError, match='cross_attn_map'):
        MODELS.build(maskdiffusion_cfg(tiny_sd, cross_attn_map='relu'))
    with pytest.raises(ValueError, match='cross_attn_norm'):
        MODELS.build(maskdiffusion_cfg(tiny_sd, cross_attn_norm='zscore'))


def test_merge_synonyms_averages_per_class():
    from mmseg_trainfree.models.segmentors.maskdiffusion import merge_synonyms
    maps = torch.arange(4.).view(1, 4, 1, 1).expand(1, 4, 2, 2)
    merged = merge_synonyms(maps, torch.tensor([0, 0, 1, 2]), 3)
    assert merged[0, :, 0, 0].tolist() == [0.5, 2.0, 3.0]


def test_each_class_map_comes_from_exactly_its_own_tokens(tiny_sd):
    """A prompt of several multi-token names through a real UNet pass: the map cross_attention_maps gives each
    entry equals the mean over exactly that name's token columns of the recorded scores, and those columns
    decode back to the name."""
    from mmseg_trainfree.models.attention import AttentionRecorder, attention_hooks
    names = ['potted plant', 'tv monitor', 'cat', 'dining table', 'traffic light']
    model = MODELS.build(maskdiffusion_cfg(tiny_sd, class_names=names, cross_attn_layers=['up_blocks.3.*attn2']))
    packed, _, key_index = model.prompts()
    tokenizer = model.backbone.tokenizer
    assert [tokenizer.decode(packed[0].input_ids[toks]) for toks in packed[0].spans.values()] == names
    latents = torch.randn(1, 4, 8, 8, generator=torch.Generator().manual_seed(0))
    text = model.backbone.encode_token_ids(torch.stack([p.input_ids for p in packed]))
    subset = AttentionRecorder(model.cross_attn_layers, 'scores', head_mean=False, key_index=key_index)
    full = AttentionRecorder(model.cross_attn_layers, 'scores', head_mean=True)
    with torch.no_grad(), attention_hooks(model.backbone.unet, [subset, full]):
        model.backbone.unet_forward(latents, 1, text)
    maps = model.cross_attention_maps(subset['scores'], packed, key_index, 1, (8, 8), (8, 8))
    for entry, toks in packed[0].spans.items():
        # full['scores'][layer] is one (1, 64, 77) map per call: every token column, heads averaged
        expected = sum(s[0][:, toks].mean(-1).view(8, 8) for (s,) in full['scores'].values()) / len(full['scores'])
        assert torch.allclose(maps[0, entry], expected, atol=1e-5), names[entry]
        shifted = sum(s[0][:, [t + 1 for t in toks]].mean(-1).view(8, 8) for (s,) in full['scores'].values())
        assert not torch.allclose(maps[0, entry], shifted / len(full['scores']), atol=1e-3)


def test_image_scope_takes_each_crops_window_of_the_whole_images_weights(tiny_sd):
    """Slide mode with cross_attn_scope='image' (official code): one pass on the whole image resized gives the
    class weights; each crop's logits are its own features' prototypes under its window of those weights."""
    slide = dict(mode='slide', crop_size=(64, 64), stride=(64, 64))
    kw = dict(image_size=None, cross_attn_map='exp', cross_attn_norm='max', test_cfg=slide)
    image = MODELS.build(maskdiffusion_cfg(tiny_sd, cross_attn_scope='image', image_attention_size=(64, 64), **kw))
    own = MODELS.build(maskdiffusion_cfg(tiny_sd, **kw))
    image.set_vocabulary(['background', 'disc', 'square', 'triangle'])
    own.set_vocabulary(['background', 'disc', 'square', 'triangle'])
    x = torch.rand(1, 3, 64, 128, generator=torch.Generator().manual_seed(0)) * 2 - 1
    metas = [dict(img_shape=(64, 128), ori_shape=(64, 128))]
    with torch.no_grad():
        got = image.inference(x, metas)
        weights = image.features_and_weights(F.interpolate(x, (64, 64), mode='bilinear', align_corners=False))[1]
        weights = F.interpolate(weights, (64, 128), mode='bilinear', align_corners=False)
        for x1 in (0, 64):
            features = image.features_and_weights(x[..., x1:x1 + 64])[0]
            window = F.interpolate(weights[..., x1:x1 + 64], features.shape[2:], mode='bilinear', align_corners=False)
            expected = F.interpolate(assign_classes(features, class_prototypes(features, window)), (64, 64),
                                     mode='bilinear', align_corners=False)
            assert torch.allclose(got[..., x1:x1 + 64], expected, atol=1e-5)
        assert not torch.allclose(got, own.inference(x, metas), atol=1e-3)
        whole = dict(kw, test_cfg=dict(mode='whole'), image_size=(64, 64))
        a = MODELS.build(maskdiffusion_cfg(tiny_sd, cross_attn_scope='image', **whole))
        b = MODELS.build(maskdiffusion_cfg(tiny_sd, **whole))
        assert torch.equal(a.inference(x, metas), b.inference(x, metas))  # whole mode: one scope
    with pytest.raises(ValueError, match='cross_attn_scope'):
        MODELS.build(maskdiffusion_cfg(tiny_sd, cross_attn_scope='tile'))


def test_official_cityscapes_config_runs_through_tools_test(tmp_path, tiny_sd, monkeypatch):
    """The official-code variant on a Cityscapes-layout copy: slide crops with the whole image's weights, the
    official prompts ("light", "sign") and its scoring at 256 x 352, labels resized by PIL's nearest rule."""
    import os.path as osp

    import numpy as np
    from conftest import REPO, load_test_tool
    from mmengine.config import Config
    from PIL import Image

    from mmseg_trainfree.registry import DATASETS
    from mmseg_trainfree.testing import write_benchmark_fixture
    expected = write_benchmark_fixture('cityscapes', str(tmp_path / 'data'))
    monkeypatch.chdir(tmp_path)
    cfg = Config.fromfile(osp.join(REPO, 'configs/maskdiffusion_cityscapes_official.py'))
    names = open(cfg.model.class_names.replace('mmseg_trainfree::', osp.join(REPO, 'configs/'))).read().split('\n')
    assert names[6:8] == ['light', 'sign']
    sample = DATASETS.build(cfg.test_dataloader.dataset)[0]['data_samples']
    [label] = expected.values()
    pil = np.asarray(Image.fromarray(np.where(label < 0, 255, label).astype(np.uint8)).resize((352, 256),
                                                                                            Image.NEAREST))
    assert sample.ori_shape == (256, 352) and np.array_equal(sample.gt_sem_seg.data[0].numpy(), pil)
    from mmseg_trainfree.datasets import ResizeTo
    for shape in ((37, 53), (999, 1501)):  # PIL's nearest rule (pixel centres), up and down
        rnd = np.random.default_rng(0).integers(0, 19, shape).astype(np.uint8)
        out = ResizeTo((256, 352)).transform(dict(img=np.zeros((*shape, 3), np.uint8), gt_seg_map=rnd,
                                                  seg_fields=['gt_seg_map']))
        assert np.array_equal(out['gt_seg_map'], np.asarray(Image.fromarray(rnd).resize((352, 256), Image.NEAREST)))
    metrics = load_test_tool().main([osp.join(REPO, 'configs/maskdiffusion_cityscapes_official.py'), '--work-dir',
                                     'wd', '--cfg-options', f'model.backbone.model_id={tiny_sd}',
                                     'model.backbone.dtype=float32', 'model.image_attention_size=[64,64]',
                                     'model.test_cfg.crop_size=[512,512]', 'model.test_cfg.stride=[512,512]',
                                     'model.image_size=[64,64]'])  # 8 crops of the 1024 x 2048 resize, 64 px each
    assert 0 <= metrics['mIoU'] <= 100
