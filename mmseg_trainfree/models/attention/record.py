"""Record what attention layers compute, for the requested layers only."""
from __future__ import annotations

from collections import defaultdict
from typing import Optional, Sequence

from torch import Tensor

from .base import AttentionHook

RECORDABLE = ('probs', 'scores', 'queries', 'outputs')


class AttentionRecorder(AttentionHook):
    """Keep, per layer and per call, one or more of:

    - ``probs``: attention probabilities softmax(QK^T/sqrt(d)), (B, Nq, Nk);
    - ``scores``: pre-softmax scores QK^T/sqrt(d), (B, Nq, Nk);
    - ``queries``: the queries, (B, Nq, heads*d), as ``to_q`` produces them;
    - ``outputs``: the layer output after ``to_out``, (B, Nq, C).

    Maps are averaged over heads on the fly (``head_mean=True``) unless the full (B, heads, Nq, Nk)
    tensors are needed (e.g. to inject them back exactly). ``key_index`` keeps only some key
    columns (e.g. a prompt's class tokens) of scores and probabilities. Tensors are detached;
    ``recorded[what][layer]`` is a list with one entry per UNet call.
    """

    def __init__(self, layers: Sequence[str] | str, what: Sequence[str] | str = ('probs',),
                 head_mean: bool = True, key_index: Optional[Tensor] = None):
        super().__init__(layers)
        self.what = (what,) if isinstance(what, str) else tuple(what)
        unknown = set(self.what) - set(RECORDABLE)
        if unknown:
            raise ValueError(f'AttentionRecorder: cannot record {sorted(unknown)}; choose from {RECORDABLE}')
        self.head_mean = head_mean
        self.key_index = key_index
        self.recorded: dict[str, dict[str, list[Tensor]]] = {w: defaultdict(list) for w in self.what}

    def needs_probs(self, layer: str) -> bool:
        return 'probs' in self.what or 'scores' in self.what

    def _keep(self, t: Tensor) -> Tensor:
        if self.key_index is not None:
            t = t[..., self.key_index.to(t.device)]
        return (t.mean(1) if self.head_mean else t).detach()

    def on_qkv(self, layer, query, key, value):
        if 'queries' in self.what:
            b, h, n, d = query.shape
            self.recorded['queries'][layer].append(query.transpose(1, 2).reshape(b, n, h * d).detach())

    def on_scores(self, layer, scores):
        if 'scores' in self.what:
            self.recorded['scores'][layer].append(self._keep(scores))

    def on_probs(self, layer, probs):
        if 'probs' in self.what:
            self.recorded['probs'][layer].append(self._keep(probs))

    def on_output(self, layer, hidden):
        if 'outputs' in self.what:
            self.recorded['outputs'][layer].append(hidden.detach())

    def __getitem__(self, what: str) -> dict[str, list[Tensor]]:
        return self.recorded[what]

    def clear(self) -> None:
        for store in self.recorded.values():
            store.clear()
