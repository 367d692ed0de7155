"""Training-free segmentors, one file per method."""
from .base import TrainingFreeSegmentor
from .diffseg import DiffSeg
from .diffsegmenter import DiffSegmenter
from .diffusion_base import DiffusionFeatureSegmentor
from .emerdiff import EmerDiff
from .langseg import GEM, AggGEM, AggSD, DiffSegClust, SpecClust
from .maskclip import MaskCLIP, MaskCLIPEmerDiff
from .maskdiffusion import MaskDiffusion
from .maskdiffusion_unsup import UnsupervisedMaskDiffusion

__all__ = ['TrainingFreeSegmentor', 'AggGEM', 'AggSD', 'DiffSeg', 'DiffSegClust', 'DiffSegmenter',
           'DiffusionFeatureSegmentor', 'EmerDiff', 'GEM', 'MaskCLIP', 'MaskCLIPEmerDiff', 'MaskDiffusion',
           'SpecClust', 'UnsupervisedMaskDiffusion']
