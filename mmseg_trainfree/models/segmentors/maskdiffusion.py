"""MaskDiffusion (open vocabulary): class prototypes of internal UNet features, weighted by
cross-attention, and per-pixel cosine argmax (Kawano & Aoki 2024, Sec. 3.2, Eq. 3-6)."""
from __future__ import annotations

from typing import Optional, Sequence

import torch
import torch.nn.functional as F
from torch import Tensor

from ...registry import MODELS
from ..attention import AttentionRecorder, FeatureRecorder, attention_hooks, spatial_shape
from ..utils.prompts import pack_prompts
from .diffusion_base import DEFAULT_FEATURE_LAYERS, DiffusionFeatureSegmentor

CROSS_ATTN_MAPS = ('scores', 'exp', 'softmax')
CROSS_ATTN_NORMS = ('minmax', 'max', 'none')
CROSS_ATTN_SCOPES = ('input', 'image')


def finest_grid(maps: Sequence[Tensor]) -> tuple[int, int]:
    """(h, w) of the largest of the (B, C, h, w) feature maps: the grid f is computed on."""
    return tuple(max((m.shape[2:] for m in maps), key=lambda s: s[0] * s[1]))


def internal_features(maps: Sequence[Tensor], size: tuple[int, int]) -> Tensor:
    """Eq. 3: each (B, C_i, h_i, w_i) map resized to ``size`` and L2-normalised per pixel (so every
    layer weighs the same at every pixel), concatenated, and normalised again (dot products are cosines)."""
    feats = [F.normalize(F.interpolate(m.float(), size, mode='bilinear', align_corners=False), dim=1)
             for m in maps]
    return F.normalize(torch.cat(feats, 1), dim=1)


def class_prototypes(features: Tensor, weights: Tensor, eps: float = 1e-6) -> Tensor:
    """Eq. 5: f_c = sum_nm a_cnm f_nm / sum_nm a_cnm. features (B, D, h, w), weights (B, C, h, w) -> (B, C, D)."""
    num = torch.einsum('bchw,bdhw->bcd', weights, features)
    return num / weights.sum((2, 3)).unsqueeze(-1).clamp_min(eps)


def assign_classes(features: Tensor, prototypes: Tensor) -> Tensor:
    """Eq. 6 before the argmax: cosine similarity of each pixel to each prototype, (B, C, h, w)."""
    return torch.einsum('bdhw,bcd->bchw', F.normalize(features, dim=1), F.normalize(prototypes, dim=-1))


def normalize_maps(maps: Tensor, how: str, eps: float = 1e-6) -> Tensor:
    """Per-map normalisation over space of (B, C, h, w): ``minmax`` to [0, 1], ``max`` divides by the max."""
    flat = maps.flatten(2)
    if how == 'minmax':
        lo, hi = flat.amin(-1, keepdim=True), flat.amax(-1, keepdim=True)
        flat = (flat - lo) / (hi - lo).clamp_min(eps)
    elif how == 'max':
        flat = flat / flat.amax(-1, keepdim=True).clamp_min(eps)
    return flat.view_as(maps)


def merge_synonyms(entry_maps: Tensor, entry_class: Tensor, num_classes: int) -> Tensor:
    """Average the maps (B, E, h, w) of the synonym entries of each class -> (B, C, h, w)."""
    entry_class = entry_class.to(entry_maps.device)
    merged = entry_maps.new_zeros(entry_maps.shape[0], num_classes, *entry_maps.shape[2:])
    merged.index_add_(1, entry_class, entry_maps)
    return merged / torch.bincount(entry_class, minlength=num_classes).to(merged).view(1, -1, 1, 1)


@MODELS.register_module()
class MaskDiffusion(DiffusionFeatureSegmentor):
    """Open-vocabulary MaskDiffusion on a frozen Stable Diffusion.

    Arguments besides :class:`DiffusionFeatureSegmentor`'s; timestep: paper 1, the official code uses the clean
    latent, t=0.

    Args:
        prompt_prefix / prompt_joiner: the prompt is ``prefix + c1 + joiner + c2 ...`` (official:
            ``'c1 and c2 and ...'``); vocabularies longer than one 77-token prompt are split over
            several prompts, all run as one batch; features are averaged over those passes.
        feature_layers: modules whose outputs are the internal features f (Eq. 3).
        cross_attn_layers: attention layers whose class-token maps are averaged (Eq. 4).
        cross_attn_map: ``'scores'`` QK^T/sqrt(d) (paper), ``'exp'`` exp(QK^T/sqrt(d)) (official code),
            ``'softmax'`` the attention probabilities.
        cross_attn_norm: per-class spatial normalisation before Eq. 5: ``'minmax'`` (to the [0, 1]
            the paper describes), ``'max'`` (official code), ``'none'``.
        cross_attn_scope: in slide mode, where the class weights of a crop come from: ``'input'`` (the
            crop's own UNet pass, normalised over the crop) or ``'image'`` (official code: one pass on the
            whole image resized to ``image_attention_size``, normalised over the image, and each crop takes
            its window of it; the features stay per crop).
    """

    def __init__(self, backbone: dict, data_preprocessor: Optional[dict] = None, class_names=None,
                 image_size: Optional[Sequence[int]] = (512, 512), timestep: int = 1, add_noise: bool = True,
                 seed: int = 0, prompt_prefix: str = '', prompt_joiner: str = ' and ',
                 feature_layers: Sequence[str] = DEFAULT_FEATURE_LAYERS,
                 cross_attn_layers: Sequence[str] = ('down_blocks.2.attentions.*.attn2', 'mid_block.attentions.*.attn2',
                                                     'up_blocks.1.attentions.*.attn2'),
                 cross_attn_map: str = 'scores', cross_attn_norm: str = 'minmax', cross_attn_scope: str = 'input',
                 image_attention_size: Sequence[int] = (512, 512), test_cfg: Optional[dict] = None,
                 init_cfg=None):
        if cross_attn_map not in CROSS_ATTN_MAPS:  # checked before the weights load
            raise ValueError(f'cross_attn_map must be one of {CROSS_ATTN_MAPS}, got {cross_attn_map!r}')
        if cross_attn_norm not in CROSS_ATTN_NORMS:
            raise ValueError(f'cross_attn_norm must be one of {CROSS_ATTN_NORMS}, got {cross_attn_norm!r}')
        if cross_attn_scope not in CROSS_ATTN_SCOPES:
            raise ValueError(f'cross_attn_scope must be one of {CROSS_ATTN_SCOPES}, got {cross_attn_scope!r}')
        if not feature_layers or not cross_attn_layers:
            raise ValueError('MaskDiffusion needs at least one feature layer and one cross-attention layer')
        super().__init__(backbone, data_preprocessor, class_names, image_size, timestep, add_noise, seed,
                         feature_layers, test_cfg, init_cfg)
        self.prompt_prefix, self.prompt_joiner = prompt_prefix, prompt_joiner
        self.cross_attn_layers = list(cross_attn_layers)
        self.cross_attn_map, self.cross_attn_norm = cross_attn_map, cross_attn_norm
        self.cross_attn_scope, self.image_attention_size = cross_attn_scope, tuple(image_attention_size)
        self._prompts = None
        self._image_weights: Optional[Tensor] = None  # 'image' scope: the whole image's class weights
        self.freeze()

    def on_vocabulary_change(self) -> None:
        self._prompts = None

    def prompts(self):
        """Packed prompts over all synonyms, each entry's class id, and the token columns any entry uses
        (cached until the vocabulary changes)."""
        if self._prompts is None:
            if self.class_names is None:
                self.num_classes  # raises the "no vocabulary" error
            names = [n for syn in self.class_names for n in syn]
            entry_class = torch.tensor([c for c, syn in enumerate(self.class_names) for _ in syn])
            packed = pack_prompts(self.backbone.tokenizer, names, self.prompt_joiner, self.prompt_prefix)
            key_index = torch.tensor(sorted({t for p in packed for toks in p.spans.values() for t in toks}))
            self._prompts = (packed, entry_class, key_index)
        return self._prompts

    def cross_attention_maps(self, recorded: dict, packed, key_index: Tensor, batch: int,
                             latent_hw: tuple[int, int], size: tuple[int, int]) -> Tensor:
        """Eq. 4: one map per synonym entry, averaged over heads, tokens of the name and layers, (B, E, h, w)."""
        column = {int(k): j for j, k in enumerate(key_index)}
        total = 0
        for maps in recorded.values():
            m = maps[0].float()  # (B*P, heads, Nq, K)
            m = m.exp() if self.cross_attn_map == 'exp' else m
            m = m.mean(1).view(batch, len(packed), m.shape[2], -1)
            h, w = spatial_shape(m.shape[2], latent_hw)
            entries = [m[:, p, :, [column[t] for t in toks]].mean(-1)
                       for p, prompt in enumerate(packed) for toks in prompt.spans.values()]
            entries = torch.stack(entries, 1).view(batch, -1, h, w)
            total = total + F.interpolate(entries, size, mode='bilinear', align_corners=False)
        return total / len(recorded)

    def features_and_entry_maps(self, images: Tensor) -> dict[str, Tensor]:
        """One batched UNet pass over every prompt: the internal features (Eq. 3) and each synonym entry's
        cross-attention map (Eq. 4, before merging and normalisation), both (B, ., h, w) on the finest feature
        grid."""
        b = images.shape[0]
        packed, _, key_index = self.prompts()
        latents = self.noisy_latents(images)
        text = self.backbone.encode_token_ids(torch.stack([p.input_ids for p in packed]))
        recorder = AttentionRecorder(self.cross_attn_layers, 'probs' if self.cross_attn_map == 'softmax' else 'scores',
                                     head_mean=False, key_index=key_index)
        unet = self.backbone.unet
        with FeatureRecorder(unet, self.feature_layers) as feats, attention_hooks(unet, [recorder]):
            # every prompt of the vocabulary in one batch: rows are (image, prompt), image-major
            self.backbone.unet_forward(latents.repeat_interleave(len(packed), 0), self.timestep,
                                       text.repeat(b, 1, 1))
        maps = [feats[n][0].view(b, len(packed), *feats[n][0].shape[1:]).mean(1) for n in self.feature_layers]
        grid = finest_grid(maps)
        entry_maps = self.cross_attention_maps(recorder[recorder.what[0]], packed, key_index, b,
                                               tuple(latents.shape[2:]), grid)
        return dict(features=internal_features(maps, grid), entry_maps=entry_maps)

    def features_and_weights(self, images: Tensor) -> tuple[Tensor, Tensor]:
        """The internal features and the normalised class weights (Eq. 4), (B, ., h, w). The UNet part is
        cached per image (``feature_cache``): the synonym merging and ``cross_attn_norm`` are not in its key."""
        packed, entry_class, _ = self.prompts()
        settings = dict(timestep=self.timestep, add_noise=self.add_noise, seed=self.seed,
                        prompts=[(p.input_ids, p.spans) for p in packed], feature_layers=self.feature_layers,
                        cross_attn_layers=self.cross_attn_layers, cross_attn_map=self.cross_attn_map)
        out = self.cached_per_image('features_and_maps', images, settings, self.features_and_entry_maps)
        weights = normalize_maps(merge_synonyms(out['entry_maps'], entry_class, self.num_classes), self.cross_attn_norm)
        return out['features'], weights

    def inference(self, inputs: Tensor, batch_img_metas: list[dict]) -> Tensor:
        if self.cross_attn_scope != 'image' or self.test_cfg.get('mode', 'whole') != 'slide':
            return super().inference(inputs, batch_img_metas)
        whole = F.interpolate(inputs, self.image_attention_size, mode='bilinear', align_corners=False)
        weights = self.features_and_weights(whole)[1]
        self._image_weights = F.interpolate(weights, inputs.shape[2:], mode='bilinear', align_corners=False)
        try:
            return super().inference(inputs, batch_img_metas)
        finally:
            self._image_weights = None

    def encode_decode(self, inputs: Tensor, batch_img_metas: list[dict]) -> Tensor:
        h, w = inputs.shape[2:]
        features, weights = self.features_and_weights(self.resize_input(inputs))
        if self._image_weights is not None:  # this crop's window of the whole image's weights
            y1, y2, x1, x2 = batch_img_metas[0].get('crop_box', (0, h, 0, w))
            window = self._image_weights[:, :, y1:y2, x1:x2]
            weights = F.interpolate(window, features.shape[2:], mode='bilinear', align_corners=False)
        logits = assign_classes(features, class_prototypes(features, weights))
        return F.interpolate(logits, (h, w), mode='bilinear', align_corners=False)
