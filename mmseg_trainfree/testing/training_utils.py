"""What the recipes of the trained fixtures share: a progress bar, the warm-up + cosine schedule, one clipped
optimiser step and the dtypes weights are saved in."""
from __future__ import annotations

import math
from typing import Iterable

import torch

SAVE_DTYPES = dict(float16=torch.float16, float32=torch.float32)


def progress(total: int, desc: str):
    from tqdm import tqdm
    return tqdm(total=total, desc=desc, dynamic_ncols=True, mininterval=2.0)


def cosine_schedule(optimizer, steps: int, warmup: int = 20):
    """Linear warm-up over ``warmup`` steps, then a cosine decay to 0 at ``steps``."""
    return torch.optim.lr_scheduler.LambdaLR(
        optimizer, lambda i: min(1.0, (i + 1) / warmup) * 0.5 * (1 + math.cos(math.pi * min(i, steps) / steps)))


def optimizer_step(optimizer, scheduler, loss: torch.Tensor, parameters: Iterable[torch.nn.Parameter],
                   max_norm: float = 1.0) -> None:
    """Backward, gradient-norm clipping at ``max_norm``, one optimiser and one scheduler step."""
    optimizer.zero_grad(set_to_none=True)
    loss.backward()
    torch.nn.utils.clip_grad_norm_(list(parameters), max_norm)
    optimizer.step()
    scheduler.step()
