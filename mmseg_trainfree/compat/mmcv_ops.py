"""A pure-torch stand-in for ``mmcv.ops`` when mmcv was installed without compiled ops.

mmseg 1.2.2 imports ``point_sample`` and ``sigmoid_focal_loss`` from ``mmcv.ops`` at module
level, so ``import mmseg.models`` fails with ``mmcv-lite`` (no ``mmcv._ext``). None of the
training-free methods uses a compiled op; this module provides the two names mmseg imports,
in plain torch, and is installed only when the compiled extension is really missing.
"""
from __future__ import annotations

import importlib
import sys
import types
import warnings

import torch.nn.functional as F
from torch import Tensor


def point_sample(input: Tensor, points: Tensor, align_corners: bool = False, **kwargs) -> Tensor:
    """Sample ``input`` (N, C, H, W) at normalised ``points`` (N, P, 2) in [0, 1]; as mmcv's."""
    add_dim = points.dim() == 3
    if add_dim:
        points = points.unsqueeze(2)
    out = F.grid_sample(input, 2.0 * points - 1.0, align_corners=align_corners, **kwargs)
    return out.squeeze(3) if add_dim else out


def sigmoid_focal_loss(pred: Tensor, target: Tensor, gamma: float = 2.0, alpha: float = 0.25,
                       weight: Tensor | None = None, reduction: str = 'mean') -> Tensor:
    """Sigmoid focal loss with integer ``target`` (N,), as ``mmcv.ops.sigmoid_focal_loss``."""
    one_hot = F.one_hot(target.long(), pred.size(1) + 1)[:, :pred.size(1)].type_as(pred)
    prob = pred.sigmoid()
    pt = (1 - prob) * one_hot + prob * (1 - one_hot)
    focal = (alpha * one_hot + (1 - alpha) * (1 - one_hot)) * pt.pow(gamma)
    loss = F.binary_cross_entropy_with_logits(pred, one_hot, reduction='none') * focal
    if weight is not None:
        loss = loss * weight.view(-1, 1)
    return {'mean': loss.mean, 'sum': loss.sum}.get(reduction, lambda: loss)()


def _missing(name: str):
    # mmseg guards optional ops with ``except ModuleNotFoundError``: raise exactly that.
    if name.startswith('__'):
        raise AttributeError(name)
    raise ModuleNotFoundError(
        f"mmcv.ops.{name} needs mmcv's compiled ops (mmcv._ext), which this install lacks; "
        'install the full `mmcv` package (not mmcv-lite) to use it.', name=f'mmcv.ops.{name}')


def _has_compiled_ops() -> bool:
    try:
        importlib.import_module('mmcv._ext')
    except ImportError:
        return False
    return True


MMCV_MISSING = ('mmseg_trainfree needs mmcv >= 2.0, < 2.2 (what mmsegmentation 1.2 accepts), full or lite, and none '
                'is installed. It is not a declared requirement, so that an existing full mmcv is never replaced: '
                'keep the mmcv of your mmseg environment, or `pip install "mmcv-lite>=2.0,<2.2"` (no compiled ops '
                'are needed; a pure-torch fallback covers the two that mmseg imports). Do not install both.')


def require_mmcv() -> None:
    """Fail at import with what to install when no mmcv is there (mmseg's own error names no version)."""
    try:
        import mmcv  # noqa: F401
    except ImportError as e:
        raise ImportError(MMCV_MISSING) from e


def install_mmcv_ops_fallback() -> bool:
    """Register the fallback as ``mmcv.ops`` if mmcv has no compiled ops. Returns True if installed."""
    require_mmcv()
    if 'mmcv.ops' in sys.modules or _has_compiled_ops():
        return False
    import mmcv
    # mmcv-lite cannot have this op; its import-time warning is expected noise here.
    warnings.filterwarnings('ignore', message='Fail to import ``MultiScaleDeformableAttention``')
    module = types.ModuleType('mmcv.ops', __doc__)
    module.point_sample = point_sample
    module.sigmoid_focal_loss = sigmoid_focal_loss
    module.__getattr__ = _missing
    module.__mmseg_trainfree_fallback__ = True
    sys.modules['mmcv.ops'] = module
    mmcv.ops = module
    return True
