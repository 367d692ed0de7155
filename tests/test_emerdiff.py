"""EmerDiff: the inversion, the batched modulated denoising against the per-branch loop, attention
injection, what modulation does on a tiny random model, and its mask-embedding metrics."""
import itertools

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from mmseg_trainfree.evaluation import class_concepts, traditional_concepts
from mmseg_trainfree.models.attention import ReferenceAttention, attention_hooks
from mmseg_trainfree.models.segmentors.emerdiff import difference_maps, gaussian_blur, input_size
from mmseg_trainfree.models.utils import kmeans
from mmseg_trainfree.models.utils.ddpm_inversion import DDPMSchedule, denoise_step, invert
from mmseg_trainfree.registry import METRICS, MODELS


def emerdiff(model_id, **kw):
    cfg = dict(type='EmerDiff', backbone=dict(type='StableDiffusionBackbone', model_id=model_id, dtype='float32'),
               num_masks=4, pixels=128 * 128, max_batch=9)
    cfg.update(kw)
    return MODELS.build(cfg)


def test_input_size_keeps_aspect_and_rounds_up_to_64():
    assert input_size(512, 512) == (512, 512)
    assert input_size(375, 500) == (448, 640)  # 512^2 pixels at 3:4, each side rounded up
    assert input_size(1024, 2048) == (384, 768)


@pytest.mark.parametrize('t_start', [281, 981])
def test_inversion_then_denoising_reproduces_the_latents(backbone, t_start):
    schedule = DDPMSchedule.from_scheduler(backbone.scheduler, 50)
    assert schedule.timesteps[:2] == [981, 961] and schedule.timesteps[-1] == 1
    x0 = torch.randn(1, 4, 8, 8, generator=torch.Generator().manual_seed(0))
    text = backbone.encode_prompts([''])
    with torch.no_grad():
        inv = invert(lambda x, t: backbone.unet_forward(x, t, text), x0, schedule, t_start,
                     torch.Generator().manual_seed(1))
        x = inv.latents[t_start]
        for t in schedule.steps_from(t_start):
            x = denoise_step(schedule, x, backbone.unet_forward(x, t, text), t, inv.noise_maps[t])
            assert torch.allclose(x, inv.latents.get(schedule.prev(t), x0), atol=1e-4)
    assert len(inv.noise_maps) == len(schedule.steps_from(t_start)) and torch.allclose(x, x0, atol=1e-4)
    with pytest.raises(ValueError, match='not on the 50-step grid'):
        schedule.steps_from(280)


def test_reference_attention_leaves_the_reference_row_unchanged(backbone):
    g = torch.Generator().manual_seed(0)
    x = torch.randn(3, 4, 8, 8, generator=g)
    text = backbone.encode_prompts([''])
    with torch.no_grad():
        plain = backbone.unet_forward(x[:1], 21, text)
        with attention_hooks(backbone.unet, [ReferenceAttention()]):
            injected = backbone.unet_forward(x, 21, text)
            same = backbone.unet_forward(x[:1].expand(3, -1, -1, -1), 21, text)
    assert torch.allclose(injected[0], plain[0], atol=1e-5)
    assert torch.allclose(same, plain.expand(3, -1, -1, -1), atol=1e-5)
    assert not torch.allclose(injected[1], plain[0], atol=1e-3)


def test_batched_branches_equal_the_per_branch_loop(tiny_sd):
    x = torch.rand(1, 3, 100, 140, generator=torch.Generator().manual_seed(0)) * 2 - 1
    batched, loop = emerdiff(tiny_sd), emerdiff(tiny_sd, max_batch=2)
    with torch.no_grad():
        (sb, eb), (sl, el) = batched.segment(x), loop.segment(x)
    assert sb.shape == (4, 100, 140) and eb.shape[0] == 4
    assert torch.allclose(sb, sl, atol=1e-4) and torch.allclose(eb, el)
    assert batched.branch_steps == loop.branch_steps == 2 * 4 * 15  # 2K branches x 15 steps
    assert batched.backbone.unet_calls == 15 + 15 and loop.backbone.unet_calls == 15 + 8 * 15


@pytest.mark.parametrize('injection', [True, False])
def test_zero_strength_branches_end_at_the_inversions_x0(tiny_sd, injection):
    """lambda = 0: each branch's final latent is the inverted x_0 (with or without attention injection), and
    the difference maps vanish."""
    model = emerdiff(tiny_sd, modulation_strength=0.0, gaussian_sigma=0, attention_injection=injection)
    x = torch.rand(1, 3, 128, 128, generator=torch.Generator().manual_seed(0)) * 2 - 1
    with torch.no_grad():
        x0 = model.backbone.encode_images(x).float()
        text = model.backbone.encode_prompts([''])
        inversion, queries = model.invert_and_record(x0, text, torch.Generator().manual_seed(0))
        labels = model.low_resolution_masks(queries[1, model.feature_layer], tuple(x0.shape[2:]))
        masks = F.one_hot(labels, int(labels.max()) + 1).permute(2, 0, 1).float()
        finals = model.modulated_denoising(inversion, text, masks)
        scores, _ = model.segment(x)
    assert finals.shape[0] == 2 * masks.shape[0]
    assert torch.allclose(finals, x0.expand_as(finals), atol=1e-4)
    assert scores.abs().max() < 1e-4


def test_inversion_steps_are_diffusers_ddim_with_eta_1(backbone):
    """Every step of the 50-step grid: mu_t + sigma_t z equals DDIMScheduler.step(eta=1, variance_noise=z)."""
    from diffusers import DDIMScheduler
    ddim = DDIMScheduler.from_config(backbone.scheduler.config, clip_sample=False)  # SD's configs: no clipping
    ddim.set_timesteps(50)
    schedule = DDPMSchedule.from_scheduler(backbone.scheduler, 50)
    assert schedule.timesteps == [int(t) for t in ddim.timesteps]
    g = torch.Generator().manual_seed(0)
    for t in schedule.timesteps:
        x_t, eps, z = (torch.randn(1, 4, 8, 8, generator=g, dtype=torch.float64) for _ in range(3))
        ours = denoise_step(schedule, x_t, eps, t, z)
        theirs = ddim.step(eps, t, x_t, eta=1.0, variance_noise=z).prev_sample
        assert torch.allclose(ours, theirs.to(ours), atol=1e-6), t


def test_a_branch_uses_the_reference_rows_attention(tiny_sd):
    """One batched call [reference, modulated branch] under ReferenceAttention equals an independent run: record
    every layer's probabilities of the unmodulated input, then run the modulated input alone with them injected."""
    from mmseg_trainfree.models.attention import AttentionInjector, AttentionRecorder, OutputModulator
    model = emerdiff(tiny_sd)
    unet, layer = model.backbone.unet, model.modulated_layer
    g = torch.Generator().manual_seed(0)
    x, text = torch.randn(1, 4, 8, 8, generator=g), model.backbone.encode_prompts([''])
    mask = (torch.rand(1, 4, generator=g) > 0.5).float()  # the 2 x 2 positions of the modulated layer
    with torch.no_grad():
        recorder = AttentionRecorder('*', 'probs', head_mean=False)
        with attention_hooks(unet, [recorder]):
            model.backbone.unet_forward(x, 281, text)
        injected = [AttentionInjector(recorder['probs']), OutputModulator(layer, mask, 10.0)]
        with attention_hooks(unet, injected):
            independent = model.backbone.unet_forward(x, 281, text)
        rows = [OutputModulator(layer, torch.cat([torch.zeros_like(mask), mask]), torch.tensor([0.0, 10.0])),
                ReferenceAttention(['*'])]
        with attention_hooks(unet, rows):
            batched = model.backbone.unet_forward(x.expand(2, -1, -1, -1), 281, text.expand(2, -1, -1))
        with attention_hooks(unet, [OutputModulator(layer, mask, 10.0)]):
            own = model.backbone.unet_forward(x, 281, text)  # the branch with its own attention
    assert torch.allclose(batched[1], independent[0], atol=1e-5)
    assert not torch.allclose(own, independent, atol=1e-4)


def test_fp16_unet_with_fp32_vae_segments_as_fp32_does():
    """End to end on the trained tiny SD (whose masks are stable): the fp16 UNet / fp32 VAE run gives finite
    scores whose segments agree with the all-fp32 run (99.4 % of the pixels after matching the mask ids,
    measured; a VAE decoding fp16 latents without casting, or an fp16 modulation overflowing, breaks it)."""
    from scipy.optimize import linear_sum_assignment

    from mmseg_trainfree.datasets.shapes import draw_shapes_sample
    from mmseg_trainfree.testing import trained_stable_diffusion
    sd = trained_stable_diffusion()
    image, _ = draw_shapes_sample(np.random.default_rng(7), 128, 128)
    x = torch.from_numpy(image).permute(2, 0, 1)[None].float() / 127.5 - 1
    meta = [dict(ori_shape=(128, 128), img_shape=(128, 128))]
    scores = {}
    for dtype in ('float32', 'float16'):
        model = emerdiff(sd, backbone=dict(type='StableDiffusionBackbone', model_id=sd, dtype=dtype),
                         modulation_strength=400.0)
        assert model.backbone.vae.dtype == torch.float32 and model.backbone.unet.dtype == getattr(torch, dtype)
        with torch.no_grad():
            scores[dtype] = model.inference(x, meta)
    assert torch.isfinite(scores['float16']).all()
    a, b = (scores[d].argmax(1)[0].numpy().ravel() for d in ('float32', 'float16'))
    conf = np.zeros((4, 4))
    np.add.at(conf, (a, b), 1)
    rows, cols = linear_sum_assignment(-conf)
    assert conf[rows, cols].sum() / a.size >= 0.95


def test_an_unknown_vae_dtype_is_refused(tiny_sd):
    with pytest.raises(ValueError, match='dtype'):
        emerdiff(tiny_sd, vae_dtype='float8')


def test_difference_maps_are_largest_inside_their_masks(tiny_sd):
    """With random weights this holds for most masks, not all: assert that much (measured 5-6 of 6 at 256 px)."""
    model = emerdiff(tiny_sd, num_masks=6, pixels=256 * 256, max_batch=13, gaussian_sigma=0)
    x = torch.rand(1, 3, 256, 256, generator=torch.Generator().manual_seed(0)) * 2 - 1
    with torch.no_grad():
        x0 = model.backbone.encode_images(x)
        text = model.backbone.encode_prompts([''])
        inversion, queries = model.invert_and_record(x0, text, torch.Generator().manual_seed(0))
        labels = model.low_resolution_masks(queries[1, model.feature_layer], tuple(x0.shape[2:]))
        masks = F.one_hot(labels, int(labels.max()) + 1).permute(2, 0, 1).float()
        images = model.decode(model.modulated_denoising(inversion, text, masks))
    d = difference_maps(images[1::2], images[0::2])
    region = F.interpolate(masks[None], d.shape[1:], mode='nearest')[0]
    inside = (d * region).sum((1, 2)) / region.sum((1, 2))
    outside = (d * (1 - region)).sum((1, 2)) / (1 - region).sum((1, 2))
    assert (inside > outside).sum() >= 5
    agreement = (d.argmax(0) == region.argmax(0)).float().mean()
    assert agreement > 1.5 / len(masks)  # twice chance was measured


def test_naive_upsample_and_blur(tiny_sd):
    model = emerdiff(tiny_sd, mode='naive_upsample')
    with torch.no_grad():
        scores, _ = model.segment(torch.zeros(1, 3, 64, 64))
    assert model.branch_steps == 0 and scores.shape == (4, 64, 64)
    assert model.backbone.unet_calls == 2  # the feature and embedding passes, no inversion
    maps = torch.zeros(1, 9, 9)
    maps[0, 4, 4] = 1
    blurred = gaussian_blur(maps, 1.0)
    assert abs(blurred.sum().item() - 1) < 1e-5 and blurred[0, 4, 4] == blurred.max()


def test_naive_upsample_has_emerdiffs_low_resolution_masks_and_embeddings(tiny_sd):
    """Table 2 pairs the SD row with EmerDiff: the same masks and embeddings for the same image and seed."""
    image = torch.rand(1, 3, 64, 64, generator=torch.Generator().manual_seed(0)) * 2 - 1
    outputs = {}
    for mode in ('emerdiff', 'naive_upsample'):
        model = emerdiff(tiny_sd, mode=mode)
        with torch.no_grad():
            x0 = model.backbone.encode_images(image).float()
            text = model.backbone.encode_prompts([''])
            _, queries = model.invert_and_record(x0, text, torch.Generator().manual_seed(0))
            _, embeddings = model.segment(image)
        outputs[mode] = (queries, embeddings)
    (q1, e1), (q2, e2) = outputs['emerdiff'], outputs['naive_upsample']
    assert sorted(q1) == sorted(q2) and all(torch.equal(q1[k], q2[k]) for k in q1)
    assert torch.equal(e1, e2)


def test_one_timestep_with_two_layers_records_both(tiny_sd):
    layer_a = 'up_blocks.1.attentions.0.transformer_blocks.0.attn2'
    layer_b = 'up_blocks.2.attentions.0.transformer_blocks.0.attn2'
    model = emerdiff(tiny_sd, feature_layer=layer_a, embedding_layer=layer_b, embedding_timestep=1)
    with torch.no_grad():
        x0 = model.backbone.encode_images(torch.zeros(1, 3, 64, 64)).float()
        _, queries = model.invert_and_record(x0, model.backbone.encode_prompts(['']), torch.Generator())
        _, embeddings = model.segment(torch.zeros(1, 3, 64, 64))
    assert {(1, layer_a), (1, layer_b)} <= set(queries)
    assert queries[1, layer_a].shape[0] * 4 == queries[1, layer_b].shape[0]  # 2 x 2 and 4 x 4 positions
    assert embeddings.shape[1] == queries[1, layer_b].shape[1]


@pytest.mark.parametrize('kw,match', [(dict(mode='fast'), 'mode'), (dict(max_batch=1), 'max_batch'),
                                      (dict(test_cfg=dict(mode='slide', crop_size=(64, 64), stride=(64, 64))),
                                       'whole'),
                                      (dict(modulation_position='inside'), 'modulation_position')])
def test_bad_configuration_is_named(tiny_sd, kw, match):
    with pytest.raises(ValueError, match=match):
        emerdiff(tiny_sd, **kw)


# Metrics --------------------------------------------------------------------------------------------
def random_masks(seed, n=4, k=3, classes=3, hw=(6, 7), dim=5):
    rng = np.random.default_rng(seed)
    out = []
    for _ in range(n):
        pred = rng.integers(0, k, hw)
        label = np.where(rng.random(hw) < 0.7, pred % classes, rng.integers(0, classes, hw))
        label[rng.random(hw) < 0.1] = 255
        out.append((pred, label, rng.normal(size=(k, dim))))
    return out


def run(protocol, images, classes=3, rank=0, world=1, **kw):
    metric = METRICS.build(dict(type='MaskEmbeddingIoUMetric', protocol=protocol, **kw))
    metric.dataset_meta = dict(classes=tuple('abcdefg'[:classes]))
    for pred, label, emb in images[rank::world]:
        metric.process({}, [dict(pred_sem_seg=dict(data=torch.from_numpy(pred)[None]),
                                 gt_sem_seg=dict(data=torch.from_numpy(label)[None]),
                                 mask_embeddings=torch.from_numpy(emb).float())])
    return metric.evaluate(len(images))


def miou(conf):
    tp = np.diag(conf)
    with np.errstate(invalid='ignore', divide='ignore'):
        return round(float(np.nanmean(tp / (conf.sum(0) + conf.sum(1) - tp))) * 100, 2)


@pytest.mark.parametrize('seed', range(5))
def test_modified_protocol_equals_pixel_level_computation(seed):
    images = random_masks(seed)
    pixels = np.concatenate([emb[pred][label != 255] for pred, label, emb in images]).astype(np.float32)
    labels = np.concatenate([label[label != 255] for _, label, _ in images])
    concepts = np.stack([pixels[labels == c].mean(0) for c in range(3)])
    unit = lambda a: a / np.linalg.norm(a, axis=1, keepdims=True)  # noqa: E731
    predicted = (unit(pixels) @ unit(concepts).T).argmax(1)
    conf = np.zeros((3, 3), int)
    np.add.at(conf, (predicted, labels), 1)
    assert run('modified', images)['mIoU'] == miou(conf)
    counts = [np.stack([np.bincount(l[(p == k) & (l != 255)], minlength=3) for k in range(3)]) for p, l, _ in images]
    assert np.allclose(class_concepts([e for *_, e in images], counts)[0], concepts, atol=1e-5)


def separated_masks(seed, k=3, dim=5):
    """:func:`random_masks` whose mask embeddings lie near k far-apart directions at random norms (mask j of an
    image near direction group[j]), so that k-means has one answer, known without running it: per direction, the
    pixel-count-weighted mean of its masks' embeddings. Returns (images, groups)."""
    rng = np.random.default_rng(seed + 100)
    images, groups = [], []
    for pred, label, _ in random_masks(seed, k=k, dim=dim):
        group = rng.permutation(k)
        emb = (4 * np.eye(dim)[group] + rng.normal(0, 0.1, (k, dim))) * rng.uniform(0.5, 2, (k, 1))
        images.append((pred, label, emb))
        groups.append(group)
    return images, groups


@pytest.mark.parametrize('distance', ['euclidean', 'cosine'])
@pytest.mark.parametrize('seed', range(5))
def test_traditional_protocol_equals_pixel_level_computation(seed, distance):
    """The concepts computed by hand (weighted means of each direction's masks, not by the code's k-means) equal
    the metric's, and its mIoU equals the pixel-level count with them and the best matching."""
    images, groups = separated_masks(seed)
    unit = lambda a: a / np.linalg.norm(a, axis=-1, keepdims=True)  # noqa: E731
    prepare = unit if distance == 'cosine' else (lambda a: a)
    sizes = [np.bincount(p.ravel(), minlength=3) for p, _, _ in images]
    centres = np.stack([sum(size[j] * prepare(emb)[j] for (_, _, emb), size, group in zip(images, sizes, groups)
                            for j in range(3) if group[j] == g)
                        / sum(size[j] for size, group in zip(sizes, groups) for j in range(3) if group[j] == g)
                        for g in range(3)])
    found = traditional_concepts([e for *_, e in images], sizes, 3, distance=distance, n_init=4)
    assert all(np.abs(found - c).max(1).min() < 1e-5 for c in centres)
    conf = np.zeros((3, 3), int)
    for pred, label, emb in images:
        pix = emb[pred][label != 255]
        if distance == 'cosine':
            cluster = (unit(pix) @ unit(centres).T).argmax(1)
        else:
            cluster = ((pix[:, None] - centres[None]) ** 2).sum(-1).argmin(1)
        np.add.at(conf, (cluster, label[label != 255]), 1)
    best = max(itertools.permutations(range(3)), key=lambda p: sum(conf[p[c], c] for c in range(3)))
    matched = np.stack([conf[best[c]] for c in range(3)])  # rows reordered so cluster best[c] is class c
    assert run('traditional', images, distance=distance, kmeans_inits=4)['mIoU'] == miou(matched)


def test_traditional_protocol_clusters_by_direction_under_the_cosine_distance():
    """Two classes along two directions, each at small and large norms: cosine k-means separates the
    directions (100 mIoU); Euclidean k-means splits by norm instead."""
    rng = np.random.default_rng(0)
    images = []
    for i in range(6):
        direction = np.eye(4)[i % 2] + rng.normal(0, 0.02, 4)
        scale = 1.0 if i < 3 else 10.0
        pred = np.zeros((4, 4), int)
        images.append((pred, np.full((4, 4), i % 2), (scale * direction)[None]))
    assert run('traditional', images, classes=2, distance='cosine')['mIoU'] == 100
    assert run('traditional', images, classes=2, distance='euclidean')['mIoU'] < 100


def test_more_initialisations_never_raise_the_inertia():
    from mmseg_trainfree.models.utils.clustering import kmeans_inertia
    x = torch.from_numpy(np.random.default_rng(0).normal(size=(200, 3))).float()
    single = [float(kmeans_inertia(x, *kmeans(x, 8, 50, seed))) for seed in range(6)]
    best = float(kmeans_inertia(x, *kmeans(x, 8, 50, 0, n_init=6)))
    assert best == pytest.approx(min(single)) and min(single) < max(single)
    with pytest.raises(ValueError, match='n_init'):
        kmeans(x, 2, n_init=0)


def test_weighted_kmeans_equals_kmeans_on_repeated_rows():
    g = torch.Generator().manual_seed(0)
    centres = torch.randn(3, 4, generator=g) * 5
    x = centres.repeat_interleave(4, 0) + 0.1 * torch.randn(12, 4, generator=g)
    w = torch.randint(1, 5, (12,), generator=g)
    a, ca = kmeans(x, 3, weights=w.float())
    b, cb = kmeans(x.repeat_interleave(w, 0), 3)
    assert torch.allclose(ca[ca[:, 0].argsort()], cb[cb[:, 0].argsort()], atol=1e-4)


def _split_run(protocol, rank, world):
    return run(protocol, random_masks(7, n=5), rank=rank, world=world)


@pytest.mark.parametrize('protocol', ['modified', 'traditional'])
def test_two_processes_equal_one(protocol, tmp_path):
    from functools import partial

    from conftest import run_distributed
    result = run_distributed(partial(_split_run, protocol), str(tmp_path / 'result.pt'))
    assert result == run(protocol, random_masks(7, n=5))


@pytest.mark.parametrize('config,size', [('emerdiff_cocostuff27_traditional.py', None),
                                         ('emerdiff_cocostuff27_traditional_crop320.py', (320, 320))])
def test_traditional_configs_score_their_resolution(config, size, tmp_path, tiny_sd, monkeypatch):
    """Both Table 1 variants run through tools/test.py on a COCO-Stuff-27 (full val2017) copy: one scores every
    image at its own size, the other STEGO's 320 centre crop."""
    import os.path as osp

    from conftest import REPO, load_test_tool

    from mmseg_trainfree.testing import write_benchmark_fixture
    write_benchmark_fixture('coco_stuff27_full', str(tmp_path / 'data'))
    monkeypatch.chdir(tmp_path)
    seen = []
    real = MODELS.get('EmerDiff').segment
    monkeypatch.setattr(MODELS.get('EmerDiff'), 'segment',
                        lambda self, image: seen.append(tuple(image.shape[2:])) or real(self, image))
    metrics = load_test_tool().main([osp.join(REPO, 'configs', config), '--work-dir', 'wd', '--cfg-options',
                                     f'model.backbone.model_id={tiny_sd}', 'model.backbone.dtype=float32',
                                     'model.num_masks=3', 'model.pixels=16384', 'model.max_batch=7'])
    assert 'mIoU' in metrics and seen
    assert all(s == size for s in seen) if size else any(s != (320, 320) for s in seen)


def test_metric_keeps_sparse_int32_counts():
    """Per image only the class columns it holds, in int32 (PASCAL-Context-459 val: 7 MiB instead of 536)."""
    metric = METRICS.build(dict(type='MaskEmbeddingIoUMetric', protocol='modified'))
    metric.dataset_meta = dict(classes=tuple(str(i) for i in range(459)))
    pred = torch.arange(30).repeat_interleave(10).view(15, 20)
    label = torch.tensor([3, 200, 458]).repeat(100).view(15, 20)
    metric.process({}, [dict(pred_sem_seg=dict(data=pred[None]), gt_sem_seg=dict(data=label[None]),
                             mask_embeddings=torch.randn(30, 8))])
    _, (cols, counts), sizes, name = metric.results[0]
    assert cols.tolist() == [3, 200, 458] and counts.dtype == np.int32 and counts.shape == (30, 3)
    assert counts.sum() == 300 and sizes.dtype == np.int32 and name is None  # no --out: no PNG name
