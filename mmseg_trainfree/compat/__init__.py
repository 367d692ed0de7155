"""Version shims. The only place that knows about differences between installed library versions."""
from .mmcv_ops import install_mmcv_ops_fallback
from .mmengine_config import install_config_resolver, resolve_config

__all__ = ['install_mmcv_ops_fallback', 'install_config_resolver', 'resolve_config']
