"""Frozen feature extractors."""
from .gem import GEMBackbone
from .open_clip import OpenCLIPBackbone
from .stable_diffusion import (ModelNotAvailableError, StableDiffusionBackbone, StableDiffusionXLBackbone,
                               resolve_dtype)
from .timm_vit import TimmViTBackbone

__all__ = ['GEMBackbone', 'OpenCLIPBackbone', 'ModelNotAvailableError', 'StableDiffusionBackbone',
           'StableDiffusionXLBackbone', 'TimmViTBackbone', 'resolve_dtype']
