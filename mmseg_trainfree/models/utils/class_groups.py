"""Predicting over fine classes and scoring over coarse ones (e.g. COCO-Stuff's 171 names -> its 27 classes):
a config-level mapping, applied to the per-class scores."""
from __future__ import annotations

import importlib
from typing import Sequence, Union

import torch
from torch import Tensor

ClassGroups = Union[str, Sequence[int]]


def load_class_groups(groups: ClassGroups) -> list[int]:
    """A list of coarse ids (one per fine class), or ``'package.module:NAME'`` naming such a table."""
    if isinstance(groups, str):
        module, _, name = groups.partition(':')
        try:
            table = getattr(importlib.import_module(module), name)
        except (ImportError, AttributeError, ValueError) as e:
            raise ValueError(f"class_groups {groups!r}: expected 'package.module:TABLE' naming a list of coarse ids "
                             f'({e})') from e
        groups = table
    groups = [int(g) for g in groups]
    if not groups or min(groups) < 0:
        raise ValueError(f'class_groups must be non-negative coarse ids, one per fine class; got {groups[:8]}...')
    return groups


def reduce_to_groups(logits: Tensor, groups: Sequence[int]) -> Tensor:
    """(B, C_fine, ...) -> (B, C_coarse, ...): each coarse class scores the max of its fine classes, so the
    coarse argmax is the group of the fine argmax."""
    if logits.shape[1] != len(groups):
        raise ValueError(f'class_groups maps {len(groups)} fine classes, but the scores have {logits.shape[1]}')
    index = torch.tensor(groups, device=logits.device).view(1, -1, *([1] * (logits.dim() - 2))).expand_as(logits)
    out = logits.new_full((logits.shape[0], max(groups) + 1, *logits.shape[2:]), float('-inf'))
    return out.scatter_reduce(1, index, logits, reduce='amax')
