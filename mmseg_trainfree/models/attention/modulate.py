"""Add c * M to an attention layer's output (EmerDiff's modulated denoising, Sec. 3.2)."""
from __future__ import annotations

from typing import Sequence

import torch
from torch import Tensor

from .base import AttentionHook


class OutputModulator(AttentionHook):
    """Add ``scale * mask`` to the output of the targeted layers.

    ``mask`` is (B, Nq) or (Nq,) over the layer's spatial positions (flattened h*w) and broadcasts
    over channels; ``scale`` is a number or a (B,) tensor (one c per batch element, e.g.
    +lambda / -lambda branches). ``position='after_proj'`` adds to the output of ``to_out``,
    ``'before_proj'`` to its input (EmerDiff App. D ablation).
    """

    def __init__(self, layers: Sequence[str] | str, mask: Tensor, scale: float | Tensor = 1.0,
                 position: str = 'after_proj'):
        super().__init__(layers)
        if position not in ('after_proj', 'before_proj'):
            raise ValueError(f"OutputModulator: position must be 'after_proj' or 'before_proj', got {position!r}")
        self.mask, self.scale, self.position = mask, scale, position

    def _delta(self, hidden: Tensor) -> Tensor:
        mask = self.mask.to(hidden)
        if mask.dim() == 1:
            mask = mask.unsqueeze(0)
        if mask.shape[-1] != hidden.shape[1]:
            raise ValueError(f'OutputModulator: mask has {mask.shape[-1]} positions, the layer has {hidden.shape[1]}')
        scale = torch.as_tensor(self.scale, dtype=hidden.dtype, device=hidden.device).reshape(-1, 1, 1)
        return scale * mask.unsqueeze(-1)

    def modify_heads_output(self, layer, hidden):
        return hidden + self._delta(hidden) if self.position == 'before_proj' else None

    def modify_output(self, layer, hidden):
        return hidden + self._delta(hidden) if self.position == 'after_proj' else None
