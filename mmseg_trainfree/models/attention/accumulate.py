"""Running mean of attention probabilities over layers and heads, per resolution (e.g. DiffSegmenter's 64x64
self-attention, DiffSeg's four resolutions), so that one (B, Nq, Nk) map per resolution is held however many
layers contribute."""
from __future__ import annotations

from typing import Sequence

import torch
from torch import Tensor

from .base import AttentionHook


class AttentionAccumulator(AttentionHook):
    """Sum of the head-averaged probabilities of every targeted layer call, per map shape (resolution);
    :attr:`means` divides each by its number of calls, :attr:`mean` is the one mean of a single resolution.

    The hook computes the targeted layers' attention itself, one head at a time, so that besides the
    running sum only one (B, Nq, Nk) probability map exists at a time (not B x heads of them).
    """

    def __init__(self, layers: Sequence[str] | str):
        super().__init__(layers)
        self.totals: dict[tuple, Tensor] = {}
        self.counts: dict[tuple, int] = {}

    def replace_attention(self, layer: str, query: Tensor, key: Tensor, value: Tensor, scale: float) -> Tensor:
        heads = query.shape[1]
        out = value.new_empty(*query.shape[:3], value.shape[-1])
        head_sum = None
        for h in range(heads):
            probs = (torch.matmul(query[:, h], key[:, h].transpose(-1, -2)) * scale).float().softmax(-1)
            out[:, h] = torch.matmul(probs.to(value.dtype), value[:, h])
            head_sum = probs if head_sum is None else head_sum.add_(probs)
        head_sum.div_(heads)
        shape = tuple(head_sum.shape)
        self.totals[shape] = head_sum if shape not in self.totals else self.totals[shape].add_(head_sum)
        self.counts[shape] = self.counts.get(shape, 0) + 1
        return out

    @property
    def means(self) -> dict[int, Tensor]:
        """{number of queries: (B, Nq, Nk) mean map}, finest resolution first."""
        if not self.totals:
            raise RuntimeError(f'AttentionAccumulator saw no call of {self.layers}')
        return {shape[1]: self.totals[shape] / self.counts[shape]
                for shape in sorted(self.totals, key=lambda s: -s[1])}

    @property
    def layer_counts(self) -> dict[int, int]:
        """{number of queries: how many layer calls of that resolution were summed}."""
        return {shape[1]: count for shape, count in self.counts.items()}

    @property
    def mean(self) -> Tensor:
        means = self.means
        if len(means) != 1:
            raise ValueError(f'AttentionAccumulator: the layers {self.layers} have maps of {len(means)} resolutions '
                             f'({sorted(means)} queries); use .means, or target layers of one resolution')
        return next(iter(means.values()))
