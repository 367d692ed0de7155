"""Running mean of attention probabilities over layers and heads (e.g. DiffSegmenter's 64x64 self-attention),
so that one (B, Nq, Nk) map is held however many layers contribute."""
from __future__ import annotations

from typing import Optional, Sequence

import torch
from torch import Tensor

from .base import AttentionHook


class AttentionAccumulator(AttentionHook):
    """Sum of the head-averaged probabilities of every targeted layer call; :attr:`mean` divides by the
    number of calls.

    The hook computes the targeted layers' attention itself, one head at a time, so that besides the
    running sum only one (B, Nq, Nk) probability map exists at a time (not B x heads of them).
    """

    def __init__(self, layers: Sequence[str] | str):
        super().__init__(layers)
        self.total: Optional[Tensor] = None
        self.calls = 0

    def replace_attention(self, layer: str, query: Tensor, key: Tensor, value: Tensor, scale: float) -> Tensor:
        heads = query.shape[1]
        out = value.new_empty(*query.shape[:3], value.shape[-1])
        head_sum = None
        for h in range(heads):
            probs = (torch.matmul(query[:, h], key[:, h].transpose(-1, -2)) * scale).float().softmax(-1)
            out[:, h] = torch.matmul(probs.to(value.dtype), value[:, h])
            head_sum = probs if head_sum is None else head_sum.add_(probs)
        head_sum.div_(heads)
        if self.total is not None and self.total.shape != head_sum.shape:
            raise ValueError(f'AttentionAccumulator: {layer} has maps of shape {tuple(head_sum.shape)} but earlier '
                             f'layers {tuple(self.total.shape)}; target layers of one resolution')
        self.total = head_sum if self.total is None else self.total.add_(head_sum)
        self.calls += 1
        return out

    @property
    def mean(self) -> Tensor:
        if self.total is None:
            raise RuntimeError(f'AttentionAccumulator saw no call of {self.layers}')
        return self.total / self.calls
