"""Caption-word matching, the CLIP half of category filtering, the filter's fallback, and the BLIP captioner."""
import logging

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from mmengine.logging import MMLogger

from mmseg_trainfree.models import BlipCaptioner, CategoryFilter, ModelNotAvailableError, OpenCLIPBackbone
from mmseg_trainfree.models.filters import top_p
from mmseg_trainfree.models.utils.caption_matching import classes_in_caption, mentions, noun_lemmas, words

CLASSES = [['background'], ['aeroplane', 'airplane'], ['bus'], ['cat'], ['dining table'], ['person'],
           ['potted plant'], ['tv monitor', 'television'], ['car'], ['glass'], ['shelf']]


@pytest.mark.parametrize('caption,expected', [
    ('two cats sitting on a dining table', [3, 4]),            # plural, multi-word name
    ('a group of people waiting for buses', [2, 5]),          # irregular plural, -es plural
    ('an airplane flying over potted plants', [1, 6]),        # synonym, plural of a multi-word name
    ('a television next to wine glasses on shelves', [7, 9, 10]),  # synonym, -es and -ves plurals
    ('a cathedral and a carpet and a table', []),             # no partial-word or partial-name matches
    ('A CAT! (a Cat\'s toy)', [3]),                           # case and punctuation
])
def test_caption_words_match_class_names_and_synonyms(caption, expected):
    assert classes_in_caption(caption, CLASSES) == expected


def test_matching_is_restricted_to_candidates_and_lemmas_are_symmetric():
    assert classes_in_caption('cats and buses', CLASSES, candidates=[2, 5]) == [2]
    assert 'leaf' in noun_lemmas('leaves') and 'person' in noun_lemmas('people') and noun_lemmas('grass') == {'grass'}
    assert mentions(words('the potted plant'), 'potted plants') and not mentions(words('potted'), 'potted plant')


def test_top_p_keeps_the_smallest_most_probable_set():
    probs = torch.tensor([0.1, 0.6, 0.05, 0.25])
    assert top_p(probs, 0.5) == [1] and top_p(probs, 0.8) == [1, 3] and top_p(probs, 0.9) == [0, 1, 3]
    assert top_p(probs, 1.0) == [0, 1, 2, 3]


class Collect(logging.Handler):
    def __init__(self):
        super().__init__()
        self.messages = []

    def emit(self, record):
        self.messages.append(record.getMessage())


def test_filter_never_returns_an_empty_set_and_says_so():
    flt = CategoryFilter(use_caption=True, clip=None)
    handler = Collect()
    logger = MMLogger.get_current_instance()
    logger.addHandler(handler)
    try:
        assert flt.select(torch.zeros(3, 8, 8), 'a dog on a sofa', CLASSES, [1, 2, 3], source='img_7.jpg') == [1, 2, 3]
        assert any('img_7.jpg' in m and 'falling back to all 3' in m for m in handler.messages)
        handler.messages.clear()
        assert flt.select(torch.zeros(3, 8, 8), 'a bus and a cat', CLASSES, [1, 2, 3]) == [2, 3]
        assert not handler.messages
    finally:
        logger.removeHandler(handler)
    with pytest.raises(ValueError, match='both halves are off'):
        CategoryFilter(use_caption=False, clip=None)
    with pytest.raises(ValueError, match='clip_rule'):
        CategoryFilter(clip_rule='cosine')


def test_clip_half_equals_a_hand_computation(tiny_clip):
    flt = CategoryFilter(use_caption=False, clip=dict(type='OpenCLIPBackbone', **tiny_clip), clip_rule='top_p',
                         clip_threshold=0.5, templates=['a photo of a {}.'])
    image = torch.rand(3, 40, 56, generator=torch.Generator().manual_seed(0)) * 2 - 1
    candidates = [1, 3, 4, 6, 8]
    clip = flt.clip
    text = clip.class_embeddings([CLASSES[c] for c in candidates], ['a photo of a {}.'])
    probs = (clip.logit_scale * clip.image_embeddings(image[None])[0] @ text.T).softmax(0)
    order = probs.argsort(descending=True).tolist()
    n = next(i + 1 for i in range(len(order)) if probs[order[:i + 1]].sum() >= 0.5)
    assert flt.select(image, None, CLASSES, candidates) == sorted(candidates[i] for i in order[:n])
    flt.clip_rule, flt.clip_threshold = 'threshold', float(probs.max()) - 1e-6  # only the most probable passes
    assert flt.select(image, None, CLASSES, candidates) == [candidates[int(probs.argmax())]]
    flt.use_caption = True  # union with the caption's classes
    best = candidates[int(probs.argmax())]
    named = next(c for c in candidates if c != best)
    assert flt.select(image, f'a {CLASSES[named][0]}', CLASSES, candidates) == sorted({named, best})


def test_image_embeddings_are_open_clips_on_its_own_input_size(tiny_clip):
    clip = OpenCLIPBackbone(**tiny_clip)
    x = torch.rand(2, 3, 32, 32) * 2 - 1  # the tiny model's input size: no resize, no crop
    normalised = ((x + 1) / 2 - clip.mean) / clip.std
    assert torch.allclose(clip.image_embeddings(x), F.normalize(clip.model.encode_image(normalised), dim=-1),
                          atol=1e-5)
    assert clip.image_embeddings(torch.rand(1, 3, 40, 90) * 2 - 1).shape == (1, 32)


def test_blip_captions_batched_equal_one_at_a_time(tiny_blip):
    captioner = BlipCaptioner(tiny_blip, dtype='float32', max_new_tokens=6, batch_size=16)
    image = np.random.default_rng(0).integers(0, 256, (40, 50, 3), dtype=np.uint8)
    prefixes = ['a photograph of cat', '', 'a photograph of dog', 'a photograph of potted plant']
    batched = captioner.caption(image, prefixes)
    assert captioner.num_generate_calls == 3  # grouped by token count: 5 tokens (cat, dog), 0, 6
    single = [captioner.caption(image, [p])[0] for p in prefixes]
    assert batched == single and all(isinstance(c, str) for c in batched)
    assert any(batched)  # a random model still writes words
    processor = captioner.processor  # transformers' own generate, which re-encodes the image per row
    for prefix, ours in zip(prefixes, batched):
        inputs = processor(images=[image], text=[prefix] if prefix else None, return_tensors='pt')
        full = processor.tokenizer.decode(captioner.model.generate(**inputs, max_new_tokens=6)[0],
                                          skip_special_tokens=True)
        assert full.startswith(prefix) and full[len(prefix):].strip() == ours  # only the new words come back


def test_uncached_blip_offline_names_the_model_and_field(monkeypatch):
    monkeypatch.setenv('HF_HUB_OFFLINE', '1')
    with pytest.raises(ModelNotAvailableError, match='model.captioner.model_id') as e:
        BlipCaptioner('Salesforce/no-such-blip-model')
    assert 'Salesforce/no-such-blip-model' in str(e.value) and 'offline' in str(e.value)


def test_unavailable_filter_clip_names_its_config_field(monkeypatch):
    monkeypatch.setenv('HF_HUB_OFFLINE', '1')
    with pytest.raises(ModelNotAvailableError, match='model.category_filter.clip.pretrained'):
        CategoryFilter(clip=dict(type='OpenCLIPBackbone', model_name='ViT-B-16-quickgelu', pretrained='openai'))
