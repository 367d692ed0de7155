"""Training-free segmentors, one file per method."""
from .base import TrainingFreeSegmentor
from .maskdiffusion import MaskDiffusion

__all__ = ['TrainingFreeSegmentor', 'MaskDiffusion']
