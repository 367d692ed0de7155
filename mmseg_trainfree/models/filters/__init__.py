"""Per-image candidate classes: DiffSegmenter's category filtering and image-level labels."""
from .category_filter import CategoryFilter, top_p

__all__ = ['CategoryFilter', 'top_p']
