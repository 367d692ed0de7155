"""Runner-side pieces: hooks."""
from .hooks import VocabularyHook

__all__ = ['VocabularyHook']
