"""DiffSeg (Tian et al. 2023): self-attention aggregated over the UNet's resolutions, and iterative merging of
anchor attention maps by symmetric KL divergence. Used by DiffSeg itself and by the report's DiffSegClust.

All of it runs in torch on the maps' device; anchors are merged as batched matrix products.
"""
from __future__ import annotations

from typing import Optional, Sequence

import torch
import torch.nn.functional as F
from torch import Tensor

from ..attention import spatial_shape


SELF_ATTENTION_WEIGHTINGS = ('per_resolution', 'per_layer')


def check_weighting(weighting: str, field: str = 'self-attention weighting') -> str:
    """``weighting`` if it is one of :data:`SELF_ATTENTION_WEIGHTINGS`; otherwise a ValueError naming ``field``."""
    if weighting not in SELF_ATTENTION_WEIGHTINGS:
        raise ValueError(f'{field} must be one of {SELF_ATTENTION_WEIGHTINGS}, got {weighting!r}')
    return weighting


def aggregate_self_attention(means: dict[int, Tensor], latent_hw: tuple[int, int],
                             layer_counts: Optional[dict[int, int]] = None) -> Tensor:
    """One (B, N, N) map at the latent resolution (N = h*w) from head- and layer-averaged self-attention
    (B, n_r, n_r) of each resolution r (DiffSeg, Sec. 3.1 and its code):

    - key dims upsampled bilinearly to (h, w), each map renormalised to sum to 1;
    - query dims repeated (nearest): a fine position takes the map of the coarse position covering it;
    - a weighted sum, weights proportional to the resolution's side (DiffSeg: 64:32:16:8 / 120 for SD at 512);
      with ``layer_counts`` ({n_r: layers averaged in means[n_r]}), each *layer* weighs its side, as the
      language-based segmentation report's code weighs its 16 layers (the 8 x 8 mid block: 8 / 568 for SD).

    The sum is built row-block by row-block into one (B, N, N) tensor; no per-resolution N x N copy is kept.
    """
    h, w = latent_hw
    sides = {n: spatial_shape(n, latent_hw) for n in means}
    per_resolution = {n: s[0] * (1 if layer_counts is None else layer_counts[n]) for n, s in sides.items()}
    total_side = sum(per_resolution.values())
    first = next(iter(means.values()))
    out = first.new_zeros(first.shape[0], h * w, h * w, dtype=torch.float32)
    ys, xs = torch.meshgrid(torch.arange(h), torch.arange(w), indexing='ij')
    for n, m in means.items():
        hr, wr = sides[n]
        b = m.shape[0]
        up = F.interpolate(m.float().reshape(b * n, 1, hr, wr), (h, w), mode='bilinear', align_corners=False)
        up = up.reshape(b, n, h * w)
        up = up / up.sum(-1, keepdim=True)
        parent = ((ys * hr // h) * wr + xs * wr // w).flatten().to(m.device)  # coarse query of each fine one
        out.add_(up[:, parent], alpha=per_resolution[n] / total_side)
    return out


def anchor_grid(num_points: int, hw: tuple[int, int]) -> Tensor:
    """Flat indices of DiffSeg's num_points x num_points anchors (1, 5, ..., 61 for 16 on 64 x 64)."""
    coords = []
    for side in hw:
        step = (side - 1) // (num_points - 1) if num_points > 1 else 0
        start = (side - 1 - step * (num_points - 1)) // 2
        coords.append(start + step * torch.arange(num_points))
    rows, cols = torch.meshgrid(coords[0], coords[1], indexing='ij')
    return (rows * hw[1] + cols).flatten()


def symmetric_kl(a: Tensor, b: Tensor, eps: float = 1e-12) -> Tensor:
    """(A, M): 0.5 KL(a||b) + 0.5 KL(b||a) of every row of a (A, N) with every row of b (M, N), as
    0.5 * sum_n (a_n - b_n)(log a_n - log b_n), in two matrix products."""
    a, b = a.float(), b.float()
    la, lb = a.clamp_min(eps).log(), b.clamp_min(eps).log()
    self_a, self_b = (a * la).sum(-1), (b * lb).sum(-1)
    return 0.5 * (self_a[:, None] + self_b[None] - a @ lb.T - la @ b.T)


def merge_attention(attention: Tensor, anchors: Tensor, thresholds: Sequence[float], chunk: int = 64) -> Tensor:
    """DiffSeg's iterative merging of one image's (N, N) attention (rows sum to 1) -> (K, N) proposals.

    Iteration 1: each anchor's map is compared with all N maps; its proposal is the mean of the maps whose
    symmetric KL is below the threshold (anchors in chunks of ``chunk``). Later iterations: proposals in
    order; each not yet merged one absorbs every proposal below the threshold (merged ones included, as the
    official code does) into their mean.
    """
    if not thresholds:
        raise ValueError('merge_attention: give at least one KL threshold (one per iteration)')
    rows = attention[anchors]
    below = torch.cat([(symmetric_kl(rows[i:i + chunk], attention) < thresholds[0]).float()
                       for i in range(0, len(rows), chunk)])
    proposals = below @ attention.float() / below.sum(1, keepdim=True)
    for threshold in thresholds[1:]:
        close = symmetric_kl(proposals, proposals) < threshold
        merged, groups = torch.zeros(len(proposals), dtype=torch.bool), []
        for i in range(len(proposals)):
            if merged[i]:
                continue
            members = close[i].cpu() | (torch.arange(len(proposals)) == i)
            merged |= members
            groups.append(proposals[members.to(proposals.device)].mean(0))
        proposals = torch.stack(groups)
    return proposals


def refine_proposals(attention: Tensor, proposals: Tensor, max_iter: int = 300) -> Tensor:
    """DiffSeg's optional k-means refinement (its ``refine=True``, which the language-based segmentation report's
    code uses): Lloyd's k-means on the rows of one (N, N) attention, started from the (K, N) merged proposals,
    until no assignment changes; returns the mean map of each non-empty cluster (K', N), in cluster order."""
    x = attention.float()
    centres = proposals.float().clone()
    labels = None
    for _ in range(max_iter):
        new = torch.cdist(x, centres).argmin(1)
        if labels is not None and torch.equal(new, labels):
            break
        labels = new
        for k in range(len(centres)):
            members = labels == k
            if members.any():
                centres[k] = x[members].mean(0)
    return torch.stack([x[labels == k].mean(0) for k in range(len(centres)) if (labels == k).any()])
