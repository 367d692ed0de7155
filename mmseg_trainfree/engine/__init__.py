"""Runner-side pieces: hooks."""
from .hooks import EvalCropVisualizationHook, VocabularyHook

__all__ = ['EvalCropVisualizationHook', 'VocabularyHook']
