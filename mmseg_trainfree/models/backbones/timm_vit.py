"""A frozen vision foundation model (a timm ViT: DINO, DINOv2, ...) whose last block's normalised patch tokens are
dense features: ProxyCLIP's proxy (Lan et al., ECCV 2024)."""
from __future__ import annotations

import os.path as osp
from typing import Optional, Sequence

import torch
from torch import Tensor

from ...registry import MODELS
from .frozen_encoder import FrozenImageEncoder
from .hub import ModelNotAvailableError, resolve_dtype

IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)


@MODELS.register_module()
class TimmViTBackbone(FrozenImageEncoder):
    """``timm.create_model(model_name)``, frozen, at any input size (``dynamic_img_size``).

    Args:
        model_name: a timm ViT name with its pretrained tag, e.g. ``'vit_base_patch8_224.dino'`` (ProxyCLIP's DINO
            ViT-B/8) or ``'vit_base_patch14_reg4_dinov2.lvd142m'`` (DINOv2 ViT-B/14 with registers).
        checkpoint: a local weights file (``.safetensors`` / ``.pth`` / ``.bin``) for ``model_name``'s architecture;
            None downloads the tag's weights from the hub (``pretrained=False``: random weights, for benchmarks).
        pretrained: load weights at all; False builds the architecture with random weights drawn from ``seed``
            (benchmarks of cost, and the shapes oracle's proxy, for which no trained model exists).
        model_kwargs: architecture overrides passed to ``create_model`` (e.g. a tiny ``embed_dim`` / ``depth``).
        mean / std: the input normalisation (ImageNet's, as DINO and ProxyCLIP use).
    """

    def __init__(self, model_name: str = 'vit_base_patch8_224.dino', checkpoint: Optional[str] = None,
                 pretrained: bool = True, seed: int = 0, model_kwargs: Optional[dict] = None,
                 mean: Sequence[float] = IMAGENET_MEAN, std: Sequence[float] = IMAGENET_STD, dtype: str = 'float32',
                 device: Optional[str] = None, config_field: str = 'model.vfm', init_cfg=None):
        super().__init__(init_cfg)
        import timm
        kwargs = dict(model_kwargs or {}, num_classes=0, dynamic_img_size=True)
        if checkpoint is not None:
            if not osp.isfile(checkpoint):
                raise ModelNotAvailableError(f'{config_field}.checkpoint {checkpoint!r} does not exist (relative paths '
                                             'start from the working directory)')
            kwargs['pretrained_cfg_overlay'] = dict(file=checkpoint)
        try:
            if not pretrained:
                torch.manual_seed(seed)
            model = timm.create_model(model_name, pretrained=pretrained, **kwargs)
        except RuntimeError as e:  # timm reports unknown names as RuntimeError
            if 'Unknown model' in str(e):
                raise ValueError(f'{config_field}.model_name {model_name!r} is not a timm model ({e})') from e
            raise ModelNotAvailableError(f'timm model {model_name!r} cannot load its weights ({e})') from e
        except (OSError, ValueError) as e:
            raise ModelNotAvailableError(
                f'timm model {model_name!r} is not available ({e}). Download it on a machine with hub access, or give '
                f'a local weights file: --cfg-options {config_field}.checkpoint=/path/to/model.safetensors') from e
        if not hasattr(model, 'patch_embed') or not hasattr(model, 'num_prefix_tokens'):
            raise ValueError(f'{config_field}.model_name {model_name!r} is not a ViT with patch tokens')
        self.model = model.to(device or 'cpu', resolve_dtype(dtype)).eval().requires_grad_(False)
        self.image_passes = 0  # images through the model so far (tools/benchmark.py)
        self.set_normalization(mean, std)

    @property
    def patch_size(self) -> int:
        patch = self.model.patch_embed.patch_size
        return patch[0] if isinstance(patch, (tuple, list)) else patch

    @torch.no_grad()
    def dense_features(self, images: Tensor) -> Tensor:
        """(B, C, h, w) patch tokens of the last block, after the model's final norm (DINO's
        ``get_intermediate_layers``), for RGB ``images`` in [-1, 1]: h, w = the sides // the patch size (the strided
        patch convolution drops a remainder, as DINO's own ViT does on ProxyCLIP's 56-padded crops)."""
        h, w = images.shape[2:]
        if h < self.patch_size or w < self.patch_size:
            raise ValueError(f'TimmViTBackbone: input {h} x {w} is smaller than the patch size {self.patch_size}')
        self.image_passes += images.shape[0]
        p = self.patch_size
        x = self.normalize(images[:, :, :h // p * p, :w // p * p])  # what a strided convolution reads
        tokens = self.model.forward_features(x.to(next(self.model.parameters()).dtype))
        patches = tokens[:, self.model.num_prefix_tokens:]
        return patches.transpose(1, 2).reshape(x.shape[0], -1, h // p, w // p).float()

