"""GEM (Bousselham et al. 2024, "Grounding Everything"): open_clip's ViT with a parallel self-self attention
path in its last blocks, whose patch tokens are dense features aligned with the text embeddings.

Implemented from GEM's formulas on open_clip 3.x (the ``gem_torch`` package pins open_clip <= 2.23 and runs
silently wrong on 3.x).
"""
from __future__ import annotations

from typing import Optional, Sequence

import torch
import torch.nn.functional as F
from torch import Tensor

from ...registry import MODELS
from .open_clip import OpenCLIPBackbone, interpolate_positions


def self_self_attention(qkv: Sequence[Tensor], value: Tensor, inv_temp: Tensor | float, iterations: int) -> Tensor:
    """GEM's self-self attention of one block: for each of q, k, v (B, H, N, d), ``iterations`` steps of
    x <- softmax(inv_temp * n(x) n(x)^T) n(x) (n: L2 normalisation), then a last
    softmax(inv_temp * n(x) n(x)^T) @ value; the three results averaged."""
    out = 0
    for x in qkv:
        for _ in range(iterations):
            x = F.normalize(x, dim=-1)
            x = (inv_temp * x @ x.transpose(-1, -2)).softmax(-1) @ x
        x = F.normalize(x, dim=-1)
        out = out + (inv_temp * x @ x.transpose(-1, -2)).softmax(-1) @ value
    return out / len(qkv)


@MODELS.register_module()
class GEMBackbone(OpenCLIPBackbone):
    """A frozen open_clip ViT with GEM's self-self attention path.

    Arguments besides :class:`OpenCLIPBackbone`'s model_name / pretrained / model_config_dir / dtype / device.

    Args:
        image_size: (h, w) the image is resized to, aspect not kept (GEM: 448 x 448); the positional
            embedding is interpolated to the patch grid. None: images (or slide crops) go in at their own size.
        gem_depth: GEM replaces the attention of the last ``gem_depth - 1`` blocks (GEM: 7, the last 6).
        ss_attn_iter: self-self iterations before the final assignment to v (GEM: 1).
        ss_attn_temp: a fixed inverse temperature, or None for GEM's adaptive one: per image, the mean over
            tokens of ||ln_1(x)_i|| times head_dim^-0.5.
        gem: False runs only the original path (then dense features are the plain ViT's patch tokens).
    """

    def __init__(self, model_name: str = 'ViT-B-16-quickgelu', pretrained: Optional[str] = 'metaclip_400m',
                 model_config_dir: Optional[str] = None, image_size: Optional[Sequence[int]] = (448, 448),
                 gem_depth: int = 7, ss_attn_iter: int = 1, ss_attn_temp: Optional[float] = None, gem: bool = True,
                 dtype: str = 'float32', device: Optional[str] = None, cache_dir: Optional[str] = None,
                 config_field: str = 'model.clip', init_cfg=None):
        super().__init__(model_name, pretrained, model_config_dir,
                         short_side=None if image_size is None else min(image_size), keep_residual=True,
                         dtype=dtype, device=device, cache_dir=cache_dir, config_field=config_field,
                         init_cfg=init_cfg)
        blocks = len(self.model.visual.transformer.resblocks)
        if not 1 <= gem_depth <= blocks + 1:
            raise ValueError(f'GEMBackbone.gem_depth must be in 1..{blocks + 1} (the ViT has {blocks} blocks), '
                             f'got {gem_depth}')
        if ss_attn_iter < 0:
            raise ValueError(f'GEMBackbone.ss_attn_iter must be >= 0, got {ss_attn_iter}')
        self.image_size = None if image_size is None else tuple(int(s) for s in image_size)
        self.gem_depth = int(gem_depth)
        self.ss_attn_iter, self.ss_attn_temp, self.gem = int(ss_attn_iter), ss_attn_temp, gem

    def input_size(self, h: int, w: int) -> tuple[int, int]:
        return (h, w) if self.image_size is None else self.image_size

    def gem_attention(self, block, x: Tensor) -> Tensor:
        """The GEM path's attention output (before ls_1) of one block for the original path's tokens x."""
        attn = block.attn
        y = block.ln_1(x)
        b, n, c = y.shape
        heads = attn.num_heads
        q, k, v = (t.reshape(b, n, heads, c // heads).transpose(1, 2)
                   for t in F.linear(y, attn.in_proj_weight, attn.in_proj_bias).chunk(3, dim=-1))
        if self.ss_attn_temp is None:
            inv_temp = y.norm(dim=-1).mean(-1).view(b, 1, 1, 1) * (c // heads) ** -0.5
        else:
            inv_temp = self.ss_attn_temp
        out = self_self_attention((v, k, q), v, inv_temp, self.ss_attn_iter)
        return attn.out_proj(out.transpose(1, 2).reshape(b, n, c))

    @torch.no_grad()
    def forward_tokens(self, images: Tensor) -> tuple[Optional[Tensor], Tensor]:
        """(GEM path, original path) tokens (B, 1 + h*w, E), class token first, after ln_post and the
        projection into the text space, for RGB ``images`` in [-1, 1]; the GEM path is None if ``gem`` is off."""
        visual = self.model.visual
        dtype = visual.conv1.weight.dtype
        self.image_passes += images.shape[0]
        x = self.normalize(images)
        if self.image_size is not None and tuple(x.shape[2:]) != self.image_size:
            x = F.interpolate(x, self.image_size, mode='bicubic', align_corners=False, antialias=True)
        x = visual.conv1(x.to(dtype))
        self.grid = tuple(x.shape[2:])
        x = x.flatten(2).transpose(1, 2)
        cls = visual.class_embedding.to(dtype).view(1, 1, -1).expand(x.shape[0], -1, -1)
        x = visual.ln_pre(torch.cat([cls, x], 1) + interpolate_positions(visual.positional_embedding,
                                                                         self.grid).to(dtype))
        if not getattr(visual.transformer, 'batch_first', True):
            raise RuntimeError('GEMBackbone needs open_clip >= 3 (batch-first transformer blocks)')
        blocks = visual.transformer.resblocks
        start = len(blocks) - (self.gem_depth - 1)
        x_gem = None
        for i, block in enumerate(blocks):
            if self.gem and i >= start:
                x_gem = (x if x_gem is None else x_gem) + block.ls_1(self.gem_attention(block, x))
            x = block(x)
        project = (lambda t: visual.ln_post(t) @ visual.proj)
        return (project(x_gem) if x_gem is not None else None), project(x)

    @torch.no_grad()
    def dense_features(self, images: Tensor) -> Tensor:
        """(B, E, h, w) L2-normalised patch embeddings: GEM's path, or the original one if ``gem`` is off."""
        gem, ori = self.forward_tokens(images)
        tokens = (gem if gem is not None else ori)[:, 1:]
        return F.normalize(tokens.float(), dim=-1).transpose(1, 2).reshape(tokens.shape[0], -1, *self.grid)
