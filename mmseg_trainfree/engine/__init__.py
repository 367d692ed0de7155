"""Runner-side pieces: hooks, the results file and the resumable test loop."""
from .hooks import EvalCropVisualizationHook, FeatureCacheHook, VocabularyHook
from .results import ResultsFileHook
from .resume import ResumableTestLoop
from .weights import DiffusionWeightsHook

__all__ = ['DiffusionWeightsHook', 'EvalCropVisualizationHook', 'FeatureCacheHook', 'ResultsFileHook',
           'ResumableTestLoop', 'VocabularyHook']
