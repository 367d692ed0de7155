"""A frozen BLIP captioner (transformers ``BlipForConditionalGeneration``), unconditional or continuing a prefix."""
from __future__ import annotations

import os
from typing import Optional, Sequence

import numpy as np
import torch
from mmengine.model import BaseModule
from torch import Tensor

from ...registry import MODELS
from ..backbones.hub import load_pretrained, resolve_dtype


def to_uint8_images(images: Tensor) -> list[np.ndarray]:
    """(B, 3, H, W) RGB in [-1, 1] (the SD data preprocessor's range) to HWC uint8 arrays."""
    x = ((images.detach().float().clamp(-1, 1) + 1) * 127.5).round().to(torch.uint8)
    return list(x.permute(0, 2, 3, 1).cpu().numpy())


@MODELS.register_module()
class BlipCaptioner(BaseModule):
    """``BlipForConditionalGeneration.from_pretrained(model_id)`` and its ``BlipProcessor``, frozen.

    Args:
        model_id: hub id or local folder (default: BLIP-large, as DiffSegmenter uses).
        max_new_tokens / num_beams: generation settings (official DiffSegmenter: transformers' defaults,
            greedy with at most 20 tokens).
        batch_size: captions per ``generate`` call.
    """

    def __init__(self, model_id: str = 'Salesforce/blip-image-captioning-large', revision: Optional[str] = None,
                 dtype: str = 'auto', local_files_only: Optional[bool] = None, max_new_tokens: int = 20,
                 num_beams: int = 1, batch_size: int = 16, init_cfg=None):
        super().__init__(init_cfg)
        from transformers import BlipForConditionalGeneration, BlipProcessor
        if local_files_only is None:
            local_files_only = os.environ.get('HF_HUB_OFFLINE', '0') not in ('0', '', 'false')
        kw = dict(revision=revision, local_files_only=local_files_only)
        layout = "the transformers layout (config.json, model weights and BlipProcessor's files)"
        field = 'model.captioner.model_id'
        self.processor = load_pretrained(BlipProcessor, model_id, layout, field, **kw)
        self.model = load_pretrained(BlipForConditionalGeneration, model_id, layout, field,
                                     dtype=resolve_dtype(dtype), **kw).eval().requires_grad_(False)
        self.max_new_tokens, self.num_beams, self.batch_size = int(max_new_tokens), int(num_beams), int(batch_size)
        self.num_generate_calls = 0

    def train(self, mode: bool = True):
        return super().train(False)

    @torch.no_grad()
    def caption(self, image: np.ndarray, prefixes: Sequence[str] = ('',)) -> list[str]:
        """One caption per prefix of one HWC uint8 RGB ``image``: the generated words after the prefix
        (the whole caption for ``''``), lower case as BLIP's BERT tokenizer writes them.

        Prefixes are grouped by token count, so a batch needs no padding (BLIP's ``generate`` replaces the
        first token with its [DEC] token and drops the last one, which only works unpadded)."""
        model, tokenizer = self.model, self.processor.tokenizer
        device, dtype = model.device, model.dtype
        pixels = self.processor(images=[image], return_tensors='pt')['pixel_values'].to(device, dtype)
        ids = [tokenizer(p).input_ids if p else None for p in prefixes]  # [CLS] prefix [SEP]
        groups: dict[int, list[int]] = {}
        for i, t in enumerate(ids):
            groups.setdefault(0 if t is None else len(t), []).append(i)
        out = [''] * len(prefixes)
        for length, members in groups.items():
            for start in range(0, len(members), self.batch_size):
                rows = members[start:start + self.batch_size]
                kw = {} if length == 0 else dict(input_ids=torch.tensor([ids[i] for i in rows], device=device))
                tokens = model.generate(pixel_values=pixels.expand(len(rows), -1, -1, -1), **kw,
                                        max_new_tokens=self.max_new_tokens, num_beams=self.num_beams)
                self.num_generate_calls += 1
                keep = max(length - 1, 1)  # the prompt's tokens come back first: [DEC] prefix (no [SEP])
                for i, row in zip(rows, tokens):
                    out[i] = tokenizer.decode(row[keep:], skip_special_tokens=True).strip()
        return out
