"""Pack class names into as few 77-token prompts as they fit, knowing where each name's tokens are."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Sequence

import torch
from torch import Tensor


@dataclass
class PackedPrompt:
    """Token ids of one prompt and, for each entry it holds, the positions of that entry's tokens."""
    input_ids: Tensor
    spans: dict[int, list[int]] = field(default_factory=dict)


def pack_prompts(tokenizer, names: Sequence[str], joiner: str = ' and ', prefix: str = '',
                 max_length: int | None = None) -> list[PackedPrompt]:
    """``prefix name_0 joiner name_1 joiner ...`` split greedily over prompts of ``max_length`` tokens.

    Built from token ids (not re-tokenised strings), so the spans are exact. An entry never straddles
    two prompts; a single name longer than a whole prompt is an error.
    """
    max_length = max_length or tokenizer.model_max_length
    bos, eos = tokenizer.bos_token_id, tokenizer.eos_token_id
    pad = tokenizer.pad_token_id if tokenizer.pad_token_id is not None else eos
    encode = lambda s: tokenizer(s, add_special_tokens=False).input_ids if s.strip() else []  # noqa: E731
    prefix_ids, joiner_ids = encode(prefix), encode(joiner)
    room = max_length - 2  # start and end tokens
    prompts: list[PackedPrompt] = []
    ids: list[int] = []
    spans: dict[int, list[int]] = {}

    def flush():
        body = [bos] + ids + [eos]
        prompts.append(PackedPrompt(torch.tensor(body + [pad] * (max_length - len(body))), dict(spans)))

    for i, name in enumerate(names):
        name_ids = encode(name)
        if not name_ids:
            raise ValueError(f'class name {i} ({name!r}) has no tokens')
        if len(prefix_ids) + len(name_ids) > room:
            raise ValueError(f'class name {name!r} needs {len(name_ids)} tokens: more than one prompt holds')
        sep = joiner_ids if spans else prefix_ids
        if len(ids) + len(sep) + len(name_ids) > room:
            flush()
            ids, spans, sep = [], {}, prefix_ids
        ids += sep
        spans[i] = list(range(1 + len(ids), 1 + len(ids) + len(name_ids)))
        ids += name_ids
    if spans:
        flush()
    return prompts
