"""Replace attention probabilities by given ones (attention injection, e.g. EmerDiff Sec. 3.3)."""
from __future__ import annotations

from typing import Mapping, Sequence

from torch import Tensor

from .base import AttentionHook


class AttentionInjector(AttentionHook):
    """Use ``maps[layer][k]`` as the probabilities of the k-th call of ``layer``.

    ``maps`` has the layout of :attr:`AttentionRecorder.recorded['probs']`, so a recording made
    with ``head_mean=False`` replays exactly. Each map may be (B, heads, Nq, Nk) or have singleton
    batch / head axes, which broadcast: one reference map can drive a whole batch of branches,
    and each branch still attends over its own values (out = P_ref @ V_branch).
    """

    def __init__(self, maps: Mapping[str, Sequence[Tensor]], layers: Sequence[str] | None = None):
        super().__init__(list(maps) if layers is None else layers)
        self.maps = maps
        self.calls: dict[str, int] = {}

    def replace_probs(self, layer: str, probs_shape: tuple) -> Tensor:
        if layer not in self.maps:
            raise KeyError(f'AttentionInjector: no maps given for layer {layer!r}')
        k = self.calls.get(layer, 0)
        if k >= len(self.maps[layer]):
            raise IndexError(f'AttentionInjector: layer {layer!r} called {k + 1} times, '
                             f'but only {len(self.maps[layer])} maps were given')
        self.calls[layer] = k + 1
        probs = self.maps[layer][k]
        if probs.dim() == 3:  # head-averaged: (B, Nq, Nk)
            probs = probs.unsqueeze(1)
        return probs.expand(probs_shape)

    def reset(self) -> None:
        self.calls.clear()
