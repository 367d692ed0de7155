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



def register_all_modules(init_default_scope: bool = True) -> None:
    """Modules are registered on import; optionally make ``mmseg_trainfree`` the default scope, as
    ``mmseg.utils.register_all_modules`` does for mmseg (for building models outside a Runner)."""
    if init_default_scope:
        import datetime

        from mmengine.registry import DefaultScope
        current = DefaultScope.get_current_instance()
        if current is None or current.scope_name != 'mmseg_trainfree':
            DefaultScope.get_instance(f'mmseg_trainfree-{datetime.datetime.now()}', scope_name='mmseg_trainfree')


__all__ = ['__version__', 'register_all_modules']
