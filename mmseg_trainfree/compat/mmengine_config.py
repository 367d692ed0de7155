"""Let mmengine configs inherit ours as ``mmseg_trainfree::<file>.py``.

mmengine 0.10 resolves ``pkg::path`` only for OpenMMLab packages listed in its ``MODULE2PACKAGE``
table, only for paths with a folder part, and looks for the files next to the *installed*
package, which an editable install does not have. This shim resolves our prefix itself, to the
configs shipped in the package (``mmseg_trainfree/.mim/configs``, written by ``setup.py``) or to
the source tree's ``configs/`` for editable installs, and leaves every other path to mmengine.
"""
from __future__ import annotations

import os.path as osp
from typing import Optional, Tuple

from mmengine.config import Config

PACKAGE = 'mmseg_trainfree'


def config_roots() -> list[str]:
    """Folders that may hold our configs, in search order: a source checkout's ``configs/`` first (so a
    stale ``.mim`` copy left by a wheel build never shadows the files being edited), then the packaged copy."""
    pkg_dir = osp.dirname(osp.dirname(osp.abspath(__file__)))
    repo = osp.dirname(pkg_dir)
    source, packaged = osp.join(repo, 'configs'), osp.join(pkg_dir, '.mim', 'configs')
    return [source, packaged] if osp.isfile(osp.join(repo, 'setup.py')) else [packaged, source]


def resolve_config(rel_path: str) -> str:
    """Absolute path of one of our configs, e.g. ``maskdiffusion_voc.py``."""
    for root in config_roots():
        path = osp.join(root, rel_path)
        if osp.isfile(path):
            return path
    raise FileNotFoundError(f'{PACKAGE}::{rel_path} not found; looked in: {", ".join(config_roots())}')


def install_config_resolver() -> None:
    """Wrap ``Config._get_cfg_path`` once so that ``mmseg_trainfree::`` paths resolve."""
    original = Config._get_cfg_path
    if getattr(original, '_mmseg_trainfree', False):
        return

    def _get_cfg_path(cfg_path: str, filename: str) -> Tuple[str, Optional[str]]:
        if cfg_path.startswith(PACKAGE + '::'):
            return resolve_config(cfg_path.split('::', 1)[1]), PACKAGE
        return original(cfg_path, filename)

    _get_cfg_path._mmseg_trainfree = True
    Config._get_cfg_path = staticmethod(_get_cfg_path)
