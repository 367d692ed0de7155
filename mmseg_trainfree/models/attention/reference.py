"""Attention injection from a reference row of the same batch (EmerDiff Sec. 3.3).

Every row of the batch attends with the probabilities of the reference row,
softmax(Q_ref K_ref^T / sqrt(d)), over its own values: out_b = P_ref @ V_b. P_ref is computed once
per layer call and multiplied with all rows' values in one product per head, so no per-row copy of
the (Nq x Nk) map is ever made.
"""
from __future__ import annotations

from typing import Optional, Sequence

import torch
from torch import Tensor

from .base import AttentionHook


def shared_attention(query: Tensor, key: Tensor, value: Tensor, reference: int = 0,
                     scale: Optional[float] = None) -> Tensor:
    """softmax(q_ref k_ref^T * scale) @ v_b for every row b (scale defaults to 1/sqrt(d));
    q, k, v (B, heads, N, d) -> (B, heads, Nq, d)."""
    b, heads, nk, d = value.shape
    scale = query.shape[-1] ** -0.5 if scale is None else scale
    scores = torch.matmul(query[reference], key[reference].transpose(-1, -2)) * scale
    probs = scores.float().softmax(-1).to(value.dtype)  # (heads, Nq, Nk), fp32 softmax
    v = value.permute(1, 2, 0, 3).reshape(heads, nk, b * d)  # all rows side by side
    out = torch.matmul(probs, v)  # (heads, Nq, B*d)
    return out.view(heads, -1, b, d).permute(2, 0, 1, 3)


class ReferenceAttention(AttentionHook):
    """Inject the reference row's attention maps into every row of the targeted layers."""

    def __init__(self, layers: Sequence[str] | str = ('*',), reference: int = 0):
        super().__init__(layers)
        self.reference = reference

    def replace_attention(self, layer: str, query: Tensor, key: Tensor, value: Tensor, scale: float) -> Tensor:
        return shared_attention(query, key, value, self.reference, scale)
