"""Frozen feature extractors."""
from .stable_diffusion import ModelNotAvailableError, StableDiffusionBackbone, resolve_dtype

__all__ = ['ModelNotAvailableError', 'StableDiffusionBackbone', 'resolve_dtype']
