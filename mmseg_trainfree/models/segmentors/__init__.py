"""Training-free segmentors, one file per method."""
from .base import TrainingFreeSegmentor
from .diffsegmenter import DiffSegmenter
from .diffusion_base import DiffusionFeatureSegmentor
from .emerdiff import EmerDiff
from .maskclip import MaskCLIP, MaskCLIPEmerDiff
from .maskdiffusion import MaskDiffusion
from .maskdiffusion_unsup import UnsupervisedMaskDiffusion

__all__ = ['TrainingFreeSegmentor', 'DiffSegmenter', 'DiffusionFeatureSegmentor', 'EmerDiff', 'MaskCLIP', 'MaskCLIPEmerDiff', 'MaskDiffusion',
           'UnsupervisedMaskDiffusion']
