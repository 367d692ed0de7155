"""Stable Diffusion attention maps of one UNet pass, aggregated as the language-based segmentation report
(Le's report, Sec. 3.3) and DiffSeg do: self-attention over all resolutions with DiffSeg's (or the report's
per-layer) weights, and class-token cross-attention with weights inversely proportional to the resolution."""
from __future__ import annotations

from typing import Optional, Sequence

import torch
from torch import Tensor

from ..attention import AttentionAccumulator, AttentionRecorder, attention_hooks, spatial_shape
from .attention_merging import aggregate_self_attention, check_weighting
from .resize import check_resize_mode, resize


@torch.no_grad()
def sd_attention(backbone, latents: Tensor, timestep: int, text: Tensor, self_layers: str | Sequence[str] = '*attn1',
                 cross_layers: Optional[str | Sequence[str]] = None, key_index: Optional[Tensor] = None,
                 self_weighting: str = 'per_resolution', cross_weighting: str = 'per_resolution',
                 cross_upsample: str = 'bilinear') -> tuple[Tensor, Optional[Tensor]]:
    """One UNet pass of ``latents`` (B, 4, h, w) with ``text`` (B, L, D).

    Returns the aggregated self-attention (B, h*w, h*w) (``self_weighting``: DiffSeg's weights per resolution,
    or 'per_layer' as the report's code), and, if ``cross_layers`` is set,
    the cross-attention probabilities of the ``key_index`` tokens, heads averaged, upsampled to (h, w)
    (``cross_upsample``: 'bilinear' or 'bicubic', antialiased as the report's ``upscale_attn``) and summed with
    weights inversely proportional to the side, normalised to 1: (B, K, h, w). ``cross_weighting``:
    'per_resolution' (each resolution's layers averaged first) or 'per_layer' (each layer weighs 1 / side, as
    the report's ``average_attention_layers``: SD's one 8 x 8 layer then weighs 1/8 against six 64 x 64 ones).
    """
    accumulator = AttentionAccumulator(self_layers)
    hooks = [accumulator]
    recorder = None
    if cross_layers is not None:
        recorder = AttentionRecorder(cross_layers, 'probs', head_mean=True, key_index=key_index)
        hooks.append(recorder)
    with attention_hooks(backbone.unet, hooks):
        backbone.unet_forward(latents, timestep, text)
    latent_hw = tuple(latents.shape[2:])
    per_layer = check_weighting(self_weighting) == 'per_layer'
    count_layers = check_weighting(cross_weighting, 'cross-attention weighting') == 'per_layer'
    check_resize_mode(cross_upsample, 'cross_upsample')
    self_attention = aggregate_self_attention(accumulator.means, latent_hw,
                                              accumulator.layer_counts if per_layer else None)
    if recorder is None:
        return self_attention, None
    by_size: dict[int, list[Tensor]] = {}
    for maps in recorder['probs'].values():
        by_size.setdefault(maps[0].shape[1], []).append(maps[0].float())
    sides = {n: spatial_shape(n, latent_hw) for n in by_size}
    weights = {n: (len(maps) if count_layers else 1) / sides[n][0] for n, maps in by_size.items()}
    norm = sum(weights.values())
    cross = 0
    for n, maps in by_size.items():
        m = torch.stack(maps).mean(0)  # (B, n, K); upsampling is linear, so the mean commutes with it
        m = m.transpose(1, 2).reshape(m.shape[0], m.shape[2], *sides[n])
        cross = cross + resize(m, latent_hw, cross_upsample) * (weights[n] / norm)
    return self_attention, cross
