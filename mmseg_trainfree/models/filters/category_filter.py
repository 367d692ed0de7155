"""DiffSegmenter's category filtering (Wang et al. 2023, Sec. 3 and 4.1): per image, the classes its BLIP caption
mentions, united with the classes CLIP finds most likely; never an empty set."""
from __future__ import annotations

from typing import Optional, Sequence

import torch
from mmengine.logging import print_log
from mmengine.model import BaseModule
from torch import Tensor

from ...registry import MODELS
from ..utils.caption_matching import classes_in_caption


def top_p(probs: Tensor, p: float) -> list[int]:
    """Indices of the smallest set of the most probable entries whose probabilities sum to at least ``p``."""
    order = probs.argsort(descending=True)
    cumulative = probs[order].cumsum(0)
    n = int((cumulative < p).sum()) + 1
    return sorted(order[:min(n, len(order))].tolist())


@MODELS.register_module()
class CategoryFilter(BaseModule):
    """The candidate classes of one image.

    The official code is not released (only its output lists are), so the rule is ours, documented in
    docs/methods/diffsegmenter.md:

    - caption: the classes whose name or a synonym occurs in the image's unconditional BLIP caption
      (lemmatised word matching, :mod:`..utils.caption_matching`);
    - CLIP: softmax over the candidates of CLIP's scaled image-text cosine similarity (CLIP-ES's
      classification, which the paper cites). The paper keeps "classes with cosine similarity larger than 0.97";
      a raw CLIP cosine never gets near 0.97, so we read it as this probability: ``clip_rule='threshold'``
      keeps the classes above ``clip_threshold`` (at most one for 0.97), ``'top_p'`` keeps the smallest set of
      the most probable classes whose probabilities sum to ``clip_threshold``;
    - the union of the two; when it is empty, every candidate is kept and a warning names the image.

    Args:
        use_caption: match the caption (needs a captioner in the segmentor).
        clip: an ``OpenCLIPBackbone`` config, or None to switch the CLIP half off.
        templates: CLIP prompt templates (class embeddings are averaged over templates and synonyms).
        clip_rule / clip_threshold: how CLIP's probabilities select classes (see above).
    """

    def __init__(self, use_caption: bool = True, clip: Optional[dict] = None,
                 templates: Sequence[str] = ('a photo of a {}.',), clip_rule: str = 'threshold',
                 clip_threshold: float = 0.97, init_cfg=None):
        super().__init__(init_cfg)
        if not use_caption and clip is None:
            raise ValueError('CategoryFilter: both halves are off (use_caption=False and clip=None); '
                             'set category_filter=None in the segmentor to keep every class instead')
        if clip_rule not in ('threshold', 'top_p'):
            raise ValueError(f"CategoryFilter.clip_rule must be 'threshold' or 'top_p', got {clip_rule!r}")
        if not 0 < clip_threshold <= 1:
            raise ValueError(f'CategoryFilter.clip_threshold must be in (0, 1], got {clip_threshold}')
        self.use_caption, self.templates = use_caption, list(templates)
        self.clip_rule, self.clip_threshold = clip_rule, float(clip_threshold)
        self.clip = MODELS.build(dict(clip, config_field='model.category_filter.clip')) if clip is not None else None
        self._text_cache: tuple[tuple, Tensor] | None = None

    def clip_classes(self, image: Tensor, class_names: Sequence[Sequence[str]], candidates: Sequence[int]) -> list[int]:
        """The CLIP half: the ``candidates`` CLIP's probabilities select for one image (3, H, W) in [-1, 1]."""
        key = tuple(tuple(n) for n in class_names)
        if self._text_cache is None or self._text_cache[0] != key:
            self._text_cache = (key, self.clip.class_embeddings(class_names, self.templates))
        text = self._text_cache[1][list(candidates)]
        logits = self.clip.logit_scale * self.clip.image_embeddings(image[None])[0] @ text.T
        probs = logits.softmax(0)
        kept = top_p(probs, self.clip_threshold) if self.clip_rule == 'top_p' else \
            (probs > self.clip_threshold).nonzero()[:, 0].tolist()
        return [candidates[i] for i in kept]

    @torch.no_grad()
    def select(self, image: Tensor, caption: Optional[str], class_names: Sequence[Sequence[str]],
               candidates: Sequence[int], source: str = 'image') -> list[int]:
        """The kept subset of ``candidates`` (sorted); ``source`` names the image in the fallback warning."""
        candidates = list(candidates)
        kept: set[int] = set()
        if self.use_caption:
            if caption is None:
                raise ValueError('CategoryFilter.use_caption needs a caption: give the segmentor a captioner')
            kept.update(classes_in_caption(caption, class_names, candidates))
        if self.clip is not None and candidates:
            kept.update(self.clip_classes(image, class_names, candidates))
        if not kept:
            print_log(f'category filtering kept no class for {source} (caption: {caption!r}); '
                      f'falling back to all {len(candidates)} candidate classes', logger='current', level=30)
            return candidates
        return sorted(kept)
