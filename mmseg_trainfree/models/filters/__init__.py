"""Per-image candidate classes: DiffSegmenter's category filtering."""
from .category_filter import CategoryFilter, top_p

__all__ = ['CategoryFilter', 'top_p']
