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
        self.num_generate_calls = self.num_captions = 0  # counters for tools/benchmark.py

    def train(self, mode: bool = True):
        return super().train(False)

    @torch.no_grad()
    def caption(self, image: np.ndarray, prefixes: Sequence[str] = ('',)) -> list[str]:
        """One caption per prefix of one HWC uint8 RGB ``image``: the generated words after the prefix
        (the whole caption for ``''``), lower case as BLIP's BERT tokenizer writes them.

        The vision encoder runs once per image, and its tokens serve every prefix (``BlipForConditionalGeneration
        .generate`` would re-encode the image for each row). As in ``generate``, the decoder starts from [DEC]
        followed by the prefix's tokens without [SEP]. Prefixes are grouped by token count, so no batch is
        padded."""
        model, tokenizer, text_cfg = self.model, self.processor.tokenizer, self.model.config.text_config
        device, dtype = model.device, model.dtype
        pixels = self.processor(images=[image], return_tensors='pt')['pixel_values'].to(device, dtype)
        image_tokens = model.vision_model(pixel_values=pixels)[0]  # (1, N, D)
        starts = [[text_cfg.bos_token_id] + (tokenizer(p).input_ids[1:-1] if p else []) for p in prefixes]
        groups: dict[int, list[int]] = {}
        for i, ids in enumerate(starts):
            groups.setdefault(len(ids), []).append(i)
        out = [''] * len(prefixes)
        for length, members in groups.items():
            for start in range(0, len(members), self.batch_size):
                rows = members[start:start + self.batch_size]
                tokens = image_tokens.expand(len(rows), -1, -1)
                generated = model.text_decoder.generate(
                    input_ids=torch.tensor([starts[i] for i in rows], device=device),
                    encoder_hidden_states=tokens,
                    encoder_attention_mask=torch.ones(tokens.shape[:2], dtype=torch.long, device=device),
                    eos_token_id=text_cfg.sep_token_id, pad_token_id=text_cfg.pad_token_id,
                    max_new_tokens=self.max_new_tokens, num_beams=self.num_beams)
                self.num_generate_calls += 1
                self.num_captions += len(rows)
                for i, row in zip(rows, generated):  # the words after the decoded prefix (a word piece that
                    full = tokenizer.decode(row, skip_special_tokens=True)  # glues onto its last word stays)
                    head = tokenizer.decode(row[:length], skip_special_tokens=True)
                    out[i] = (full[len(head):] if full.startswith(head) else
                              tokenizer.decode(row[length:], skip_special_tokens=True)).strip()
        return out
