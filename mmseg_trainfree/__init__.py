"""mmseg_trainfree: training-free semantic segmentation from frozen generative and vision-language
models, as an MMSegmentation 1.x plugin.

Importing the package installs the version shims (before mmseg is imported) and registers every
module in the ``mmseg_trainfree`` registries (children of mmseg's).
"""
from .compat import install_config_resolver, install_mmcv_ops_fallback

install_mmcv_ops_fallback()
install_config_resolver()

from mmseg.utils import register_all_modules as _register_mmseg  # noqa: E402

_register_mmseg(init_default_scope=False)

from . import datasets, engine, evaluation, models  # noqa: E402,F401
from .version import __version__  # noqa: E402,F401

__all__ = ['__version__']
