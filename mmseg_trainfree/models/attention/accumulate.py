"""Running mean of attention probabilities over layers and heads (e.g. DiffSegmenter's 64x64 self-attention),
so that one (B, Nq, Nk) map is held however many layers contribute."""
from __future__ import annotations

from typing import Optional, Sequence

from torch import Tensor

from .base import AttentionHook


class AttentionAccumulator(AttentionHook):
    """Sum of the head-averaged probabilities of every targeted layer call; :attr:`mean` divides by the
    number of calls."""

    def __init__(self, layers: Sequence[str] | str):
        super().__init__(layers)
        self.total: Optional[Tensor] = None
        self.calls = 0

    def needs_probs(self, layer: str) -> bool:
        return True

    def on_probs(self, layer: str, probs: Tensor) -> None:
        mean = probs.mean(1).float()
        self.total = mean if self.total is None else self.total.add_(mean)
        self.calls += 1

    @property
    def mean(self) -> Tensor:
        if self.total is None:
            raise RuntimeError(f'AttentionAccumulator saw no call of {self.layers}')
        return self.total / self.calls
