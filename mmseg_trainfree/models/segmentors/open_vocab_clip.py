"""The training-free CLIP segmentors of the SCLIP family (SCLIP, ClearCLIP, NACLIP, ProxyCLIP; MaskCLIP and GEM
on their protocol): dense CLIP features of a modified last block against prompt-ensembled text embeddings, one per
class name and synonym, scored by a softmax over all names with a logit scale, the max over each class's synonyms,
and a background where the best probability is low. The attention form lives in the backbone (``OpenCLIPBackbone``'s
``attention`` / ``keep_residual``, or ``GEMBackbone``); this class is the protocol shared by their released code."""
from __future__ import annotations

import math
from typing import Optional, Sequence, Union

import torch
import torch.nn.functional as F
from mmengine.structures import PixelData
from mmseg.utils import SampleList
from torch import Tensor

from ...registry import MODELS
from ..utils.pamr import pamr
from .base import TrainingFreeSegmentor

TEMPLATE_SETS = ('openai_imagenet', 'simple_imagenet')


def resolve_templates(templates: Union[str, Sequence[str]]) -> list[str]:
    """A list of templates with a ``{}`` slot, or the name of open_clip's set: ``'openai_imagenet'`` (CLIP's 80, the
    SCLIP family's ``openai_imagenet_template``) or ``'simple_imagenet'`` (7)."""
    if isinstance(templates, str):
        import open_clip
        sets = dict(openai_imagenet=open_clip.OPENAI_IMAGENET_TEMPLATES,
                    simple_imagenet=open_clip.SIMPLE_IMAGENET_TEMPLATES)
        if templates not in sets:
            raise ValueError(f'templates must be a list of strings or one of {TEMPLATE_SETS}, got {templates!r}')
        return [t('{}') for t in sets[templates]]
    templates = list(templates)
    if not templates or any(not isinstance(t, str) or '{}' not in t for t in templates):
        raise ValueError(f'templates must be a non-empty list of strings with a {{}} slot, got {templates!r}')
    return templates


def centred_padding(h: int, w: int, multiple: int) -> tuple[int, int, int, int]:
    """(left, right, top, bottom) zero padding that brings (h, w) to multiples of ``multiple``, centred (ClearCLIP's
    ``compute_padsize``)."""
    dh, dw = -h % multiple, -w % multiple
    return dw // 2, dw - dw // 2, dh // 2, dh - dh // 2


@MODELS.register_module()
class OpenVocabCLIP(TrainingFreeSegmentor):
    """Open-vocabulary segmentation by a CLIP's dense features, as SCLIP / ClearCLIP / NACLIP's released code scores.

    Per crop (``test_cfg`` slide mode) or image: the cosine similarity of each patch's dense embedding to each class
    name's text embedding (names and synonyms are separate queries), upsampled bilinearly to the crop. Crops are
    averaged; the logits are resized to the original image, optionally refined by PAMR, multiplied by
    ``logit_scale`` and soft-maxed over all queries; a class scores the max over its synonyms; pixels whose best
    score is below ``prob_thd`` become ``background_index``.

    Args:
        clip: ``OpenCLIPBackbone`` (``short_side=None``, its ``attention`` / ``keep_residual`` set per method) or
            ``GEMBackbone`` (``image_size=None``) config.
        templates: prompt templates averaged per name, or ``'openai_imagenet'`` (CLIP's 80, the family's default).
        logit_scale: the softmax's scale of the cosine similarities (SCLIP / NACLIP 40, ClearCLIP 50; per
            benchmark where the released configs say so).
        prob_thd: the background threshold on the best class probability (0: off).
        area_thd: SCLIP's VOC rule: a non-background class whose predicted area is at most this fraction of all
            non-background pixels is dropped (None: off).
        background_index: the class that low-probability pixels take (the first line of the class-name file).
        pamr_steps / pamr_dilations: PAMR refinement of the logits at the original size (NACLIP: 10, (8, 16);
            0: off).
    """

    def __init__(self, clip: dict, data_preprocessor: Optional[dict] = None, class_names=None,
                 templates: Union[str, Sequence[str]] = 'openai_imagenet', logit_scale: float = 40.0,
                 prob_thd: float = 0.0, area_thd: Optional[float] = None, background_index: int = 0,
                 pamr_steps: int = 0, pamr_dilations: Sequence[int] = (8, 16), test_cfg: Optional[dict] = None,
                 init_cfg=None):
        self.templates = resolve_templates(templates)
        if logit_scale <= 0:
            raise ValueError(f'logit_scale must be positive, got {logit_scale}')
        if not 0 <= prob_thd <= 1 or (area_thd is not None and not 0 <= area_thd <= 1):
            raise ValueError(f'prob_thd and area_thd must be in [0, 1], got {prob_thd}, {area_thd}')
        if pamr_steps < 0 or (pamr_steps and (not pamr_dilations or min(pamr_dilations) < 1)):
            raise ValueError(f'pamr_steps must be >= 0 and pamr_dilations positive, got {pamr_steps}, '
                             f'{pamr_dilations}')
        self.logit_scale, self.prob_thd, self.area_thd = float(logit_scale), float(prob_thd), area_thd
        self.background_index = int(background_index)
        self.pamr_steps, self.pamr_dilations = int(pamr_steps), tuple(int(d) for d in pamr_dilations)
        self._query_cache: Optional[tuple[Tensor, Tensor]] = None
        super().__init__(data_preprocessor, class_names, test_cfg, init_cfg)
        self.clip = MODELS.build(clip)
        self.freeze()

    def on_vocabulary_change(self) -> None:
        self._query_cache = None

    def queries(self) -> tuple[Tensor, Tensor]:
        """(Q, E) normalised text embeddings, one per name and synonym, and (Q,) the class of each."""
        if self._query_cache is None:
            self.num_classes  # the "no vocabulary" error when there is none
            names = [(c, name) for c, synonyms in enumerate(self.class_names) for name in synonyms]
            text = self.clip.class_embeddings([[name] for _, name in names], self.templates)
            self._query_cache = text, torch.tensor([c for c, _ in names], device=text.device)
        return self._query_cache

    @property
    def pad_multiple(self) -> int:
        """Inputs are zero-padded to multiples of this (CLIP's patch size)."""
        return self.clip.patch_size

    def dense_features(self, x: Tensor) -> Tensor:
        """(B, E, h, w) L2-normalised dense CLIP embeddings of a padded input."""
        return self.clip.dense_features(x)

    def encode_decode(self, inputs: Tensor, batch_img_metas: list[dict]) -> Tensor:
        """(B, Q, H, W) cosine similarities of the dense features to every query, at the size of ``inputs``: the
        input is zero-padded, centred, to a multiple of ``pad_multiple`` and the padding cut from the logits."""
        text, _ = self.queries()
        h, w = inputs.shape[2:]
        left, right, top, bottom = centred_padding(h, w, self.pad_multiple)
        x = F.pad(inputs, (left, right, top, bottom)) if left + right + top + bottom else inputs
        logits = torch.einsum('behw,qe->bqhw', self.dense_features(x), text.to(inputs.device))
        logits = F.interpolate(logits, x.shape[2:], mode='bilinear', align_corners=False)
        return logits[:, :, top:top + h, left:left + w]

    def scores(self, logits: Tensor) -> Tensor:
        """(C, H, W) class probabilities from one image's (Q, H, W) cosine logits: softmax over queries with
        ``logit_scale``, max over each class's synonyms, SCLIP's area rule."""
        _, owner = self.queries()
        probs = (logits * self.logit_scale).softmax(0)
        index = owner.to(probs.device).view(-1, 1, 1).expand_as(probs)
        scores = probs.new_zeros((self.num_classes, *probs.shape[1:])).scatter_reduce(0, index, probs, 'amax')
        if self.area_thd is not None:
            keep = torch.ones(self.num_classes, dtype=torch.bool, device=scores.device)
            others = [c for c in range(self.num_classes) if c != self.background_index]
            area = torch.bincount(scores.argmax(0).flatten(), minlength=self.num_classes)[others].float()
            keep[others] = area > self.area_thd * area.sum()
            scores = scores * keep.view(-1, 1, 1)
        return scores

    @torch.no_grad()
    def predict(self, inputs: Tensor, data_samples: SampleList = None) -> SampleList:
        metas = self._metas(inputs, data_samples)
        logits = self.inference(inputs, metas)
        if data_samples is None:
            from mmseg.structures import SegDataSample
            data_samples = [SegDataSample(metainfo=m) for m in metas]
        for i, (meta, sample) in enumerate(zip(metas, data_samples)):
            left, right, top, bottom = meta.get('padding_size', (0, 0, 0, 0))
            h, w = logits.shape[2:]
            x = logits[i:i + 1, :, top:h - bottom, left:w - right]
            size = tuple(meta['ori_shape'][:2])
            x = F.interpolate(x, size, mode='bilinear', align_corners=False)
            if self.pamr_steps:
                image = F.interpolate(inputs[i:i + 1, :, top:h - bottom, left:w - right].float(), size,
                                      mode='bilinear', align_corners=False)
                x = pamr(image, x, self.pamr_steps, self.pamr_dilations)
            scores = self.scores(x[0])
            best, pred = scores.max(0, keepdim=True)
            pred[best < self.prob_thd] = self.background_index
            sample.set_data(dict(seg_logits=PixelData(data=scores), pred_sem_seg=PixelData(data=pred)))
        return data_samples


@MODELS.register_module()
class ProxyCLIP(OpenVocabCLIP):
    """ProxyCLIP (Lan et al., ECCV 2024): :class:`OpenVocabCLIP` whose CLIP last block attends with a proxy attention
    from a frozen vision foundation model (``vfm``, e.g. DINO ViT-B/8) over CLIP's values, on the VFM's patch grid
    (the CLIP backbone's ``attention='proxy'``, ``proxy_beta`` / ``proxy_gamma``).

    Its arguments besides :class:`OpenVocabCLIP`'s are listed below.

    Args:
        vfm: the vision foundation model's config (``TimmViTBackbone``).
        pad_multiple: crops are zero-padded, centred, to multiples of this (ProxyCLIP's code: 56, for every pair of
            models); a model whose patch size does not divide it drops the remainder (its patch grid is floored, as
            in ProxyCLIP's code: 56 / 16 for CLIP ViT-B/16). None: the least common multiple of the patch sizes.
    """

    def __init__(self, clip: dict, vfm: dict, pad_multiple: Optional[int] = None, **kwargs):
        super().__init__(clip, **kwargs)
        if self.clip.attention != 'proxy':
            raise ValueError(f"ProxyCLIP needs clip.attention='proxy', got {self.clip.attention!r}")
        self.vfm = MODELS.build(vfm)
        if pad_multiple is not None and pad_multiple < 1:
            raise ValueError(f'ProxyCLIP.pad_multiple must be a positive number of pixels, got {pad_multiple}')
        self._pad_multiple = (math.lcm(self.clip.patch_size, self.vfm.patch_size) if pad_multiple is None
                              else int(pad_multiple))
        self.freeze()

    @property
    def pad_multiple(self) -> int:
        return self._pad_multiple

    def dense_features(self, x: Tensor) -> Tensor:
        return self.clip.dense_features(x, proxy=self.vfm.dense_features(x))
