"""Models: frozen backbones, attention hooks, segmentors and their shared utilities."""
from . import attention, backbones, captioners, filters, segmentors, utils  # noqa: F401
from .backbones import *  # noqa: F401,F403
from .captioners import *  # noqa: F401,F403
from .filters import *  # noqa: F401,F403
from .segmentors import *  # noqa: F401,F403
