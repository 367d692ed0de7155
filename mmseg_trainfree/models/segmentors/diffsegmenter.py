"""DiffSegmenter (Wang et al. 2023, Sec. 3-4): per-class prompts through one noised UNet pass each (batched), the
class token's cross-attention fused over resolutions with fixed weights, refined by the finest self-attention,
"class++" re-weighting of the class tokens, BLIP-augmented prompts, per-image category filtering (BLIP caption
and CLIP), and the weakly supervised setting (image-level labels, score maps averaged over timesteps).
"""
from __future__ import annotations

from typing import Optional, Sequence

import torch
import torch.nn.functional as F
from mmseg.utils import SampleList
from torch import Tensor

from ...registry import MODELS
from ..attention import AttentionAccumulator, AttentionRecorder, attention_hooks, spatial_shape
from ..captioners.blip import to_uint8_images
from .base import NON_CANDIDATE_SCORE, attach_image_labels
from .diffusion_base import DiffusionFeatureSegmentor
from .maskdiffusion import merge_synonyms, normalize_maps


def normalized_levels(maps: Sequence[Tensor], size: tuple[int, int]) -> Tensor:
    """The terms of Eq. 5 (fusion) before their weights: minmax(up(A_l)) per resolution, (E, L, h, w); ``maps`` are
    (E, h_l, w_l), coarsest first. :meth:`DiffSegmenter.fuse_levels` weighs and sums them."""
    return torch.stack([normalize_maps(F.interpolate(m[:, None], size, mode='bilinear', align_corners=False),
                                       'minmax')[:, 0] for m in maps], 1)


CLASS_TOKENS = ('last', 'first', 'all')


@MODELS.register_module()
class DiffSegmenter(DiffusionFeatureSegmentor):
    """Open-vocabulary DiffSegmenter on a frozen Stable Diffusion.

    Arguments besides :class:`DiffusionFeatureSegmentor`'s; paper: SD v1.5, 512x512, t=100.

    Args:
        timestep: t of the UNet pass, or a list of them whose score maps are averaged (Sec. 4, weakly
            supervised: [1, 50, 100, 150]); one noise draw per image serves every t.
        prompt_template: ``'{}'`` slot for the class name (official: "a photograph of {}"); also BLIP's prefix.
        class_weight: "class++" re-weighting w of the class tokens, e' = e_empty + w (e - e_empty)
            (official "++": 1.1^2 = 1.21); 1 switches it off.
        cross_attn_layers / fusion_weights: cross-attention layers, grouped by resolution (coarsest
            first), and the weight of each resolution (paper: [0.3, 0.5, 0.1, 0.1] for 8, 16, 32, 64).
        self_attn_layers: the finest self-attention layers (paper: encoder and decoder at 64x64); None
            switches the refinement off.
        captioner: a ``BlipCaptioner`` config (augmented prompts, caption filtering), or None.
        augment_prompts: each class prompt is BLIP's caption continuing ``prompt_template`` (needs captioner).
        ing_continuation: descriptive words (Sec. 3.5, 4.4): when BLIP's continuation starts with an "-ing" word
            ("a photograph of horse running ..."), the class map averages the class token(s) with that word's
            first token, the official code's rule for them (default); False keeps the class tokens alone.
        class_tokens: which tokens of a (multi-word) class name carry "++" and make its map: 'last' (default, the
            official Context / COCO scripts: "++" on the last word, the map of the name's last token), 'first'
            (the official VOC script: "++" on the last word, the map of the name's first token) or 'all' (every
            token weighted, their maps averaged). The same for one-word, one-token names.
        category_filter: a ``CategoryFilter`` config (per-image candidates), or None: every class.
        use_image_labels: the candidates are the image's ground-truth classes (weakly supervised setting).
        background_index / background_score: the class that is not prompted but takes a constant score
            (pixels whose best class score is below it become background); None: every class is prompted.
        max_batch: prompts per UNet call.
        crf: a ``DenseCRF`` config: the scores (negatives clipped to 0) are normalised into probabilities per
            pixel and refined by a dense CRF on the input image (pseudo-label post-processing); None: off.

    Classes that are not candidates of an image score ``NON_CANDIDATE_SCORE`` (-1) in ``seg_logits``.
    """

    def __init__(self, backbone: dict, data_preprocessor: Optional[dict] = None, class_names=None,
                 image_size: Optional[Sequence[int]] = (512, 512), timestep: int | Sequence[int] = 100,
                 add_noise: bool = True, seed: int = 0, prompt_template: str = 'a photograph of {}',
                 class_weight: float = 1.21, cross_attn_layers: Sequence[str] = ('*attn2',),
                 fusion_weights: Sequence[float] = (0.3, 0.5, 0.1, 0.1),
                 self_attn_layers: Optional[Sequence[str]] = ('down_blocks.0.attentions.*.attn1',
                                                              'up_blocks.3.attentions.*.attn1'),
                 captioner: Optional[dict] = None, augment_prompts: bool = True, ing_continuation: bool = True,
                 class_tokens: str = 'last',
                 category_filter: Optional[dict] = None, use_image_labels: bool = False,
                 background_index: Optional[int] = None, background_score: float = 0.5, max_batch: int = 8,
                 crf: Optional[dict] = None, test_cfg: Optional[dict] = None, init_cfg=None):
        if prompt_template.count('{}') != 1:
            raise ValueError(f"prompt_template needs exactly one '{{}}' slot, got {prompt_template!r}")
        if abs(sum(fusion_weights) - 1) > 1e-6:
            raise ValueError(f'fusion_weights must sum to 1 (Eq. 5), got {list(fusion_weights)}')
        if max_batch < 1:
            raise ValueError(f'max_batch must be >= 1, got {max_batch}')
        if class_tokens not in CLASS_TOKENS:
            raise ValueError(f'class_tokens must be one of {CLASS_TOKENS}, got {class_tokens!r}')
        timesteps = [int(t) for t in timestep] if isinstance(timestep, (list, tuple)) else [int(timestep)]
        if not timesteps:
            raise ValueError('timestep: give at least one')
        if use_image_labels and category_filter is not None:
            raise ValueError('use_image_labels and category_filter both choose the candidate classes: set one')
        if category_filter is not None and category_filter.get('use_caption', True) and captioner is None:
            raise ValueError('category_filter.use_caption needs a captioner (BlipCaptioner config)')
        super().__init__(backbone, data_preprocessor, class_names, image_size, timesteps[0], add_noise, seed, (),
                         test_cfg, init_cfg)
        self.timesteps = timesteps
        self.prompt_template, self.class_weight = prompt_template, float(class_weight)
        self.cross_attn_layers, self.fusion_weights = list(cross_attn_layers), list(fusion_weights)
        self.self_attn_layers = None if not self_attn_layers else list(self_attn_layers)
        self.captioner = MODELS.build(captioner) if captioner is not None else None
        self.augment_prompts = bool(augment_prompts) and self.captioner is not None
        self.ing_continuation, self.class_tokens = bool(ing_continuation), class_tokens
        self.category_filter = MODELS.build(category_filter) if category_filter is not None else None
        self.use_image_labels = use_image_labels
        self.background_index, self.background_score = background_index, float(background_score)
        if background_index is None and getattr(self.category_filter, 'empty', None) == 'background':
            raise ValueError("category_filter.empty='background' predicts background where the filter keeps no "
                             "class, but this model has no background_index: set category_filter.empty='all'")
        self.max_batch = int(max_batch)
        self.crf = MODELS.build(crf) if crf is not None else None
        self._prompts = None
        self.candidates_seen = 0  # candidate classes over all images so far (tools/benchmark.py)
        self.freeze()

    def on_vocabulary_change(self) -> None:
        self._prompts = None

    def prompted_classes(self) -> list[int]:
        return [c for c in range(self.num_classes) if c != self.background_index]

    # Prompts
    def class_token_start(self) -> int:
        """Position of a class name's first token: after BOS and the template's words before the slot."""
        before = self.prompt_template.split('{}')[0].strip()
        return 1 + (len(self.backbone.tokenizer(before).input_ids) - 2 if before else 0)

    def name_tokens(self, name: str) -> tuple[list[int], list[int]]:
        """Token positions of ``name`` in its prompt: those "++" re-weights and those whose maps make its map
        (``class_tokens``). CLIP's tokenizer splits at spaces, so the last word's tokens end the name's."""
        tok, start = self.backbone.tokenizer, self.class_token_start()
        positions = list(range(start, start + len(tok(name).input_ids) - 2))
        if self.class_tokens == 'all' or not positions:
            return positions, list(positions)
        last_word = len(tok(name.split()[-1]).input_ids) - 2
        return positions[-last_word:], [positions[-1] if self.class_tokens == 'last' else positions[0]]

    def encode_entries(self, entries: Sequence[tuple[int, str]], continuations: Optional[Sequence[str]] = None
                       ) -> tuple[Tensor, list[list[int]], Tensor]:
        """Re-weighted text embeddings (E, 77, D) of one prompt per (class id, name) entry, the token positions
        whose maps make each entry's map, and each entry's class id. ``continuations`` (BLIP's words after the
        template) are appended to the prompts; the class tokens keep their positions."""
        tok = self.backbone.tokenizer
        texts = [self.prompt_template.format(name) for _, name in entries]
        spans, map_spans = map(list, zip(*[self.name_tokens(name) for _, name in entries])) if entries else ([], [])
        if continuations is not None:
            for row, (text, more) in enumerate(zip(texts, continuations)):
                first = more.split()[0] if more.split() else ''
                if self.ing_continuation and first.endswith('ing'):  # the official "-ing" rule
                    map_spans[row] = map_spans[row] + [len(tok(text).input_ids) - 1]  # the continuation's 1st token
            texts = [f'{t} {c}'.strip() for t, c in zip(texts, continuations)]
        if any(not s or s[-1] >= tok.model_max_length - 1 for s in map_spans):
            raise ValueError(f'a class name has no tokens or does not fit in {tok.model_max_length} tokens')
        text = self.backbone.encode_prompts(texts).float()
        if self.class_weight != 1:  # class++: e' = e_empty + w (e - e_empty) on the re-weighted tokens
            empty = self.backbone.encode_prompts(['']).float()
            for row, span in enumerate(spans):
                text[row, span] = empty[0, span] + self.class_weight * (text[row, span] - empty[0, span])
        return text.to(self.backbone.unet.dtype), map_spans, torch.tensor([c for c, _ in entries], dtype=torch.long)

    def prompts(self) -> tuple[Tensor, list[list[int]], Tensor]:
        """The plain prompts of every synonym of every prompted class (cached until the vocabulary changes)."""
        if self._prompts is None:
            self._prompts = self.encode_entries(
                [(c, name) for c in self.prompted_classes() for name in self.class_names[c]])
        return self._prompts

    def image_prompts(self, image: Tensor, candidates: Sequence[int]) -> tuple[Tensor, list[list[int]], Tensor]:
        """The prompts of one image's candidate classes: BLIP-augmented, or the cached plain ones."""
        if self.augment_prompts:
            entries = [(c, name) for c in candidates for name in self.class_names[c]]
            prefixes = [self.prompt_template.format(name) for _, name in entries]
            return self.encode_entries(entries, self.captioner.caption(to_uint8_images(image[None])[0], prefixes))
        text, spans, entry_class = self.prompts()
        wanted = set(candidates)
        rows = [i for i, c in enumerate(entry_class.tolist()) if c in wanted]
        return text[rows], [spans[i] for i in rows], entry_class[rows]

    # Candidate classes
    def _metas(self, inputs: Tensor, data_samples: SampleList = None) -> list[dict]:
        metas = super()._metas(inputs, data_samples)
        if not self.use_image_labels:
            return metas
        return attach_image_labels(metas, data_samples, self.num_classes, 'use_image_labels')

    def candidates(self, image: Tensor, meta: dict) -> list[int]:
        """The prompted classes that are candidates of one image (3, H, W)."""
        prompted = self.prompted_classes()
        if self.use_image_labels:
            labels = set(meta['image_labels'])
            return [c for c in prompted if c in labels]
        if self.category_filter is None:
            return prompted
        caption = None
        if self.category_filter.use_caption:
            caption = self.captioner.caption(to_uint8_images(image[None])[0])[0]
        return self.category_filter.select(image, caption, self.class_names, prompted,
                                           source=meta.get('img_path', 'an image'))

    # Score maps
    def entry_level_maps(self, latents: Tensor, timestep: int, text: Tensor, spans: list[list[int]]) -> Tensor:
        """Per prompt entry and attention resolution (coarsest first), the min-max normalised cross-attention map
        upsampled to the finest grid, times the self-attention when it refines (Eq. 5 and 7 before the fusion
        weights: A_self vec(sum_l w_l M_l) = sum_l w_l A_self vec(M_l)): (E, L, h, w) for one image's latent
        (1, 4, h, w) at ``timestep``."""
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
            self.backbone.unet_forward(latents.expand(n, -1, -1, -1), timestep, text)
        by_size: dict[int, list[Tensor]] = {}
        for maps in recorder['probs'].values():
            m = maps[0].float()  # (E, Nq, keys)
            m = torch.stack([m[e][:, [column[t] for t in span]].mean(-1) for e, span in enumerate(spans)])
            by_size.setdefault(m.shape[1], []).append(m)
        latent_hw = tuple(latents.shape[2:])
        levels = sorted(by_size)  # coarsest first
        finest = spatial_shape(levels[-1], latent_hw)
        maps = normalized_levels([torch.stack(by_size[nq]).mean(0).view(n, *spatial_shape(nq, latent_hw))
                                  for nq in levels], finest)
        if accumulator is None:
            return maps
        sa = accumulator.mean  # Eq. 6's A_self; Eq. 7's product, per resolution: A_self vec(M_l)
        return torch.bmm(sa, maps.flatten(2).transpose(1, 2).to(sa)).transpose(1, 2).reshape(maps.shape).float()

    def fuse_levels(self, level_maps: Tensor) -> Tensor:
        """(E, L, h, w) -> (E, h, w): sum_l w_l of the level maps (Eq. 5), min-max normalised when they carry
        the self-attention refinement (Eq. 7)."""
        if level_maps.shape[1] != len(self.fusion_weights):
            raise ValueError(f'{level_maps.shape[1]} attention resolutions but {len(self.fusion_weights)} fusion '
                             'weights')
        fused = sum(w * level_maps[:, i] for i, w in enumerate(self.fusion_weights))
        return normalize_maps(fused[:, None], 'minmax')[:, 0] if self.self_attn_layers else fused

    def entry_maps(self, latents: Tensor, timestep: int, text: Tensor, spans: list[list[int]]) -> Tensor:
        """Refined score maps (E, h, w) of prompt entries for one image's latent (1, 4, h, w) at ``timestep``."""
        return self.fuse_levels(self.entry_level_maps(latents, timestep, text, spans))

    def cached_level_maps(self, latents: Tensor, noise: Tensor, timestep: int, text: Tensor,
                          spans: list[list[int]]) -> Tensor:
        """:meth:`entry_level_maps` of every entry, in UNet calls of ``max_batch`` prompts. With a feature cache
        each entry is cached on its own (keyed by the image's latent, t, the noise seed, its prompt embedding and
        tokens, the layers), so the fusion weights, the background score, the candidate classes and CRF are free
        to change: only entries never seen cost a UNet row."""
        noised = self.backbone.add_noise(latents, timestep, noise=noise) if self.add_noise else latents

        def compute(rows: list[int]) -> dict[str, Tensor]:
            chunks = [rows[i:i + self.max_batch] for i in range(0, len(rows), self.max_batch)]
            return dict(level_maps=torch.cat([self.entry_level_maps(noised, timestep, text[c], [spans[j] for j in c])
                                              for c in chunks]))

        settings = [dict(latents=latents, timestep=timestep, add_noise=self.add_noise, seed=self.seed, text=text[e],
                         span=spans[e], cross_attn_layers=self.cross_attn_layers,
                         self_attn_layers=self.self_attn_layers) for e in range(text.shape[0])]
        return self.cached_rows('entry_level_maps', settings, compute)['level_maps']

    def class_scores(self, latents: Tensor, noise: Tensor, text: Tensor, spans: list[list[int]],
                     entry_index: Tensor, num: int) -> Tensor:
        """(num, h, w): the entries' maps, averaged over timesteps and then over each class's synonyms."""
        total = 0
        for t in self.timesteps:
            total = total + self.fuse_levels(self.cached_level_maps(latents, noise, t, text, spans))
        return merge_synonyms((total / len(self.timesteps))[None], entry_index, num)[0]

    def encode_decode(self, inputs: Tensor, batch_img_metas: list[dict]) -> Tensor:
        h, w = inputs.shape[2:]
        latents = self.backbone.encode_images(self.resize_input(inputs))
        noise = self.seeded_noise(latents)
        out = []
        for b in range(inputs.shape[0]):
            candidates = self.candidates(inputs[b], batch_img_metas[b])
            self.candidates_seen += len(candidates)
            scores = latents.new_full((self.num_classes, *latents.shape[2:]), NON_CANDIDATE_SCORE, dtype=torch.float)
            if candidates:
                text, spans, entry_class = self.image_prompts(inputs[b], candidates)
                entry_index = torch.searchsorted(torch.tensor(candidates), entry_class)  # entry -> candidate
                scores[candidates] = self.class_scores(latents[b:b + 1], noise[b:b + 1], text, spans, entry_index,
                                                       len(candidates))
            if self.background_index is not None:
                scores[self.background_index] = self.background_score
            out.append(scores)
        scores = F.interpolate(torch.stack(out), (h, w), mode='bilinear', align_corners=False)
        return self.apply_crf(inputs, scores) if self.crf is not None else scores

    def apply_crf(self, inputs: Tensor, scores: Tensor) -> Tensor:
        """Dense-CRF probabilities (B, C, H, W) from scores: negatives clipped, normalised per pixel."""
        probs = scores.float().clamp(min=0)
        probs = probs / probs.sum(1, keepdim=True).clamp(min=1e-8)
        images = to_uint8_images(inputs)
        return torch.stack([torch.from_numpy(self.crf(img, p.cpu().numpy())) for img, p in zip(images, probs)]
                           ).to(scores)
