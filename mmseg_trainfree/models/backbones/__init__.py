"""Frozen feature extractors."""
from .open_clip import OpenCLIPBackbone
from .stable_diffusion import ModelNotAvailableError, StableDiffusionBackbone, resolve_dtype

__all__ = ['OpenCLIPBackbone', 'ModelNotAvailableError', 'StableDiffusionBackbone', 'resolve_dtype']
