"""MaskCLIP (Zhou et al. 2022) as a training-free open-vocabulary segmentor, and MaskCLIP + EmerDiff
(Namekata et al., ICLR 2024, Sec. 4.3, App. C): EmerDiff's masks classified by their mean MaskCLIP embedding."""
from __future__ import annotations

from typing import Optional, Sequence

import torch
import torch.nn.functional as F
from torch import Tensor

from ...registry import MODELS
from .base import TrainingFreeSegmentor
from .emerdiff import EmerDiff, mask_means

# EmerDiff App. C (after Mukhoti et al. 2023): the 7 templates its open-vocabulary comparison uses.
EMERDIFF_TEMPLATES = ('itap of a {}.', 'a bad photo of a {}.', 'a origami {}.', 'a photo of the large {}.',
                      'a {} in a video game.', 'art of the {}.', 'a photo of the small {}.')


class TextClassifier:
    """Prompt-ensembled class embeddings (``self.clip``, ``self.templates``) of the classes
    :meth:`embedded_classes` names (default: the whole vocabulary), cached until the vocabulary changes."""

    _text_cache: Optional[Tensor] = None

    def embedded_classes(self) -> list[int]:
        return list(range(self.num_classes))  # raises the "no vocabulary" error of TrainingFreeSegmentor

    def _text(self) -> Tensor:
        if self._text_cache is None:
            self._text_cache = self.clip.class_embeddings([self.class_names[c] for c in self.embedded_classes()],
                                                          self.templates)
        return self._text_cache

    def on_vocabulary_change(self) -> None:
        self._text_cache = None


@MODELS.register_module()
class MaskCLIP(TextClassifier, TrainingFreeSegmentor):
    """Cosine similarity of MaskCLIP's dense CLIP embeddings to the class text embeddings, upsampled
    bilinearly to the input. Inputs are RGB in [-1, 1] (as for the SD methods); the backbone applies
    CLIP's normalisation itself.

    Args:
        clip: ``OpenCLIPBackbone`` config.
        templates: prompt templates, averaged (default: EmerDiff's 7 of App. C).
    """

    def __init__(self, clip: dict, data_preprocessor: Optional[dict] = None, class_names=None,
                 templates: Sequence[str] = EMERDIFF_TEMPLATES, test_cfg: Optional[dict] = None, init_cfg=None):
        if not templates or any('{}' not in t for t in templates):
            raise ValueError(f'templates must be a non-empty list of strings with a {{}} slot, got {templates!r}')
        self.templates = list(templates)
        super().__init__(data_preprocessor, class_names, test_cfg, init_cfg)
        self.clip = MODELS.build(clip)
        self.freeze()

    def encode_decode(self, inputs: Tensor, batch_img_metas: list[dict]) -> Tensor:
        text = self._text()
        logits = torch.einsum('behw,ce->bchw', self.clip.dense_features(inputs), text.to(inputs.device))
        return F.interpolate(logits, inputs.shape[2:], mode='bilinear', align_corners=False)


@MODELS.register_module()
class MaskCLIPEmerDiff(TextClassifier, EmerDiff):
    """Open-vocabulary EmerDiff: each EmerDiff mask is labelled with the class whose text embedding is
    nearest (cosine) to the mean MaskCLIP pixel embedding inside it; every pixel takes its mask's scores.

    Args (besides :class:`EmerDiff`'s): ``clip`` (``OpenCLIPBackbone`` config), ``class_names``,
    ``templates`` (default: EmerDiff's 7 of App. C).
    """

    def __init__(self, backbone: dict, clip: dict, class_names=None,
                 templates: Sequence[str] = EMERDIFF_TEMPLATES, **kwargs):
        self.templates = list(templates)
        super().__init__(backbone, **kwargs)
        self.clip = MODELS.build(clip)
        self.vocabulary_from_config = class_names is not None
        if class_names is not None:
            TrainingFreeSegmentor.set_vocabulary(self, class_names)
        self.freeze()

    num_classes = TrainingFreeSegmentor.num_classes
    set_vocabulary = TrainingFreeSegmentor.set_vocabulary

    def encode_decode(self, inputs: Tensor, batch_img_metas: list[dict]) -> Tensor:
        text = self._text().to(inputs.device)
        out, embeddings = [], []
        for i in range(inputs.shape[0]):
            image = inputs[i:i + 1]
            scores, emb = self.segment(image)
            masks = scores.argmax(0)  # (h, w) mask ids at the input size
            pixels = F.interpolate(self.clip.dense_features(image), image.shape[2:], mode='bilinear',
                                   align_corners=False)[0]
            mask_emb = F.normalize(mask_means(pixels.flatten(1).T, masks.flatten(), scores.shape[0]), dim=-1)
            class_scores = mask_emb @ text.T  # (K, C)
            out.append(class_scores[masks].permute(2, 0, 1))
            embeddings.append(emb)
        self._embeddings = embeddings
        return torch.stack(out)
