"""Runner-side pieces: hooks, the results file and the resumable test loop."""
from .hooks import EvalCropVisualizationHook, VocabularyHook
from .results import ResultsFileHook
from .resume import ResumableTestLoop

__all__ = ['EvalCropVisualizationHook', 'ResultsFileHook', 'ResumableTestLoop', 'VocabularyHook']
