"""The last-block attention forms of the training-free CLIP segmentors, as attention weights over the tokens.

Each form reuses the block's own q / k projections (head_dim^-0.5 scaling) and is applied to its own v:

- ``'qk'``: CLIP's attention, softmax(q k^T).
- ``'value'``: MaskCLIP (Zhou, Loy, Dai): every token attends to itself only (the identity), out_proj(v).
- ``'csa'``: SCLIP's correlative self-attention (Wang, Mei, Yuille): softmax(q q^T) + softmax(k k^T).
- ``'qq'``: ClearCLIP's self-self attention (Lan et al.): softmax(q q^T).
- ``'kk'``: softmax(k k^T) (NACLIP's ablation).
- ``'neighbourhood'``: NACLIP (Hajimiri, Ben Ayed, Dolz): softmax(k k^T + omega), omega a Gaussian of the distance
  between the patches' grid positions (standard deviation ``gaussian_std`` patches), zero on the class token's
  row and column.
- ``'proxy'``: ProxyCLIP (Lan et al.): the attention comes from a vision foundation model's patch features
  (:func:`proxy_attention`), over CLIP's values upsampled to that model's patch grid.
"""
from __future__ import annotations

from typing import Optional

import torch
import torch.nn.functional as F
from torch import Tensor

ATTENTION_FORMS = ('qk', 'value', 'csa', 'qq', 'kk', 'neighbourhood', 'proxy')


def check_attention_form(form: str, field: str = 'attention') -> str:
    if form not in ATTENTION_FORMS:
        raise ValueError(f'{field} must be one of {ATTENTION_FORMS}, got {form!r}')
    return form


def neighbourhood_bias(grid: tuple[int, int], std: float, cls_token: bool = True) -> Tensor:
    """NACLIP's omega (N, N): exp(-||p_i - p_j||^2 / (2 std^2)) between the patches' (row, column) positions on
    ``grid``, with a zero row and column for the class token first when ``cls_token``."""
    if std <= 0:
        raise ValueError(f'gaussian_std must be positive, got {std}')
    rows, cols = torch.meshgrid(torch.arange(grid[0]), torch.arange(grid[1]), indexing='ij')
    positions = torch.stack([rows.flatten(), cols.flatten()], 1).float()
    bias = torch.exp(-torch.cdist(positions, positions).square() / (2 * std ** 2))
    if cls_token:
        bias = torch.nn.functional.pad(bias, (1, 0, 1, 0))
    return bias


def attention_weights(form: str, q: Tensor, k: Tensor, grid: Optional[tuple[int, int]] = None,
                      gaussian_std: float = 5.0) -> Tensor:
    """(..., N, N) attention weights of ``form`` for queries / keys (..., N, d), the class token first; ``grid`` is
    the patch grid (for ``'neighbourhood'``)."""
    scale = q.shape[-1] ** -0.5
    if form == 'qk':
        return (q @ k.transpose(-1, -2) * scale).softmax(-1)
    if form == 'value':
        return torch.eye(q.shape[-2], dtype=q.dtype, device=q.device).expand(*q.shape[:-1], q.shape[-2])
    if form == 'csa':
        return (q @ q.transpose(-1, -2) * scale).softmax(-1) + (k @ k.transpose(-1, -2) * scale).softmax(-1)
    if form == 'qq':
        return (q @ q.transpose(-1, -2) * scale).softmax(-1)
    if form == 'kk':
        return (k @ k.transpose(-1, -2) * scale).softmax(-1)
    if form == 'proxy':
        raise ValueError("the 'proxy' form takes its attention from a vision foundation model: proxy_attention")
    if form == 'neighbourhood':
        if grid is None or grid[0] * grid[1] + 1 != q.shape[-2]:
            raise ValueError(f'neighbourhood attention needs the patch grid of the {q.shape[-2]} tokens, got {grid}')
        bias = neighbourhood_bias(grid, gaussian_std).to(q)
        return (k @ k.transpose(-1, -2) * scale + bias).softmax(-1)
    raise ValueError(check_attention_form(form))


def proxy_attention(features: Tensor, beta: float = 1.2, gamma: float = 3.0) -> Tensor:
    """ProxyCLIP's proxy attention (B, M, M) from VFM features (B, C, h, w): cosine similarities s of the patches,
    shifted and scaled to (s - beta * mean(s)) * gamma, negative entries masked, softmax over each row. The diagonal
    is never masked (it is positive unless beta * mean(s) >= 1, where every entry of a row would be, giving NaN)."""
    f = F.normalize(features.flatten(2).float(), dim=1)
    sim = f.transpose(1, 2) @ f
    sim = (sim - beta * sim.mean(dim=(1, 2), keepdim=True)) * gamma
    keep = (sim >= 0) | torch.eye(sim.shape[-1], dtype=torch.bool, device=sim.device)
    return sim.masked_fill(~keep, float('-inf')).softmax(-1)
