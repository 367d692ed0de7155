"""Writing files so that a reader (or a resumed run) never sees half of one."""
from __future__ import annotations

import contextlib
import os
import os.path as osp
from typing import Iterator


@contextlib.contextmanager
def atomic_path(path: str) -> Iterator[str]:
    """Yield a temporary path beside ``path`` (same suffix, so writers that go by it still do); on success it
    replaces ``path`` in one step, on failure it is removed."""
    os.makedirs(osp.dirname(osp.abspath(path)), exist_ok=True)
    stem, suffix = osp.splitext(path)
    tmp = f'{stem}.tmp{os.getpid()}{suffix}'
    try:
        yield tmp
        os.replace(tmp, path)
    finally:
        if osp.exists(tmp):
            os.remove(tmp)
