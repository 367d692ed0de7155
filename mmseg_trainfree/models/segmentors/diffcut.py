"""DiffCut (Couairon, Shukor, Haugeard, Cord, Thome, NeurIPS 2024): zero-shot segments from the output of the last
self-attention of a diffusion UNet's encoder, by a recursive normalised cut, assigned at high resolution to the
upsampled features and refined by PAMR. Cluster ids are the prediction (evaluate with ``HungarianIoUMetric``)."""
from __future__ import annotations

import re
from typing import Optional, Sequence

import numpy as np
import torch
import torch.nn.functional as F
from torch import Tensor

from ...registry import MODELS
from ..attention.features import FeatureRecorder
from ..utils.ncut import diffcut_affinity, recursive_ncut
from ..utils.pamr import pamr
from .base import require_whole_mode
from .diffusion_base import DiffusionFeatureSegmentor

_ENCODER_SELF_ATTENTION = re.compile(r'down_blocks\.(\d+)\.attentions\.(\d+)\.transformer_blocks\.(\d+)\.attn1')


def last_encoder_self_attention(unet) -> str:
    """The name of the UNet encoder's last self-attention module (DiffCut's feature layer: SDXL / SSD-1B's
    ``down_blocks.2.attentions.1.transformer_blocks.<last>.attn1``, SD v1's ``down_blocks.2.attentions.1...``)."""
    names = [n for n, _ in unet.named_modules() if _ENCODER_SELF_ATTENTION.fullmatch(n)]
    if not names:
        raise ValueError('DiffCut: the UNet has no self-attention in its down blocks')
    return max(names, key=lambda n: tuple(int(i) for i in _ENCODER_SELF_ATTENTION.fullmatch(n).groups()))


def concept_assignment(features: Tensor, segments: Tensor, size: tuple[int, int]) -> Tensor:
    """DiffCut's high-resolution concept assignment: each segment's concept is the mean of its L2-normalised
    features (C, h, w); the normalised features upsampled bilinearly to ``size`` take the concept of highest dot
    product. (H, W) segment ids."""
    f = F.normalize(features.float(), dim=0)
    onehot = F.one_hot(segments.flatten(), int(segments.max()) + 1).float()  # (h*w, K)
    concepts = (onehot.T @ f.flatten(1).T) / onehot.sum(0)[:, None]  # (K, C)
    up = F.interpolate(f[None], size, mode='bilinear', align_corners=False)[0]
    return torch.einsum('chw,kc->khw', up, concepts).argmax(0)


def refine_segments(image: Tensor, labels: Tensor, steps: int, dilations: Sequence[int], median: int) -> Tensor:
    """DiffCut's refinement: PAMR of the one-hot masks of the segments on ``image`` (3, H, W) at the labels' size,
    argmax, then a ``median`` x ``median`` median filter (0: none). Segment ids are kept (absent ids stay absent)."""
    ids = labels.unique()
    masks = (labels[None] == ids[:, None, None]).float()[None]
    refined = ids[pamr(image[None], masks, steps, dilations)[0].argmax(0)]
    if median:
        from scipy.ndimage import median_filter
        refined = torch.from_numpy(median_filter(refined.cpu().numpy(), size=median)).to(labels.device)
    return refined


@MODELS.register_module()
class DiffCut(DiffusionFeatureSegmentor):
    """DiffCut on a frozen diffusion UNet (SSD-1B in the paper; SD v1.x / v2.x / SDXL backbones work alike).

    One UNet pass on the latent of the image resized to ``image_size``, noised to ``timestep`` with a fixed draw,
    conditioned on ``prompt``; the output of ``feature_layer`` (the encoder's last self-attention) is cut into
    segments by :func:`recursive_ncut` of :func:`diffcut_affinity` (``alpha``, ``tau``); the segments' mean features
    label the features upsampled to ``mask_size`` (:func:`concept_assignment`); PAMR and a median filter refine them.

    Its arguments besides :class:`DiffusionFeatureSegmentor`'s are listed below.

    Args:
        feature_layer: the hooked module (None: :func:`last_encoder_self_attention`).
        prompt: the text condition (DiffCut: the empty prompt, no guidance).
        tau: the Ncut threshold that stops the recursion: larger gives more segments (DiffCut: 0.5).
        alpha: the affinity exponent (DiffCut: 10).
        num_thresholds: split points searched along the eigenvector (DiffCut: 100).
        mask_size: the resolution of the concept assignment and of the prediction (DiffCut: 128 x 128).
        refinement / pamr_steps / pamr_dilations / median_filter: DiffCut's ``--refinement`` (PAMR 10 steps,
            dilations 1, 2, 4, 8, on the image at ``mask_size``; then a 3 x 3 median filter).

    ``seg_logits`` are one channel per segment (1 on its pixels) at ``mask_size``, DiffCut's prediction, which mmseg
    resizes to the scored size (DiffCut's protocol scores at 128 x 128: no resize); images of a batch with fewer
    segments get -inf channels. Slide mode is refused: segments are per input.
    """

    def __init__(self, backbone: dict, data_preprocessor: Optional[dict] = None,
                 feature_layer: Optional[str] = None, image_size: Optional[Sequence[int]] = (1024, 1024),
                 timestep: int = 50, add_noise: bool = True, seed: int = 42, prompt: str = '', tau: float = 0.5,
                 alpha: float = 10.0, num_thresholds: int = 100, mask_size: Sequence[int] = (128, 128),
                 refinement: bool = True, pamr_steps: int = 10, pamr_dilations: Sequence[int] = (1, 2, 4, 8),
                 median_filter: int = 3, test_cfg: Optional[dict] = None, init_cfg=None):
        require_whole_mode(test_cfg, 'DiffCut segments each input on its own')
        if tau <= 0 or alpha <= 0 or num_thresholds < 1:
            raise ValueError(f'DiffCut needs tau > 0, alpha > 0 and num_thresholds >= 1, got {tau}, {alpha}, '
                             f'{num_thresholds}')
        super().__init__(backbone, data_preprocessor, None, image_size, timestep, add_noise, seed, (), test_cfg,
                         init_cfg)
        self._feature_layer = feature_layer
        self.prompt, self.tau, self.alpha, self.num_thresholds = prompt, float(tau), float(alpha), int(num_thresholds)
        self.mask_size = tuple(int(s) for s in mask_size)
        self.refinement, self.pamr_steps = bool(refinement), int(pamr_steps)
        self.pamr_dilations, self.median_filter = tuple(pamr_dilations), int(median_filter)
        self.freeze()

    @property
    def num_classes(self) -> int:
        return int(np.prod(self.mask_size))  # at most one segment per pixel of the prediction

    def set_vocabulary(self, classes) -> None:
        """Segments need no vocabulary; the dataset's classes are only used by the metric."""

    @property
    def feature_layer(self) -> str:
        """The hooked module's name (resolved on first use: a lazy backbone's UNet is not loaded at build)."""
        return self._feature_layer or last_encoder_self_attention(self.backbone.unet)

    def features(self, images: Tensor) -> Tensor:
        """(B, C, h, w): ``feature_layer``'s output of one UNet pass on the noised latents of ``images`` (resized)."""
        latents = self.noisy_latents(images)
        backbone = self.backbone
        text = backbone.encode_prompts([self.prompt])
        extra = dict(pooled=backbone.encode_pooled([self.prompt])) if hasattr(backbone, 'encode_pooled') else {}
        with FeatureRecorder(backbone.unet, [self.feature_layer]) as recorded:
            backbone.unet_forward(latents, self.timestep, text, **extra)
        tokens = recorded[self.feature_layer][0]  # (B, h*w, C)
        scale = round((latents.shape[2] * latents.shape[3] / tokens.shape[1]) ** 0.5)
        h, w = latents.shape[2] // scale, latents.shape[3] // scale
        return tokens.transpose(1, 2).reshape(tokens.shape[0], -1, h, w).float()

    def segment(self, features: Tensor, image: Tensor) -> Tensor:
        """(mask_h, mask_w) segment ids of one image's features (C, h, w); ``image`` (3, H, W) for PAMR."""
        segments = recursive_ncut(diffcut_affinity(features.flatten(1).T, self.alpha), self.tau,
                                  self.num_thresholds).view(features.shape[1:])
        labels = concept_assignment(features, segments, self.mask_size)
        if self.refinement:
            small = F.interpolate(image[None].float(), self.mask_size, mode='bilinear', align_corners=False)[0]
            labels = refine_segments(small, labels, self.pamr_steps, self.pamr_dilations, self.median_filter)
        return labels.unique(return_inverse=True)[1].view(labels.shape)  # ids 0..K-1

    def encode_decode(self, inputs: Tensor, batch_img_metas: list[dict]) -> Tensor:
        resized = self.resize_input(inputs)
        feats = self.cached_per_image('diffcut_features', resized, dict(
            layer=self.feature_layer, size=tuple(resized.shape[2:]), timestep=self.timestep, add_noise=self.add_noise,
            seed=self.seed, prompt=self.prompt), lambda x: dict(features=self.features(x)))['features']
        labels = [self.segment(f, image) for f, image in zip(feats, resized)]
        k = max(int(lb.max()) + 1 for lb in labels)
        out = []
        for lb in labels:
            onehot = F.one_hot(lb, k).permute(2, 0, 1).float()
            onehot[int(lb.max()) + 1:] = float('-inf')
            out.append(onehot)
        return torch.stack(out)
