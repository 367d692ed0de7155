"""DiffSegmenter's category filtering (Wang et al. 2023, Sec. 3 and 4.1): per image, the classes its BLIP caption
mentions, united with the classes CLIP finds most likely."""
from __future__ import annotations

from typing import Optional, Sequence, Union

import torch
from mmengine.logging import print_log
from mmengine.model import BaseModule
from torch import Tensor

from ...registry import MODELS
from ..utils.caption_matching import class_words, classes_in_caption, named_classes, noun_phrases, suffixes
from ..utils.vocabulary import attach_synonyms

EMPTY_RULES = ('background', 'all')


def top_p(probs: Tensor, p: float) -> list[int]:
    """Indices of the smallest set of the most probable entries whose probabilities sum to at least ``p``."""
    order = probs.argsort(descending=True)
    cumulative = probs[order].cumsum(0)
    n = int((cumulative < p).sum()) + 1
    return sorted(order[:min(n, len(order))].tolist())


@MODELS.register_module()
class CategoryFilter(BaseModule):
    """The candidate classes of one image.

    The official filtering code is not released, only its per-image output lists, so the rule is ours,
    documented in docs/methods/diffsegmenter.md:

    - **caption** (``use_caption``): the caption is cut into noun phrases (:mod:`..utils.caption_matching`).
      ``caption_match='similarity'`` (the official "caption-text similarity 0.8") keeps a class when the CLIP
      text embedding of a phrase, or of its head, has cosine >= ``text_threshold`` with one of the class's
      names or synonyms; ``'words'`` keeps it when they are the same words up to plurals. In both, the longest
      suffix of a phrase that matches decides ("teddy bear" is not a bear), and an exact word match always
      counts. ``synonyms``, a synonym file (``name: word, ...``) or dict, adds caption words that name a class
      without being prompted ("man", "kid" for person).
    - **CLIP** (``clip``): softmax over the candidates of CLIP's scaled image-text cosine (CLIP-ES's
      classification, which the paper cites). ``clip_rule='top_p'`` keeps the smallest set of the most probable
      classes whose probabilities sum to ``clip_threshold``; ``'threshold'`` keeps those above it (at most one
      for 0.97). The official lists support top-p: their CLIP half is never empty and keeps one class for 94 %
      of VOC images and up to 6.
    - the union of the two. When it is empty, ``empty='background'`` returns no class (the image is all
      background) and ``'all'`` returns every candidate; both warn, naming the image.

    Args:
        use_caption / caption_match / text_threshold / synonyms: the caption half (needs a captioner).
        clip: an ``OpenCLIPBackbone`` config (CLIP half and the text encoder of ``'similarity'``), or None.
        use_image_similarity: the CLIP half on (``clip`` may still serve the caption similarity alone).
        templates: CLIP prompt templates, for class and phrase embeddings alike.
        clip_rule / clip_threshold: how CLIP's probabilities select classes (see above).
        empty: what an empty union gives (see above).
    """

    def __init__(self, use_caption: bool = True, clip: Optional[dict] = None, use_image_similarity: bool = True,
                 templates: Sequence[str] = ('a photo of a {}.',), clip_rule: str = 'top_p',
                 clip_threshold: float = 0.97, caption_match: str = 'similarity', text_threshold: float = 0.8,
                 synonyms: Union[str, dict, None] = None, empty: str = 'background', init_cfg=None):
        super().__init__(init_cfg)
        use_image_similarity = use_image_similarity and clip is not None
        if not use_caption and not use_image_similarity:
            raise ValueError('CategoryFilter: both halves are off (use_caption=False and no CLIP image similarity); '
                             'set category_filter=None in the segmentor to keep every class instead')
        if clip_rule not in ('threshold', 'top_p'):
            raise ValueError(f"CategoryFilter.clip_rule must be 'threshold' or 'top_p', got {clip_rule!r}")
        if not 0 < clip_threshold <= 1:
            raise ValueError(f'CategoryFilter.clip_threshold must be in (0, 1], got {clip_threshold}')
        if caption_match not in ('similarity', 'words'):
            raise ValueError(f"CategoryFilter.caption_match must be 'similarity' or 'words', got {caption_match!r}")
        if use_caption and caption_match == 'similarity' and clip is None:
            raise ValueError("CategoryFilter.caption_match='similarity' embeds caption phrases with CLIP's text "
                             "encoder: give `clip`, or set caption_match='words'")
        if not text_threshold >= -1:
            raise ValueError(f'CategoryFilter.text_threshold is a cosine threshold (>= -1; above 1 only exact word '
                             f'matches count), got {text_threshold}')
        if empty not in EMPTY_RULES:
            raise ValueError(f'CategoryFilter.empty must be one of {EMPTY_RULES}, got {empty!r}')
        self.use_caption, self.use_image_similarity = use_caption, use_image_similarity
        self.templates = list(templates)
        self.clip_rule, self.clip_threshold = clip_rule, float(clip_threshold)
        self.caption_match, self.text_threshold = caption_match, float(text_threshold)
        self.synonyms, self.empty = synonyms, empty
        self.clip = MODELS.build(dict(clip, config_field='model.category_filter.clip')) if clip is not None else None
        self._class_cache: tuple[tuple, Tensor] | None = None
        self._names_cache: tuple[tuple, list[list[str]], Tensor | None] | None = None

    # Vocabulary
    def _names(self, class_names: Sequence[Sequence[str]]) -> tuple[list[list[str]], Tensor | None]:
        """Each class's names and caption synonyms, and their CLIP text embeddings (cached per vocabulary)."""
        key = tuple(tuple(n) for n in class_names)
        if self._names_cache is None or self._names_cache[0] != key:
            names = attach_synonyms(class_names, self.synonyms)
            embeddings = None
            if self.use_caption and self.caption_match == 'similarity':
                embeddings = self.clip.class_embeddings([[n] for ns in names for n in ns], self.templates)
            self._names_cache = (key, names, embeddings)
        return self._names_cache[1], self._names_cache[2]

    # The two halves
    def caption_classes(self, caption: str, class_names: Sequence[Sequence[str]], candidates: Sequence[int]
                        ) -> list[int]:
        """The caption half: the ``candidates`` the caption's noun phrases name."""
        names, name_embeddings = self._names(class_names)
        if self.caption_match == 'words':
            return classes_in_caption(caption, names, candidates)
        phrases = noun_phrases(caption, class_words([names[c] for c in candidates]))
        if not phrases:
            return []
        kept: set[int] = set()
        owner = torch.tensor([c for c, ns in enumerate(names) for _ in ns])
        allowed = torch.isin(owner, torch.tensor(list(candidates), dtype=torch.long))
        texts = sorted({' '.join(s) for p in phrases for s in suffixes(p)})
        cosine = self.clip.class_embeddings([[t] for t in texts], self.templates) @ name_embeddings.T
        row = {t: i for i, t in enumerate(texts)}
        for phrase in phrases:
            for suffix in reversed(suffixes(phrase)):  # longest first: the first that matches decides
                hits = set(named_classes(suffix, names, candidates))
                close = (cosine[row[' '.join(suffix)]] >= self.text_threshold) & allowed
                hits |= set(owner[close].tolist())
                if hits:
                    kept.update(hits)
                    break
        return sorted(kept)

    def clip_classes(self, image: Tensor, class_names: Sequence[Sequence[str]], candidates: Sequence[int]) -> list[int]:
        """The CLIP half: the ``candidates`` CLIP's probabilities select for one image (3, H, W) in [-1, 1]."""
        key = tuple(tuple(n) for n in class_names)
        if self._class_cache is None or self._class_cache[0] != key:
            self._class_cache = (key, self.clip.class_embeddings(class_names, self.templates))
        text = self._class_cache[1][list(candidates)]
        logits = self.clip.logit_scale * self.clip.image_embeddings(image[None])[0] @ text.T
        probs = logits.softmax(0)
        kept = top_p(probs, self.clip_threshold) if self.clip_rule == 'top_p' else \
            (probs > self.clip_threshold).nonzero()[:, 0].tolist()
        return [candidates[i] for i in kept]

    @torch.no_grad()
    def select(self, image: Tensor, caption: Optional[str], class_names: Sequence[Sequence[str]],
               candidates: Sequence[int], source: str = 'image') -> list[int]:
        """The kept subset of ``candidates`` (sorted); ``source`` names the image in the empty-set warning."""
        candidates = list(candidates)
        kept: set[int] = set()
        if not candidates:
            return []
        if self.use_caption:
            if caption is None:
                raise ValueError('CategoryFilter.use_caption needs a caption: give the segmentor a captioner')
            kept.update(self.caption_classes(caption, class_names, candidates))
        if self.use_image_similarity:
            kept.update(self.clip_classes(image, class_names, candidates))
        if not kept:
            fallback = 'the image is predicted as background' if self.empty == 'background' else \
                f'falling back to all {len(candidates)} candidate classes'
            print_log(f'category filtering kept no class for {source} (caption: {caption!r}); {fallback}',
                      logger='current', level=30)
            return candidates if self.empty == 'all' else []
        return sorted(kept)
