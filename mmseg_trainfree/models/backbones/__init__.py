"""Frozen feature extractors."""
from .gem import GEMBackbone
from .open_clip import OpenCLIPBackbone
from .stable_diffusion import ModelNotAvailableError, StableDiffusionBackbone, resolve_dtype
from .timm_vit import TimmViTBackbone

__all__ = ['GEMBackbone', 'OpenCLIPBackbone', 'ModelNotAvailableError', 'StableDiffusionBackbone', 'TimmViTBackbone', 'resolve_dtype']
