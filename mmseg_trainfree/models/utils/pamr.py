"""PAMR, pixel-adaptive mask refinement (Araslanov & Roth, "Single-Stage Semantic Segmentation from Image Labels",
CVPR 2020): masks repeatedly replaced by an image-affinity-weighted average of their dilated 8-neighbourhoods.
NACLIP refines its logits with it (10 steps, dilations 8 and 16); DiffCut its concept assignment."""
from __future__ import annotations

from typing import Sequence

import torch
import torch.nn.functional as F
from torch import Tensor

# (dy, dx) of the 8 neighbours of a 3 x 3 window, dilation 1
_NEIGHBOURS = [(dy, dx) for dy in (-1, 0, 1) for dx in (-1, 0, 1) if (dy, dx) != (0, 0)]


def _shifted(x: Tensor, offsets: Sequence[tuple[int, int]], dilations: Sequence[int]) -> Tensor:
    """(B, C, P, H, W): x at p + d * offset for every dilation d and offset, borders replicated."""
    h, w = x.shape[-2:]
    out = []
    for d in dilations:
        padded = F.pad(x, [d] * 4, mode='replicate')
        out.extend(padded[..., d + d * dy:d + d * dy + h, d + d * dx:d + d * dx + w] for dy, dx in offsets)
    return torch.stack(out, 2)


def pamr_affinity(image: Tensor, dilations: Sequence[int] = (8, 16)) -> Tensor:
    """(B, P, H, W) weights of the P = 8 x len(dilations) neighbours of each pixel, summing to 1: the softmax over
    neighbours of -|I(p) - I(q)| / (0.1 sigma(p)), averaged over channels, sigma(p) the standard deviation of each
    channel over p's 3 x 3 windows (all dilations)."""
    if not dilations or min(dilations) < 1:
        raise ValueError(f'PAMR dilations must be positive integers, got {dilations}')
    image = image.float()
    window = _shifted(image, [(0, 0)] + _NEIGHBOURS, dilations)  # centre repeated per dilation, as PAMR's kernel
    sigma = window.std(2, keepdim=True)
    difference = (image.unsqueeze(2) - _shifted(image, _NEIGHBOURS, dilations)).abs()
    return (-difference / (1e-8 + 0.1 * sigma)).mean(1).softmax(1)


def pamr(image: Tensor, masks: Tensor, steps: int = 10, dilations: Sequence[int] = (8, 16)) -> Tensor:
    """Refine ``masks`` (B, K, h, w), resized bilinearly (align_corners) to ``image`` (B, C, H, W), by ``steps``
    rounds of m(p) <- sum_q a(p, q) m(q) over p's dilated neighbours q."""
    if steps < 0:
        raise ValueError(f'PAMR steps must be >= 0, got {steps}')
    masks = F.interpolate(masks.float(), image.shape[-2:], mode='bilinear', align_corners=True)
    weights = pamr_affinity(image, dilations).unsqueeze(2)  # (B, P, 1, H, W)
    h, w = masks.shape[-2:]
    offsets = [(d, dy, dx) for d in dilations for dy, dx in _NEIGHBOURS]  # the order of pamr_affinity's P
    for _ in range(steps):  # one neighbour at a time: no (B, K, P, H, W) tensor for large vocabularies
        padded = {d: F.pad(masks, [d] * 4, mode='replicate') for d in dilations}
        masks = sum(padded[d][..., d + d * dy:d + d * dy + h, d + d * dx:d + d * dx + w] * weights[:, j]
                    for j, (d, dy, dx) in enumerate(offsets))
    return masks
