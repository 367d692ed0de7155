"""What every converter shares: the 16-bit ignore value and the per-file loop with an mmengine progress bar."""
from __future__ import annotations

from typing import Callable, Sequence

from mmengine.utils import track_parallel_progress, track_progress

IGNORE_16BIT = 65535  # unlabelled in the 16-bit benchmarks (255 is a real class there)


def run_with_progress(work: Callable[[str], None], files: Sequence[str], nproc: int = 1) -> None:
    """``work(file)`` for every file, in ``nproc`` processes when > 1, with progress and ETA."""
    if nproc > 1:
        track_parallel_progress(work, list(files), nproc)
    else:
        track_progress(work, list(files))
