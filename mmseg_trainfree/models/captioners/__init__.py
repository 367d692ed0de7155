"""Frozen image captioners (DiffSegmenter's augmented prompts and category filtering)."""
from .blip import BlipCaptioner

__all__ = ['BlipCaptioner']
