"""DiffSegmenter's attention fusion and refinement, class++ re-weighting and batched class prompts."""
from types import SimpleNamespace

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from mmseg_trainfree.models.attention import AttentionRecorder, attention_hooks
from mmseg_trainfree.models.segmentors.diffsegmenter import DiffSegmenter, normalized_levels
from mmseg_trainfree.registry import MODELS

CLASSES = ['background', 'cat', 'dog, puppy', 'potted plant']


def diffsegmenter(model_id, **kw):
    cfg = dict(type='DiffSegmenter', backbone=dict(type='StableDiffusionBackbone', model_id=model_id, dtype='float32'),
               class_names=CLASSES, background_index=0, image_size=(64, 64), max_batch=8)
    cfg.update(kw)
    return MODELS.build(cfg)


def test_fusion_equals_a_hand_computation():
    """Eq. 5 (fusion): sum_l w_l minmax(up(A_l)), each map min-max normalised on its own (per prompt entry and
    resolution), and Eq. 6-7's min-max after the weighted sum when the maps carry the self-attention product."""
    coarse = torch.tensor([[[0., 1.], [2., 3.]], [[5., 5.], [6., 9.]]])  # two entries of different ranges
    fine = torch.stack([torch.arange(16.).view(4, 4), torch.arange(16.).flip(0).view(4, 4) * 3 + 7])
    plain = SimpleNamespace(fusion_weights=[0.25, 0.75], self_attn_layers=None)
    levels = normalized_levels([coarse, fine], (4, 4))
    fused = DiffSegmenter.fuse_levels(plain, levels)
    up = F.interpolate(coarse[:, None], (4, 4), mode='bilinear', align_corners=False)[:, 0]
    for e in range(2):
        hand = 0.25 * (up[e] - up[e].min()) / (up[e].max() - up[e].min()) \
            + 0.75 * (fine[e] - fine[e].min()) / (fine[e].max() - fine[e].min())
        assert torch.allclose(fused[e], hand)
    refined = DiffSegmenter.fuse_levels(SimpleNamespace(**dict(vars(plain), self_attn_layers=['x'])), levels)
    for e in range(2):
        total = 0.25 * levels[e, 0] + 0.75 * levels[e, 1]
        assert torch.allclose(refined[e], (total - total.min()) / (total.max() - total.min()))
    with pytest.raises(ValueError, match='fusion weights'):
        DiffSegmenter.fuse_levels(SimpleNamespace(**dict(vars(plain), fusion_weights=[1.0])), levels)


def test_refinement_equals_the_dense_product():
    """On the trained tiny SD (whose self-attention is localised and far from symmetric): the running mean over
    the finest self-attention layers equals the mean of their recorded maps, and the refined maps equal
    minmax(A_self vec(sum_l w_l M_l)) computed densely from the recorded maps and the unrefined fusion, while
    A_self^T (a transposed product) gives clearly different maps."""
    from mmseg_trainfree.datasets.shapes import SHAPES_CLASSES, draw_shapes_sample
    from mmseg_trainfree.models.attention import AttentionAccumulator
    from mmseg_trainfree.testing import trained_stable_diffusion
    layers = ['down_blocks.0.attentions.*.attn1', 'up_blocks.3.attentions.*.attn1']
    model = diffsegmenter(trained_stable_diffusion(), class_names=list(SHAPES_CLASSES), image_size=(128, 128),
                          self_attn_layers=layers, fusion_weights=[0.0, 0.2, 0.4, 0.4])
    text, spans, _ = model.prompts()
    image, _ = draw_shapes_sample(np.random.default_rng(3), 128, 128)
    x = torch.from_numpy(image).permute(2, 0, 1)[None].float() / 127.5 - 1
    latents = model.noisy_latents(x)
    accumulator, recorder = AttentionAccumulator(layers), AttentionRecorder(layers, 'probs')
    with torch.no_grad():
        for hook in (accumulator, recorder):  # the accumulator computes those layers itself, head by head
            with attention_hooks(model.backbone.unet, [hook]):
                model.backbone.unet_forward(latents.expand(len(spans), -1, -1, -1), model.timestep, text)
        refined = model.entry_maps(latents, model.timestep, text, spans)
        model.self_attn_layers = None
        fused = model.entry_maps(latents, model.timestep, text, spans)
    dense = torch.stack([maps[0] for maps in recorder['probs'].values()]).mean(0)  # (E, N, N), heads averaged
    assert len(recorder['probs']) == 5 and torch.allclose(accumulator.mean, dense, atol=1e-6)

    def minmax_of(a_self):
        product = torch.stack([a_self[e] @ fused[e].flatten() for e in range(len(spans))]).view_as(fused)
        lo, hi = product.flatten(1).min(1)[0], product.flatten(1).max(1)[0]
        return (product - lo[:, None, None]) / (hi - lo)[:, None, None]
    assert torch.allclose(refined, minmax_of(dense), atol=1e-4)
    assert (refined - minmax_of(dense.transpose(1, 2))).abs().max() > 0.1


def test_batched_prompts_equal_one_at_a_time(tiny_sd):
    x = torch.rand(1, 3, 48, 64, generator=torch.Generator().manual_seed(0)) * 2 - 1
    batched, single = diffsegmenter(tiny_sd), diffsegmenter(tiny_sd, max_batch=1)
    with torch.no_grad():
        a, b = batched.inference(x, [{}]), single.inference(x, [{}])
        batched.self_attn_layers = single.self_attn_layers = None
        fa, fb = batched.inference(x, [{}]), single.inference(x, [{}])
    # a random model's attention is nearly uniform, so the per-map min-max scales float noise of the batch
    # layout (1e-7) up to about 3e-4: compare at 1e-3, with and without the refinement
    assert a.shape == (1, 4, 48, 64) and torch.allclose(fa, fb, atol=1e-3) and torch.allclose(a, b, atol=1e-3)
    assert not torch.allclose(a, fa, atol=1e-2)
    assert batched.backbone.unet_calls == 2 and single.backbone.unet_calls == 8  # cat, dog, puppy, potted plant


def test_class_weight_one_is_the_plain_prompt(tiny_sd):
    plain = diffsegmenter(tiny_sd, class_weight=1.0)
    text, spans, entry_class = plain.prompts()
    expected = plain.backbone.encode_prompts(['a photograph of cat', 'a photograph of dog', 'a photograph of puppy',
                                              'a photograph of potted plant'])
    assert torch.allclose(text, expected) and spans == [[4], [4], [4], [5]] and entry_class.tolist() == [1, 2, 2, 3]
    weighted = diffsegmenter(tiny_sd).prompts()[0]
    assert not torch.allclose(weighted[:, 4], text[:, 4]) and torch.allclose(weighted[:, 6:], text[:, 6:])


def test_class_weight_1_21_equals_a_hand_computation(tiny_sd):
    """class++ with w = 1.21: e' = e_empty + 1.21 (e - e_empty) at exactly the class tokens, every other
    position the plain prompt's."""
    model = diffsegmenter(tiny_sd)
    weighted, spans, _ = model.prompts()
    plain = model.backbone.encode_prompts(['a photograph of cat', 'a photograph of dog', 'a photograph of puppy',
                                           'a photograph of potted plant'])
    empty = model.backbone.encode_prompts([''])[0]
    for row, span in enumerate(spans):
        expected = plain[row].clone()
        for p in span:
            expected[p] = empty[p] + 1.21 * (plain[row, p] - empty[p])
        assert torch.allclose(weighted[row], expected, atol=1e-6)


def test_background_takes_the_constant_score(tiny_sd):
    x = torch.rand(1, 3, 32, 32) * 2 - 1
    with torch.no_grad():
        [out] = diffsegmenter(tiny_sd, background_score=1.5).predict(x)  # above every min-max score
        [mixed] = diffsegmenter(tiny_sd, background_score=0.5).predict(x)
    assert (out.pred_sem_seg.data == 0).all() and torch.allclose(out.seg_logits.data[0], torch.tensor(1.5))
    assert mixed.seg_logits.data.shape == (4, 32, 32)


@pytest.mark.parametrize('kw,match', [(dict(prompt_template='a photo'), 'slot'),
                                      (dict(fusion_weights=[0.5, 0.4]), 'sum to 1'), (dict(max_batch=0), 'max_batch')])
def test_bad_configuration_is_named(tiny_sd, kw, match):
    with pytest.raises(ValueError, match=match):
        diffsegmenter(tiny_sd, **kw)


def test_accumulator_leaves_the_layer_output_unchanged(backbone):
    from mmseg_trainfree.models.attention import AttentionAccumulator
    x = torch.randn(2, 4, 8, 8, generator=torch.Generator().manual_seed(0))
    text = backbone.encode_prompts(['', 'a cat'])
    with torch.no_grad():
        plain = backbone.unet_forward(x, 100, text)
        with attention_hooks(backbone.unet, [AttentionAccumulator(['down_blocks.0.*attn1', 'up_blocks.3.*attn1'])]):
            hooked = backbone.unet_forward(x, 100, text)
        every = AttentionAccumulator('*attn1')  # all four resolutions: one running mean each
        with attention_hooks(backbone.unet, [every]):
            backbone.unet_forward(x, 100, text)
    assert torch.allclose(plain, hooked, atol=1e-5)
    assert list(every.means) == [64, 16, 4, 1] and sum(every.counts.values()) == 16
    assert all(torch.allclose(m.sum(-1), torch.ones(())) for m in every.means.values())
    with pytest.raises(ValueError, match='one resolution'):
        every.mean


def test_augmented_prompts_continue_the_class_prompt(tiny_sd, tiny_blip):
    """BLIP's words follow "a photograph of {class}"; the class tokens keep their positions, and the causal text
    encoder leaves every embedding up to the class tokens as in the plain prompt."""
    model = diffsegmenter(tiny_sd, captioner=dict(type='BlipCaptioner', model_id=tiny_blip, dtype='float32',
                                                  max_new_tokens=6))
    image = torch.rand(3, 40, 48, generator=torch.Generator().manual_seed(1)) * 2 - 1
    text, spans, entry_class = model.image_prompts(image, [2, 3])
    plain, plain_spans, plain_class = model.prompts()
    assert spans == plain_spans[1:] and entry_class.tolist() == [2, 2, 3]  # dog, puppy, potted plant
    for row, span in enumerate(spans):  # BOS, "a photograph of", the class token(s): as in the plain prompt
        assert torch.allclose(text[row, :span[-1] + 1], plain[row + 1, :span[-1] + 1], atol=1e-5)
        assert not torch.allclose(text[row, span[-1] + 1:], plain[row + 1, span[-1] + 1:], atol=1e-3)
    tok = model.captioner.processor.tokenizer  # one generate call per prefix length
    lengths = {len(tok(f'a photograph of {n}').input_ids) for n in ('dog', 'puppy', 'potted plant')}
    assert model.captioner.num_generate_calls == len(lengths)


def test_ing_continuation_adds_the_first_continuation_token_to_the_class_map(tiny_sd):
    """ing_continuation: a continuation starting with an "-ing" word adds that word's first token to the class's
    map tokens (the official rule for the paper's descriptive words, on by default); class++ still weights the
    class tokens only."""
    entries, more = [(2, 'dog'), (3, 'potted plant')], ['running on grass', 'on a table']
    model = diffsegmenter(tiny_sd, class_weight=1.21)
    assert model.ing_continuation
    tok = model.backbone.tokenizer
    text, spans, _ = model.encode_entries(entries, more)
    dog_end = len(tok('a photograph of dog').input_ids) - 1  # "running" follows the last class token
    assert spans[0] == [4, dog_end] and dog_end == 5 and len(spans[1]) == 1
    assert tok('a photograph of dog running on grass').input_ids[5] == tok('running').input_ids[1]
    off_text, off_spans, _ = diffsegmenter(tiny_sd, class_weight=1.21, ing_continuation=False).encode_entries(
        entries, more)
    assert off_spans[0] == [4] and off_spans[1] == spans[1]
    assert torch.equal(text, off_text)  # the rule changes which maps are read, not the prompt embeddings
    latents = model.backbone.encode_images(torch.zeros(1, 3, 64, 64))
    with torch.no_grad():
        on_maps = model.entry_maps(latents, 100, text, spans)
        off_maps = model.entry_maps(latents, 100, off_text, off_spans)
    assert not torch.allclose(on_maps[0], off_maps[0]) and torch.allclose(on_maps[1], off_maps[1])


def test_multi_word_names_weight_the_last_word_and_read_one_token(tiny_sd):
    """class_tokens (issue 23, item 10): the official scripts put "++" on the last word of a multi-word name and read
    the map of its last token (Context / COCO) or first token (VOC); 'all' weights every token and averages them.
    Checked on the embeddings: a token that "++" re-weights is e_empty + 1.21 (e - e_empty), any other the plain
    encoding."""
    tok = model_tok = diffsegmenter(tiny_sd).backbone.tokenizer
    name = 'potted plant'
    first = 4  # BOS, "a photograph of"
    n, last_word = len(tok(name).input_ids) - 2, len(tok('plant').input_ids) - 2
    names = list(range(first, first + n))
    plain = diffsegmenter(tiny_sd, class_weight=1.0).encode_entries([(3, name)])[0][0].float()
    empty = diffsegmenter(tiny_sd).backbone.encode_prompts(['']).float()[0]
    weighted = empty + 1.21 * (plain - empty)
    expected = {'last': (names[-last_word:], [names[-1]]), 'first': (names[-last_word:], [names[0]]),
                'all': (names, names)}
    for rule, (plus, read) in expected.items():
        model = diffsegmenter(tiny_sd, class_tokens=rule)
        text, spans, _ = model.encode_entries([(3, name)])
        assert spans == [read], rule
        for pos in names:
            want = weighted[pos] if pos in plus else plain[pos]
            assert torch.allclose(text[0, pos].float(), want, atol=1e-5), (rule, pos)
    assert model_tok is tok and n == 2 and diffsegmenter(tiny_sd).class_tokens == 'last'
    with pytest.raises(ValueError, match='class_tokens'):
        diffsegmenter(tiny_sd, class_tokens='middle')


def test_prompt_cache_is_bounded(tiny_sd):
    """Per-image prompts do not grow the text-encoder cache without bound: least recently used entries go."""
    from mmseg_trainfree.models import StableDiffusionBackbone
    backbone = StableDiffusionBackbone(tiny_sd, prompt_cache_size=2)
    first = backbone.encode_prompts(['a photograph of dog running'])
    for caption in ('a', 'b', 'c'):
        backbone.encode_prompts([f'a photograph of dog {caption}'])
    assert len(backbone._prompt_cache) == 2
    assert torch.equal(backbone.encode_prompts(['a photograph of dog running']), first)  # recomputed, equal
    uncached = StableDiffusionBackbone(tiny_sd, prompt_cache_size=0)
    uncached.encode_prompts(['x', 'y'])
    assert not uncached._prompt_cache
    with pytest.raises(ValueError, match='prompt_cache_size'):
        StableDiffusionBackbone(tiny_sd, prompt_cache_size=-1)


def test_image_labels_choose_the_candidates(tiny_sd):
    """Weakly supervised: only the ground-truth classes are prompted; the others score -1, so the prediction
    stays within the image-level labels; the background keeps its constant."""
    from mmengine.structures import PixelData
    from mmseg.structures import SegDataSample
    model = diffsegmenter(tiny_sd, use_image_labels=True)
    x = torch.rand(1, 3, 32, 32) * 2 - 1
    sample = SegDataSample(metainfo=dict(ori_shape=(32, 32), img_shape=(32, 32), pad_shape=(32, 32),
                                         padding_size=[0, 0, 0, 0]))
    gt = torch.zeros(1, 32, 32, dtype=torch.long)
    gt[:, :, 16:] = 2
    gt[:, :4] = 255
    sample.gt_sem_seg = PixelData(data=gt)
    with torch.no_grad():
        [out] = model.predict(x, [sample])
    logits = out.seg_logits.data
    assert model.backbone.unet_calls == 1 and model.backbone.unet_evaluations == 2  # dog and puppy
    assert (logits[[1, 3]] == -1).all() and (logits[0] == 0.5).all() and logits[2].max() > 0.5
    assert set(out.pred_sem_seg.data.unique().tolist()) <= {0, 2}
    with pytest.raises(ValueError, match='gt_sem_seg'):
        model.predict(x, [SegDataSample(metainfo=sample.metainfo)])


def test_timesteps_are_averaged(tiny_sd):
    x = torch.rand(1, 3, 32, 32, generator=torch.Generator().manual_seed(2)) * 2 - 1
    with torch.no_grad():
        both = diffsegmenter(tiny_sd, timestep=[50, 150], background_index=None).inference(x, [{}])
        t50 = diffsegmenter(tiny_sd, timestep=50, background_index=None).inference(x, [{}])
        t150 = diffsegmenter(tiny_sd, timestep=150, background_index=None).inference(x, [{}])
    assert torch.allclose(both, (t50 + t150) / 2, atol=1e-5) and not torch.allclose(t50, t150, atol=1e-3)


def test_category_filter_prompts_only_the_kept_classes(tiny_sd, tiny_blip, tiny_clip):
    """The filter runs before the prompts: kept classes are prompted (fewer UNet rows), the rest score -1."""
    model = diffsegmenter(tiny_sd, captioner=dict(type='BlipCaptioner', model_id=tiny_blip, dtype='float32',
                                                  max_new_tokens=6),
                          category_filter=dict(type='CategoryFilter', use_caption=False,
                                               clip=dict(type='OpenCLIPBackbone', **tiny_clip),
                                               clip_rule='threshold', clip_threshold=1e-6))
    assert model.background_index == 0
    x = torch.rand(1, 3, 32, 32) * 2 - 1
    with torch.no_grad():
        kept = model.candidates(x[0], {})
        assert kept == [1, 2, 3]  # every class passes a tiny threshold
        model.category_filter.clip_threshold = 0.999  # none passes: the image is background
        assert model.candidates(x[0], {}) == []
        background = model.inference(x, [{}])
        assert (background[0, 1:] == -1).all() and (background[0, 0] == model.background_score).all()
        model.category_filter.clip_rule, model.category_filter.clip_threshold = 'top_p', 1e-6  # the top class only
        [top] = model.candidates(x[0], {})
        logits = model.inference(x, [{}])
    other = [c for c in (1, 2, 3) if c != top]
    assert (logits[0, other] == -1).all() and logits[0, top].max() > 0
    assert model.backbone.unet_evaluations == (2 if top == 2 else 1)  # dog + puppy, or one prompt
    with pytest.raises(ValueError, match='needs a captioner'):
        diffsegmenter(tiny_sd, category_filter=dict(type='CategoryFilter'))
    clip_only = dict(type='CategoryFilter', use_caption=False, clip=dict(type='OpenCLIPBackbone', **tiny_clip))
    with pytest.raises(ValueError, match='set one'):
        diffsegmenter(tiny_sd, use_image_labels=True, category_filter=clip_only)


def test_dense_crf_sharpens_noisy_probabilities_along_the_image_edge(tiny_sd):
    """DenseCRF on a two-colour image: noisy probabilities are pulled to the colour regions; the segmentor's
    crf option returns per-pixel probabilities."""
    pytest.importorskip('pydensecrf')
    import numpy as np
    from mmseg_trainfree.models.utils.dense_crf import DenseCRF
    image = np.zeros((32, 32, 3), np.uint8)
    image[:, 16:] = 255
    truth = np.zeros((32, 32), int)
    truth[:, 16:] = 1
    rng = np.random.default_rng(0)
    p1 = np.clip(0.5 + 0.3 * (truth * 2 - 1) + rng.normal(0, 0.3, truth.shape), 0.01, 0.99)
    probs = np.stack([1 - p1, p1]).astype(np.float32)
    refined = DenseCRF()(image, probs)
    before, after = (probs.argmax(0) == truth).mean(), (refined.argmax(0) == truth).mean()
    assert after > before and after > 0.98 and np.allclose(refined.sum(0), 1, atol=1e-4)
    with pytest.raises(ValueError, match='uint8'):
        DenseCRF()(image.astype(np.float32), probs)
    model = diffsegmenter(tiny_sd, crf=dict(type='DenseCRF'))
    with torch.no_grad():
        out = model.inference(torch.rand(1, 3, 32, 32) * 2 - 1, [{}])
    assert torch.allclose(out.sum(1), torch.ones(1, 32, 32), atol=1e-4) and (out >= 0).all()
