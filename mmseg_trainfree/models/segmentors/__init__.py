"""Training-free segmentors, one file per method."""
from .base import TrainingFreeSegmentor
from .diffcut import DiffCut
from .diffseg import DiffSeg
from .diffsegmenter import DiffSegmenter
from .diffusion_base import DiffusionFeatureSegmentor
from .emerdiff import EmerDiff
from .langseg import GEM, AggGEM, AggSD, DiffSegClust, SpecClust
from .maskclip import MaskCLIP, MaskCLIPEmerDiff
from .maskdiffusion import MaskDiffusion
from .maskdiffusion_unsup import UnsupervisedMaskDiffusion
from .open_vocab_clip import OpenVocabCLIP, ProxyCLIP

__all__ = ['TrainingFreeSegmentor', 'AggGEM', 'AggSD', 'DiffCut', 'DiffSeg', 'DiffSegClust', 'DiffSegmenter',
           'DiffusionFeatureSegmentor', 'EmerDiff', 'GEM', 'MaskCLIP', 'MaskCLIPEmerDiff', 'MaskDiffusion',
           'OpenVocabCLIP', 'ProxyCLIP', 'SpecClust', 'UnsupervisedMaskDiffusion']


def _explain_under_mmseg_scope() -> None:
    """Under mmseg's scope (mmseg's ``MMSegInferencer``, which also expects a trained checkpoint) our segmentor
    types are unknown, and mmengine would fail with a bare registry KeyError. Each gets an entry in mmseg's
    registry that fails with what to use instead; our own scope finds the real class first."""
    import mmseg.registry as mmseg_registry

    from ...registry import MODELS

    def explaining(name: str):
        def build(*args, **kwargs):
            raise TypeError(
                f'{name} is an mmseg_trainfree segmentor and has no trained checkpoint: mmseg\'s MMSegInferencer '
                "builds models under the 'mmseg' scope and loads a checkpoint. Use "
                'mmseg_trainfree.apis.TrainingFreeInferencer(config) (or demo/image_demo.py), or mmseg.apis.init_model '
                "/ inference_model, which follow the config's default_scope = 'mmseg_trainfree'.")
        build.__name__ = name
        return build

    for name, cls in MODELS.module_dict.items():
        if isinstance(cls, type) and issubclass(cls, TrainingFreeSegmentor) \
                and name not in mmseg_registry.MODELS.module_dict:
            mmseg_registry.MODELS.register_module(name=name, module=explaining(name))


_explain_under_mmseg_scope()
