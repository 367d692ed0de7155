"""What the Stable Diffusion feature segmentors share: the frozen backbone, the input size, the noised
latent of the single UNet pass, and the internal feature layers."""
from __future__ import annotations

import math
from typing import Optional, Sequence

import torch
from torch import Tensor

from ...registry import MODELS
from ..utils.resize import check_resize_mode, resize
from ..utils.sd_attention import sd_attention
from .base import TrainingFreeSegmentor

DEFAULT_FEATURE_LAYERS = ('up_blocks.0.resnets.2', 'up_blocks.1.attentions.2', 'up_blocks.2.attentions.2')


class DiffusionFeatureSegmentor(TrainingFreeSegmentor):
    """Base of segmentors that run one UNet pass of a frozen Stable Diffusion on a (noised) latent.

    Args:
        backbone: ``StableDiffusionBackbone`` config.
        image_size: (h, w) the image (or crop) is resized to before the VAE; None rounds each side up
            to a multiple of 64 (the UNet needs latents divisible by 8).
        timestep: t of the single UNet pass.
        add_noise: noise the latent to ``timestep`` (seeded by ``seed``, the same draw for every image).
        feature_layers: modules whose outputs are the internal features f (if the method uses them).

    ``input_resize`` (a subclass's field where its reference code differs): how the image reaches
    ``image_size``: 'bilinear' (no antialiasing, as ``F.interpolate`` in most official code) or 'bicubic'
    (antialiased, PIL's / torchvision's ``Resize(BICUBIC)`` on PIL images).
    """

    input_resize = 'bilinear'

    def __init__(self, backbone: dict, data_preprocessor: Optional[dict] = None, class_names=None,
                 image_size: Optional[Sequence[int]] = (512, 512), timestep: int = 1, add_noise: bool = True,
                 seed: int = 0, feature_layers: Sequence[str] = DEFAULT_FEATURE_LAYERS,
                 test_cfg: Optional[dict] = None, init_cfg=None):
        super().__init__(data_preprocessor, class_names, test_cfg, init_cfg)
        self.backbone = MODELS.build(backbone)
        self.image_size = None if image_size is None else tuple(image_size)
        self.timestep, self.add_noise, self.seed = int(timestep), add_noise, seed
        self.feature_layers = list(feature_layers)

    def model_input_size(self, h: int, w: int) -> tuple[int, int]:
        if self.image_size is not None:
            return self.image_size
        m = 8 * self.backbone.latent_factor
        return max(m, math.ceil(h / m) * m), max(m, math.ceil(w / m) * m)

    def resize_input(self, inputs: Tensor) -> Tensor:
        size = self.model_input_size(*inputs.shape[2:])
        if size == tuple(inputs.shape[2:]):
            return inputs
        out = resize(inputs, size, self.input_resize)
        return out.clamp(-1, 1) if self.input_resize == 'bicubic' else out  # bicubic overshoots, PIL clips

    def set_input_resize(self, mode: str) -> None:
        self.input_resize = check_resize_mode(mode, f'{type(self).__name__}.input_resize')

    def seeded_noise(self, latents: Tensor) -> Tensor:
        """Gaussian noise like ``latents``, the same seeded draw for every image of the batch."""
        noise = torch.stack([torch.randn(latents.shape[1:], generator=torch.Generator().manual_seed(self.seed))
                             for _ in range(latents.shape[0])])
        return noise.to(latents)

    def noisy_latents(self, images: Tensor) -> Tensor:
        latents = self.backbone.encode_images(images)
        if not self.add_noise:
            return latents
        return self.backbone.add_noise(latents, self.timestep, noise=self.seeded_noise(latents))

    def self_attention(self, inputs: Tensor, prompt: str, layers: str | Sequence[str],
                       weighting: str = 'per_resolution') -> tuple[Tensor, tuple[int, int]]:
        """SD self-attention of one pass on the (noised) latent with ``prompt``, aggregated over ``layers`` with
        DiffSeg's weighting (or ``weighting='per_layer'``, the report's code): (B, N, N) at the latent resolution,
        and that resolution (h, w). Cached per image (``feature_cache``): what K, the merging thresholds and the
        protocol do not change."""
        size = self.model_input_size(*inputs.shape[2:])

        def compute(x: Tensor) -> dict[str, Tensor]:
            latents = self.noisy_latents(self.resize_input(x))
            text = self.backbone.encode_prompts([prompt]).expand(latents.shape[0], -1, -1)
            return dict(self_attention=sd_attention(self.backbone, latents, self.timestep, text, layers,
                                                    self_weighting=weighting)[0])

        settings = dict(size=size, timestep=self.timestep, add_noise=self.add_noise, seed=self.seed, prompt=prompt,
                        layers=layers)
        if weighting != 'per_resolution':  # entries cached before this option keep their keys
            settings['weighting'] = weighting
        sa = self.cached_per_image('self_attention', inputs, settings, compute)['self_attention']
        f = self.backbone.latent_factor
        return sa, (size[0] // f, size[1] // f)
