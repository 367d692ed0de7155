"""DiffSegmenter (paper 003, Sec. 3): per-class prompts through one noised UNet pass each (batched),
the class token's cross-attention fused over resolutions with fixed weights, refined by the finest
self-attention, and "class++" re-weighting of the class token embedding.

Not implemented yet: BLIP-augmented prompts, BLIP/CLIP category filtering and the weakly supervised
pseudo-label tool (every class of the vocabulary is a candidate for every image).
"""
from __future__ import annotations

from typing import Optional, Sequence

import torch
import torch.nn.functional as F
from torch import Tensor

from ...registry import MODELS
from ..attention import AttentionAccumulator, AttentionRecorder, attention_hooks
from .diffusion_base import DiffusionFeatureSegmentor
from .maskdiffusion import merge_synonyms, normalize_maps, spatial_shape


def fuse_cross_attention(maps: Sequence[Tensor], weights: Sequence[float], size: tuple[int, int]) -> Tensor:
    """Eq. 2: sum_l w_l minmax(up(A_l)); maps are (E, h_l, w_l) per resolution, coarsest first."""
    if len(maps) != len(weights):
        raise ValueError(f'{len(maps)} attention resolutions but {len(weights)} fusion weights')
    return sum(w * normalize_maps(F.interpolate(m[:, None], size, mode='bilinear', align_corners=False),
                                  'minmax')[:, 0]
               for m, w in zip(maps, weights))


def refine(self_attention: Tensor, cross: Tensor) -> Tensor:
    """Eq. 3: minmax(A_self @ vec(A_cross)) per entry; self_attention (E, N, N), cross (E, h, w)."""
    out = torch.bmm(self_attention, cross.flatten(1).unsqueeze(-1).to(self_attention)).view_as(cross)
    return normalize_maps(out[:, None], 'minmax')[:, 0]


@MODELS.register_module()
class DiffSegmenter(DiffusionFeatureSegmentor):
    """Open-vocabulary DiffSegmenter on a frozen Stable Diffusion.

    Args (besides :class:`DiffusionFeatureSegmentor`'s; paper: SD v1.5, 512x512, t=100):
        prompt_template: ``'{}'`` slot for the class name (official: "a photograph of {}").
        class_weight: "class++" re-weighting w of the class tokens, e' = e_empty + w (e - e_empty)
            (official "++": 1.1^2 = 1.21); 1 switches it off.
        cross_attn_layers / fusion_weights: cross-attention layers, grouped by resolution (coarsest
            first), and the weight of each resolution (paper: [0.3, 0.5, 0.1, 0.1] for 8, 16, 32, 64).
        self_attn_layers: the finest self-attention layers (paper: encoder and decoder at 64x64); None
            switches the refinement off.
        background_index / background_score: the class that is not prompted but takes a constant score
            (pixels whose best class score is below it become background); None: every class is prompted.
        max_batch: prompts per UNet call.
    """

    def __init__(self, backbone: dict, data_preprocessor: Optional[dict] = None, class_names=None,
                 image_size: Optional[Sequence[int]] = (512, 512), timestep: int = 100, add_noise: bool = True,
                 seed: int = 0, prompt_template: str = 'a photograph of {}', class_weight: float = 1.21,
                 cross_attn_layers: Sequence[str] = ('*attn2',), fusion_weights: Sequence[float] = (0.3, 0.5, 0.1, 0.1),
                 self_attn_layers: Optional[Sequence[str]] = ('down_blocks.0.attentions.*.attn1',
                                                              'up_blocks.3.attentions.*.attn1'),
                 background_index: Optional[int] = None, background_score: float = 0.5, max_batch: int = 8,
                 test_cfg: Optional[dict] = None, init_cfg=None):
        if prompt_template.count('{}') != 1:
            raise ValueError(f"prompt_template needs exactly one '{{}}' slot, got {prompt_template!r}")
        if abs(sum(fusion_weights) - 1) > 1e-6:
            raise ValueError(f'fusion_weights must sum to 1 (Eq. 2), got {list(fusion_weights)}')
        if max_batch < 1:
            raise ValueError(f'max_batch must be >= 1, got {max_batch}')
        super().__init__(backbone, data_preprocessor, class_names, image_size, timestep, add_noise, seed, (),
                         test_cfg, init_cfg)
        self.prompt_template, self.class_weight = prompt_template, float(class_weight)
        self.cross_attn_layers, self.fusion_weights = list(cross_attn_layers), list(fusion_weights)
        self.self_attn_layers = None if not self_attn_layers else list(self_attn_layers)
        self.background_index, self.background_score = background_index, float(background_score)
        self.max_batch = int(max_batch)
        self._prompts = None
        self.freeze()

    def on_vocabulary_change(self) -> None:
        self._prompts = None

    def prompted_classes(self) -> list[int]:
        return [c for c in range(self.num_classes) if c != self.background_index]

    def prompts(self) -> tuple[Tensor, list[list[int]], Tensor]:
        """Re-weighted text embeddings (E, 77, D) of one prompt per synonym of every prompted class, each
        entry's class-token positions, and each entry's class id (cached until the vocabulary changes)."""
        if self._prompts is None:
            tok = self.backbone.tokenizer
            before = self.prompt_template.split('{}')[0].strip()
            start = 1 + (len(tok(before).input_ids) - 2 if before else 0)  # after BOS and the words before
            entries = [(c, name) for c in self.prompted_classes() for name in self.class_names[c]]
            texts = [self.prompt_template.format(name) for _, name in entries]
            spans = [list(range(start, start + len(tok(name).input_ids) - 2)) for _, name in entries]
            if any(not s or s[-1] >= tok.model_max_length - 1 for s in spans):
                raise ValueError(f'a class name has no tokens or does not fit in {tok.model_max_length} tokens')
            text = self.backbone.encode_prompts(texts).float()
            empty = self.backbone.encode_prompts(['']).float()
            for row, span in enumerate(spans):  # class++: e' = e_empty + w (e - e_empty) on the class tokens
                if self.class_weight != 1:
                    text[row, span] = empty[0, span] + self.class_weight * (text[row, span] - empty[0, span])
            self._prompts = (text.to(self.backbone.unet.dtype), spans, torch.tensor([c for c, _ in entries]))
        return self._prompts

    def entry_maps(self, latents: Tensor, text: Tensor, spans: list[list[int]]) -> Tensor:
        """Refined score maps (E, h, w) of prompt entries for one image's latent (1, 4, h, w)."""
        key_index = torch.tensor(sorted({t for s in spans for t in s}))
        column = {int(k): j for j, k in enumerate(key_index)}
        recorder = AttentionRecorder(self.cross_attn_layers, 'probs', head_mean=True, key_index=key_index)
        hooks = [recorder]
        accumulator = None
        if self.self_attn_layers:
            accumulator = AttentionAccumulator(self.self_attn_layers)
            hooks.append(accumulator)
        n = text.shape[0]
        with attention_hooks(self.backbone.unet, hooks):
            self.backbone.unet_forward(latents.expand(n, -1, -1, -1), self.timestep, text)
        by_size: dict[int, list[Tensor]] = {}
        for maps in recorder['probs'].values():
            m = maps[0].float()  # (E, Nq, keys)
            m = torch.stack([m[e][:, [column[t] for t in span]].mean(-1) for e, span in enumerate(spans)])
            by_size.setdefault(m.shape[1], []).append(m)
        latent_hw = tuple(latents.shape[2:])
        levels = sorted(by_size)  # coarsest first
        maps = [torch.stack(by_size[nq]).mean(0).view(n, *spatial_shape(nq, latent_hw)) for nq in levels]
        finest = spatial_shape(levels[-1], latent_hw)
        fused = fuse_cross_attention(maps, self.fusion_weights, finest)
        return refine(accumulator.mean, fused) if accumulator is not None else fused

    def encode_decode(self, inputs: Tensor, batch_img_metas: list[dict]) -> Tensor:
        h, w = inputs.shape[2:]
        text, spans, entry_class = self.prompts()
        latents = self.noisy_latents(self.resize_input(inputs))
        classes = self.prompted_classes()
        entry_index = torch.searchsorted(torch.tensor(classes), entry_class)  # entry -> position in `classes`
        out = []
        for b in range(inputs.shape[0]):
            maps = torch.cat([self.entry_maps(latents[b:b + 1], text[i:i + self.max_batch],
                                              spans[i:i + self.max_batch])
                              for i in range(0, text.shape[0], self.max_batch)])
            merged = merge_synonyms(maps[None], entry_index, len(classes))[0]
            if self.background_index is not None:
                scores = merged.new_full((self.num_classes, *merged.shape[1:]), self.background_score)
                scores[classes] = merged
                merged = scores
            out.append(merged)
        return F.interpolate(torch.stack(out), (h, w), mode='bilinear', align_corners=False)
