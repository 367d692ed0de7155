"""What the frozen image encoders (CLIP, a vision foundation model) share: always in eval mode, fed RGB in [-1, 1]
(the project's input range), normalised with their own mean / std."""
from __future__ import annotations

from typing import Sequence

import torch
from mmengine.model import BaseModule
from torch import Tensor


class FrozenImageEncoder(BaseModule):
    """A frozen image encoder: ``train()`` keeps eval mode; :meth:`normalize` maps [-1, 1] RGB to its input."""

    def set_normalization(self, mean: Sequence[float], std: Sequence[float]) -> None:
        self.register_buffer('mean', torch.tensor(mean, dtype=torch.float).view(1, 3, 1, 1), persistent=False)
        self.register_buffer('std', torch.tensor(std, dtype=torch.float).view(1, 3, 1, 1), persistent=False)

    def normalize(self, images: Tensor) -> Tensor:
        """RGB ``images`` in [-1, 1] -> (x - mean) / std of x in [0, 1], in float32."""
        return ((images.float() + 1) / 2 - self.mean) / self.std

    def train(self, mode: bool = True):
        return super().train(False)
