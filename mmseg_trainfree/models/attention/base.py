"""The hook interface that :class:`HookedAttnProcessor` calls at each point of an attention layer.

A hook targets layers by name patterns (``fnmatch``, e.g. ``'up_blocks.1.attentions.*.attn2'``).
Layer names are diffusers module names without the trailing ``.processor``. Every method has a
do-nothing default, so a hook overrides only the points it cares about; ``active`` switches a hook
off without removing it (e.g. EmerDiff modulates at one timestep only).
"""
from __future__ import annotations

import fnmatch
import math
from typing import Iterable, Optional, Sequence

from torch import Tensor


def match_layers(names: Iterable[str], patterns: Sequence[str]) -> list[str]:
    """Layer names that match any of ``patterns``, in the order of ``names``."""
    return [n for n in names if any(fnmatch.fnmatchcase(n, p) for p in patterns)]


class AttentionHook:
    """Base class: observe or alter one or more attention layers.

    Tensors seen by the hooks have the batch and head axes split: queries, keys, values are
    (B, heads, N, d); scores and probabilities (B, heads, Nq, Nk); outputs (B, Nq, C).
    """

    def __init__(self, layers: Sequence[str] | str):
        self.layers = [layers] if isinstance(layers, str) else list(layers)
        if not self.layers:
            raise ValueError(f'{type(self).__name__}: `layers` is empty; give layer names or patterns.')
        self.active = True

    def targets(self, layer: str) -> bool:
        return self.active and any(fnmatch.fnmatchcase(layer, p) for p in self.layers)

    # What the processor must compute explicitly for this layer.
    def needs_probs(self, layer: str) -> bool:
        return False

    # Observation points.
    def on_qkv(self, layer: str, query: Tensor, key: Tensor, value: Tensor) -> None:
        pass

    def on_scores(self, layer: str, scores: Tensor) -> None:
        pass

    def on_probs(self, layer: str, probs: Tensor) -> None:
        pass

    # Alteration points (return None to leave the tensor as it is).
    def replace_attention(self, layer: str, query: Tensor, key: Tensor, value: Tensor,
                          scale: float) -> Optional[Tensor]:
        """The whole product softmax(QK^T * scale) V, (B, heads, Nq, d), computed by the hook; ``scale`` is
        the layer's own (1/sqrt(d) in SD)."""
        return None

    def replace_probs(self, layer: str, probs_shape: tuple) -> Optional[Tensor]:
        return None

    def modify_heads_output(self, layer: str, hidden: Tensor) -> Optional[Tensor]:
        """Before the output projection ``to_out``; ``hidden`` is (B, Nq, heads*d)."""
        return None

    def modify_output(self, layer: str, hidden: Tensor) -> Optional[Tensor]:
        """After the output projection; ``hidden`` is (B, Nq, C)."""
        return None

    def on_output(self, layer: str, hidden: Tensor) -> None:
        pass


def spatial_shape(num_queries: int, latent_hw: tuple[int, int]) -> tuple[int, int]:
    """(h, w) of a layer with ``num_queries`` positions in a UNet on a ``latent_hw`` latent."""
    factor = round(math.sqrt(latent_hw[0] * latent_hw[1] / num_queries))
    h, w = math.ceil(latent_hw[0] / factor), math.ceil(latent_hw[1] / factor)
    if h * w != num_queries:
        raise ValueError(f'cannot place {num_queries} queries on a {latent_hw} latent')
    return h, w
