"""Record block outputs (resnets, transformer blocks, up blocks) with forward hooks."""
from __future__ import annotations

from typing import Sequence

from torch import Tensor, nn


def _first_tensor(output) -> Tensor:
    if isinstance(output, Tensor):
        return output
    if hasattr(output, 'sample'):
        return output.sample
    if isinstance(output, (tuple, list)) and output and isinstance(output[0], Tensor):
        return output[0]
    raise TypeError(f'cannot take a feature map from a module output of type {type(output).__name__}')


class FeatureRecorder:
    """Context manager that keeps the outputs of the named submodules, one entry per call.

    ``with FeatureRecorder(unet, ['up_blocks.1.attentions.2']) as feats: unet(...)`` then
    ``feats['up_blocks.1.attentions.2'][0]`` is a (B, C, h, w) tensor. Hooks are removed on exit.
    """

    def __init__(self, model: nn.Module, names: Sequence[str]):
        modules = dict(model.named_modules())
        missing = [n for n in names if n not in modules]
        if missing:
            raise KeyError(f'FeatureRecorder: no module named {missing}; e.g. {list(modules)[1:4]}')
        self.modules = {n: modules[n] for n in names}
        self.features: dict[str, list[Tensor]] = {n: [] for n in names}
        self._handles = []

    def __enter__(self) -> dict[str, list[Tensor]]:
        for name, module in self.modules.items():
            self._handles.append(module.register_forward_hook(
                lambda mod, args, out, name=name: self.features[name].append(_first_tensor(out).detach())))
        return self.features

    def __exit__(self, *exc) -> None:
        for handle in self._handles:
            handle.remove()
        self._handles.clear()
