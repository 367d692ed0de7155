"""The two ways the methods' reference code resizes maps and images: ``F.interpolate`` bilinear (no antialiasing)
and PIL-like bicubic (antialiased: torchvision's ``Resize(BICUBIC)`` on PIL images, the report's ``upscale_attn``)."""
from __future__ import annotations

import torch.nn.functional as F
from torch import Tensor

RESIZE_MODES = ('bilinear', 'bicubic')


def check_resize_mode(mode: str, field: str) -> str:
    """``mode`` if it is one of :data:`RESIZE_MODES`; otherwise a ValueError naming ``field``."""
    if mode not in RESIZE_MODES:
        raise ValueError(f'{field} must be one of {RESIZE_MODES}, got {mode!r}')
    return mode


def resize(x: Tensor, size: tuple[int, int], mode: str) -> Tensor:
    """(B, C, h, w) -> (B, C, *size): 'bilinear' without antialiasing, or 'bicubic' with it."""
    return F.interpolate(x, size, mode=mode, align_corners=False, antialias=mode == 'bicubic')
