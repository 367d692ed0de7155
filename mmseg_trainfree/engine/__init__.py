"""Runner-side pieces: hooks and the results file."""
from .hooks import EvalCropVisualizationHook, VocabularyHook
from .results import ResultsFileHook

__all__ = ['EvalCropVisualizationHook', 'ResultsFileHook', 'VocabularyHook']
