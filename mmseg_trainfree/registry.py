"""Registries of mmseg_trainfree: one child of each mmseg registry, under the scope ``mmseg_trainfree``.

A config with ``default_scope = 'mmseg_trainfree'`` finds our modules here and everything else
(mmseg's datasets, transforms, metrics, visualisers; mmengine's loops and hooks) through the
parent registries, the way OpenMMLab downstream projects extend each other. mmengine imports
``mmseg_trainfree.registry`` by itself when it meets that scope, which registers our modules.
"""
import mmseg.registry as _mmseg_registry
from mmengine.registry import Registry

_SCOPE = 'mmseg_trainfree'
_LOCATIONS = {
    'MODELS': ['mmseg_trainfree.models'],
    'DATASETS': ['mmseg_trainfree.datasets'],
    'TRANSFORMS': ['mmseg_trainfree.datasets'],
    'METRICS': ['mmseg_trainfree.evaluation'],
    'HOOKS': ['mmseg_trainfree.engine'],
    'LOOPS': ['mmseg_trainfree.engine'],
}


def _child(name: str) -> Registry:
    parent = getattr(_mmseg_registry, name)
    # mmengine imports only the queried registry's locations, not its parents': list mmseg's too.
    locations = _LOCATIONS.get(name, []) + list(getattr(parent, '_locations', []))
    return Registry(parent.name, parent=parent, scope=_SCOPE, locations=locations)


MODELS = _child('MODELS')
DATASETS = _child('DATASETS')
TRANSFORMS = _child('TRANSFORMS')
METRICS = _child('METRICS')
HOOKS = _child('HOOKS')
# The rest only route look-ups under our scope to mmseg's registries (the Runner builds loops,
# visualisers, samplers ... through them).
for _name in _mmseg_registry.__all__:
    if _name not in globals():
        globals()[_name] = _child(_name)
# mmseg has no FUNCTIONS registry (collate functions): route it to mmengine's, or building a dataloader under our
# scope warns that the scope is unknown.
from mmengine.registry import FUNCTIONS as _MMENGINE_FUNCTIONS  # noqa: E402

FUNCTIONS = Registry('function', parent=_MMENGINE_FUNCTIONS, scope=_SCOPE)

__all__ = list(_mmseg_registry.__all__) + ['FUNCTIONS']
