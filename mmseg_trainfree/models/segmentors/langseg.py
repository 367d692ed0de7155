"""The language-based segmentation report (Le, EPFL, Sec. 3-4): GEM's CLIP cross-attention (Method 1), refined
by Stable Diffusion self-attention (Method 2, AggGEM), labelling DiffSeg or spectral clusters of the
self-attention (Method 3, DiffSegClust / SpecClust), and SD's own cross-attention for the image's ground-truth
classes (AggSD, weakly supervised)."""
from __future__ import annotations

from typing import Optional, Sequence

import torch
import torch.nn.functional as F
from mmengine.logging import print_log
from mmseg.utils import SampleList
from torch import Tensor

from ...registry import MODELS
from ..utils.attention_merging import anchor_grid, check_weighting, merge_attention, refine_proposals
from ..utils.class_groups import ClassGroups
from ..utils.clustering import kmeans
from ..utils.resize import check_resize_mode, resize
from ..utils.sd_attention import sd_attention
from .base import NON_CANDIDATE_SCORE, TrainingFreeSegmentor, attach_image_labels, require_whole_mode
from .diffusion_base import DiffusionFeatureSegmentor
from .emerdiff import mask_means
from .maskclip import TextClassifier
from .maskdiffusion import normalize_maps


def cluster_scores(clusters: Tensor, cross: Tensor) -> Tensor:
    """Eq. 3: every pixel takes its cluster's mean class scores; clusters (H, W) ids, cross (C, H, W) ->
    (C, H, W), whose argmax labels each cluster with the class of highest mean score."""
    ids = clusters.flatten()
    means = mask_means(cross.flatten(1).T, ids, int(ids.max()) + 1)  # (K, C)
    return means[ids].T.reshape(cross.shape)


SVD_SOLVERS = ('full', 'lowrank')
SVD_NORMALIZATIONS = ('normalized', 'dhillon', 'none')


def spectral_embedding(self_attention: Tensor, num_vectors: int, seed: int = 0, svd: str = 'full',
                       normalization: str = 'normalized') -> Tensor:
    """SpecClust's pixel embedding (N, ``num_vectors``): left singular vectors of one (N, N) self-attention SA.

    ``normalization='normalized'`` (the report's code, ``diffusion_seg.run_specclust_torch``, which made its
    numbers): the SVD of D1^-1/2 SA D2^-1/2 (D1, D2 the row and column sums), the first ``num_vectors`` (the
    trivial one included) scaled by D1^-1/2. ``'dhillon'``: Dhillon's bipartite spectral co-clustering, which the
    report cites: the same SVD, the trivial first vector skipped, the next ``num_vectors`` scaled by D1^-1/2 (the
    pixels are the rows: queries; Dhillon uses ceil(log2 k) of them). ``'none'``: the first vectors of SA itself
    (the report's text). ``svd='lowrank'`` computes only the leading vectors (randomised, seeded)."""
    if normalization not in SVD_NORMALIZATIONS:
        raise ValueError(f'normalization must be one of {SVD_NORMALIZATIONS}, got {normalization!r}')
    a = self_attention.float()
    scaled, skip = normalization != 'none', int(normalization == 'dhillon')
    if scaled:
        row, col = a.sum(1).clamp_min(1e-12).rsqrt(), a.sum(0).clamp_min(1e-12).rsqrt()
        a = a * row[:, None] * col[None]
    wanted = num_vectors + skip
    if svd == 'lowrank':
        with torch.random.fork_rng(devices=[a.device] if a.is_cuda else []):  # seeded, global RNG left alone
            torch.manual_seed(seed)
            u = torch.svd_lowrank(a, q=min(wanted + 10, min(a.shape)), niter=6)[0][:, skip:wanted]
    elif svd == 'full':
        u = torch.linalg.svd(a)[0][:, skip:wanted]
    else:
        raise ValueError(f'svd must be one of {SVD_SOLVERS}, got {svd!r}')
    return u * row[:, None] if scaled else u


def spectral_clusters(self_attention: Tensor, num_vectors: int, num_clusters: int, seed: int = 0,
                      iters: int = 50, svd: str = 'full', normalization: str = 'normalized') -> Tensor:
    """SpecClust: k-means (seeded) into ``num_clusters`` on :func:`spectral_embedding`; cluster ids (N,)."""
    return kmeans(spectral_embedding(self_attention, num_vectors, seed, svd, normalization), num_clusters, iters,
                  seed)[0]


class CLIPCrossAttention(TextClassifier):
    """GEM's patch-text cross-attention CA_CLIP = softmax(z y^T / s) (report Sec. 3.3) and the VOC background
    BG = max(1 - max_c CA - offset, 0). Mixed into the report's segmentors."""

    def _init_clip(self, clip: dict, templates: Sequence[str], temperature: float, background_index: Optional[int],
                   background_offset: float, class_groups: Optional[ClassGroups], background_clamp: bool = True,
                   softmax_after_upsampling: bool = True) -> None:
        if temperature <= 0:
            raise ValueError(f'temperature must be positive, got {temperature}')
        self.clip = MODELS.build(clip)
        self.templates, self.temperature = list(templates), float(temperature)
        self.background_index, self.background_offset = background_index, float(background_offset)
        self.background_clamp, self.softmax_after_upsampling = bool(background_clamp), bool(softmax_after_upsampling)
        self.set_class_groups(class_groups)

    def embedded_classes(self) -> list[int]:
        """The prompted classes: all but the background, whose score is computed from the others."""
        return [c for c in range(self.num_classes) if c != self.background_index]

    def clip_cross_attention(self, inputs: Tensor, size: Optional[tuple[int, int]] = None) -> Tensor:
        """(B, C, h, w) CA_CLIP, the background channel (if any) included: at GEM's patch grid, or at ``size``
        (bilinear). ``softmax_after_upsampling`` (the report's code: GEM's logits are upsampled, then the softmax
        and the background are computed per pixel) or the softmax at the grid, its probabilities upsampled."""
        z = self.clip.dense_features(inputs)  # (B, E, h, w), normalised
        y = self._text().to(z)  # (C', E) normalised EOS embeddings of the prompted classes
        logits = torch.einsum('behw,ce->bchw', z, y) / self.temperature
        late = size is not None and self.softmax_after_upsampling
        if late:
            logits = F.interpolate(logits, size, mode='bilinear', align_corners=False)
        ca = logits.softmax(1)
        if self.background_index is not None:
            background = 1 - ca.max(1, keepdim=True)[0] - self.background_offset
            if self.background_clamp:  # the report's code (exp_utils.get_voc2012_probs) floors it at 0
                background = background.clamp_min(0)
            ca = torch.cat([ca[:, :self.background_index], background, ca[:, self.background_index:]], 1)
        if size is not None and not late:
            ca = F.interpolate(ca, size, mode='bilinear', align_corners=False)
        return ca


_CLIP_DOC = '''
        clip: a ``GEMBackbone`` config (report: MetaCLIP-400m ViT-B/16 at 448 x 448).
        templates: CLIP prompt templates (report / GEM: "a photo of a {}.").
        temperature: s of CA_CLIP = softmax(z y^T / s) (report: 0.01; 0.1 for VOC).
        background_index / background_offset: the class scored BG = 1 - max_c CA - offset instead of prompted
            (report, VOC: offset 0.8); None: every class is prompted.
        background_clamp: BG floored at 0, as the report's code does (its VOC numbers); False: the report's text,
            where negative BG values enter AggGEM's product and the cluster means.
        softmax_after_upsampling: the report's code upsamples GEM's logits (to SD's 64 x 64 for AggGEM, to the
            scored size for GEM and the cluster labels) and takes the softmax and BG there (True); False: the
            softmax at GEM's patch grid, its probabilities upsampled.
        class_groups: predict over the vocabulary (fine classes), score over coarse ones: a coarse id per fine
            class, or 'package.module:TABLE' (COCO-Stuff: 171 names -> 27 classes).'''


@MODELS.register_module()
class GEM(CLIPCrossAttention, TrainingFreeSegmentor):
    __doc__ = '''Method 1 (GEM): per-pixel argmax of CA_CLIP, upsampled bilinearly to the input size.

    Args:''' + _CLIP_DOC

    def __init__(self, clip: dict, data_preprocessor: Optional[dict] = None, class_names=None,
                 templates: Sequence[str] = ('a photo of a {}.',), temperature: float = 0.01,
                 background_index: Optional[int] = None, background_offset: float = 0.8,
                 class_groups: Optional[ClassGroups] = None, background_clamp: bool = True,
                 softmax_after_upsampling: bool = True, test_cfg: Optional[dict] = None, init_cfg=None):
        super().__init__(data_preprocessor, class_names, test_cfg, init_cfg)
        self._init_clip(clip, templates, temperature, background_index, background_offset, class_groups,
                        background_clamp, softmax_after_upsampling)
        self.freeze()

    def encode_decode(self, inputs: Tensor, batch_img_metas: list[dict]) -> Tensor:
        return self.clip_cross_attention(inputs, tuple(inputs.shape[2:]))


class _SDSelfAttentionSegmentor(CLIPCrossAttention, DiffusionFeatureSegmentor):
    """CA_CLIP together with SD's aggregated self-attention SA (DiffSeg's weighting) of one noised pass."""

    def __init__(self, backbone: dict, clip: dict, data_preprocessor: Optional[dict] = None, class_names=None,
                 templates: Sequence[str] = ('a photo of a {}.',), temperature: float = 0.01,
                 background_index: Optional[int] = None, background_offset: float = 0.8,
                 class_groups: Optional[ClassGroups] = None, image_size: Optional[Sequence[int]] = (512, 512),
                 timestep: int = 100, add_noise: bool = True, seed: int = 0, prompt: str = '',
                 self_attn_layers: str | Sequence[str] = '*attn1', background_clamp: bool = True,
                 self_attn_weighting: str = 'per_layer', input_resize: str = 'bicubic',
                 softmax_after_upsampling: bool = True, test_cfg: Optional[dict] = None, init_cfg=None):
        super().__init__(backbone, data_preprocessor, class_names, image_size, timestep, add_noise, seed, (),
                         test_cfg, init_cfg)
        self.set_input_resize(input_resize)
        self._init_clip(clip, templates, temperature, background_index, background_offset, class_groups,
                        background_clamp, softmax_after_upsampling)
        self.prompt, self.self_attn_layers = prompt, self_attn_layers
        self.self_attn_weighting = check_weighting(self_attn_weighting, f'{type(self).__name__}.self_attn_weighting')
        self.freeze()


_SD_DOC = '''
        backbone: the ``StableDiffusionBackbone`` (report: SD v1.5) whose self-attention SA is used.
        image_size / timestep / add_noise / seed: SD's input (512 x 512) and noise level (t = 100).
        prompt: SD's text condition for SA (our choice: the empty prompt; the report does not say).
        self_attn_layers: the layers aggregated into SA (all 16).
        self_attn_weighting: 'per_layer' (the report's code: each layer weighs its side, 8 x 8 gets 8 / 568) or
            'per_resolution' (DiffSeg's: layers averaged per resolution, 64:32:16:8 / 120).
        input_resize: how the image reaches 512 x 512: 'bicubic' (antialiased, the report's code: torchvision's
            Resize(BICUBIC) on PIL images) or 'bilinear' (no antialiasing).'''


@MODELS.register_module()
class AggGEM(_SDSelfAttentionSegmentor):
    __doc__ = '''Method 2 (AggGEM): AGG = SA^T x CA_CLIP, with CA_CLIP resized bilinearly to SD's latent grid;
    argmax after upsampling to the input size. SA^T is a view: the product keeps SA once.

    Args:''' + _CLIP_DOC + _SD_DOC

    def encode_decode(self, inputs: Tensor, batch_img_metas: list[dict]) -> Tensor:
        sa, hw = self.self_attention(inputs, self.prompt, self.self_attn_layers, self.self_attn_weighting)
        ca = self.clip_cross_attention(inputs, hw)
        agg = torch.matmul(sa.transpose(1, 2), ca.flatten(2).transpose(1, 2).float())  # (B, N, C)
        agg = agg.transpose(1, 2).reshape(ca.shape)
        return F.interpolate(agg, inputs.shape[2:], mode='bilinear', align_corners=False)


@MODELS.register_module()
class DiffSegClust(_SDSelfAttentionSegmentor):
    __doc__ = '''Method 3a (DiffSegClust): DiffSeg's KL merging of SA (anchor grid, ``kl_threshold`` per
    iteration: report 0.8 x 3, t = 100), refined by k-means on SA's rows started from the merged proposals, gives
    clusters at the input size (proposals upsampled bicubically with antialiasing, argmax), as the report's code
    calls DiffSeg (``refine=True``); each cluster takes the class of its highest mean CA_CLIP score (CA upsampled
    to the input size).

    Args:''' + _CLIP_DOC + _SD_DOC + '''
        num_points: anchors per side (DiffSeg: 16). kl_threshold: one per merging iteration.
        refine: DiffSeg's k-means refinement of the proposals (the report's code: True).
        upsample_mode: how the proposals reach the input size before the argmax: 'bicubic' (antialiased, the
            report's code) or 'bilinear'.'''

    def __init__(self, *args, num_points: int = 16, kl_threshold: Sequence[float] = (0.8, 0.8, 0.8),
                 refine: bool = True, upsample_mode: str = 'bicubic', **kwargs):
        require_whole_mode(kwargs.get('test_cfg'), f'{type(self).__name__} clusters each input on its own')
        check_resize_mode(upsample_mode, f'{type(self).__name__}.upsample_mode')
        super().__init__(*args, **kwargs)
        self.num_points, self.kl_threshold = int(num_points), [float(t) for t in kl_threshold]
        self.refine, self.upsample_mode = bool(refine), upsample_mode

    def clusters(self, sa: Tensor, hw: tuple[int, int], size: tuple[int, int]) -> Tensor:
        """Cluster ids (H, W) at ``size`` from one image's SA (N, N)."""
        proposals = merge_attention(sa, anchor_grid(self.num_points, hw).to(sa.device), self.kl_threshold)
        if self.refine:
            proposals = refine_proposals(sa, proposals)
        return resize(proposals.view(1, -1, *hw).float(), size, self.upsample_mode)[0].argmax(0)

    def encode_decode(self, inputs: Tensor, batch_img_metas: list[dict]) -> Tensor:
        size = tuple(inputs.shape[2:])
        sa, hw = self.self_attention(inputs, self.prompt, self.self_attn_layers, self.self_attn_weighting)
        ca = self.clip_cross_attention(inputs, size)
        return torch.stack([cluster_scores(self.clusters(sa[b], hw, size), ca[b].float())
                            for b in range(inputs.shape[0])])


@MODELS.register_module()
class SpecClust(DiffSegClust):
    __doc__ = '''Method 3b (SpecClust): the first ``num_vectors`` left singular vectors of SA (report: 20),
    k-means into ``num_clusters`` (20) at SD's latent grid, nearest-upsampled; clusters labelled as DiffSegClust.

    Args:''' + _CLIP_DOC + _SD_DOC + '''
        num_vectors / num_clusters / kmeans_iters: the SVD and k-means settings.
        svd: 'full' (exact, the report's) or 'lowrank' (randomised, only the leading vectors; faster on CPU).
        normalization: 'normalized' (default: the report's code, D1^-1/2 SA D2^-1/2, its first vectors scaled by
            D1^-1/2), 'dhillon' (the bipartite co-clustering the report cites: the trivial vector skipped) or
            'none' (the report's text, "the first few left singular vectors" of SA).'''

    def __init__(self, *args, num_vectors: int = 20, num_clusters: int = 20, kmeans_iters: int = 50,
                 svd: str = 'full', normalization: str = 'normalized', **kwargs):
        if svd not in SVD_SOLVERS:
            raise ValueError(f'SpecClust.svd must be one of {SVD_SOLVERS}, got {svd!r}')
        if normalization not in SVD_NORMALIZATIONS:
            raise ValueError(f'SpecClust.normalization must be one of {SVD_NORMALIZATIONS}, got {normalization!r}')
        super().__init__(*args, **kwargs)
        self.num_vectors, self.num_clusters, self.kmeans_iters = int(num_vectors), int(num_clusters), int(kmeans_iters)
        self.svd, self.normalization = svd, normalization

    def clusters(self, sa: Tensor, hw: tuple[int, int], size: tuple[int, int]) -> Tensor:
        ids = spectral_clusters(sa, self.num_vectors, self.num_clusters, self.seed, self.kmeans_iters, self.svd,
                                self.normalization)
        return F.interpolate(ids.view(1, 1, *hw).float(), size, mode='nearest')[0, 0].long()


AGGSD_NORMALIZATIONS = ('spatial_sum', 'minmax')


def random_walk_aggregation(self_attention: Tensor, cross: Tensor) -> Tensor:
    """The report's AGG = SA^T x CA as its code computes it (``get_agg_map``, one step of a random walk): SA^T
    (key pixel k -> query pixel q) row-normalised into a transition matrix, so that pixel k averages the class
    scores of the pixels attending to it. self_attention (N, N), cross (C, N) -> (C, N)."""
    transition = self_attention.T / self_attention.sum(0)[:, None].clamp_min(1e-12)
    return (transition @ cross.T).T


def code_minmax(maps: Tensor, eps: float = 1e-10) -> Tensor:
    """The report's per-map min-max over space (``normalize_ca``) of (C, N): (x - |min|) / (max - min + eps),
    exactly as written there (the same as (x - min) / (max - min) for non-negative maps; a negative minimum,
    which bicubic upsampling can produce, shifts the map by 2|min| more)."""
    lo, hi = maps.amin(-1, keepdim=True), maps.amax(-1, keepdim=True)
    return (maps - lo.abs()) / (hi - lo + eps)


@MODELS.register_module()
class AggSD(DiffusionFeatureSegmentor):
    """AggSD (weakly supervised): SD's cross-attention for the image's ground-truth class names, refined by SD's
    self-attention (Method 2), with the [SOS] token's map as background.

    Defaults follow the report's code (``methods/diffusion.py``, ``diffusion_seg.get_agg_map``,
    ``text_embeddings.get_txt_embeddings``), which made its Table 4: one prompt "A photo of c1, c2, and cN",
    unpadded (cross-attention spreads over the prompt's own tokens); a multi-token name averages its tokens, a
    class its synonyms' first listed name only. Cross-attention: heads averaged, each layer upsampled bicubically
    to the latent grid and weighted by 1 / side (per layer); each class map (and [SOS]'s) divided by its spatial
    sum; AGG = SA^T x CA with SA^T row-normalised (one random-walk step); min-max per class after the product;
    AGG upsampled bicubically to the input size. A prompt that exceeds the text encoder's 77 tokens is split into
    several, each its own UNet pass (the code has one prompt).

    Arguments besides :class:`DiffusionFeatureSegmentor`'s; report: SD v1.5, 512 x 512, t = 100 in the text, 101
    in the code's AggSD runs (``training_step``'s default).

    Args:
        background_index: the class scored by the [SOS] map (None: no background class).
        self_attn_weighting: as AggGEM's ('per_layer': the report's code).
        cross_attn_weighting: 'per_layer' (the code: each cross-attention layer weighs 1 / its side) or
            'per_resolution' (each resolution's layers averaged, then 1 / side).
        upsample_mode: 'bicubic' (antialiased, the code's ``upscale_attn``) or 'bilinear', for the layers' cross
            maps and for AGG.
        normalization: 'spatial_sum' (the code: CA / its spatial sum before the random walk, min-max after) or
            'minmax' (each CA map min-max normalised before the product, raw SA^T x CA).
        prompt_prefix / separator / last_separator: the prompt is ``prefix c1<sep>c2<sep>...<last>cN``.
        pad_prompts: pad each prompt to 77 tokens (padding tokens then take cross-attention mass) or not (the
            code).
        input_resize: as AggGEM's ('bicubic', antialiased: the report's code).
        class_groups: as in GEM. The image labels are then the fine classes present, when the dataset
            records them (``fine_image_labels``: COCO-Stuff-27 read from its 171 ids, as the report does);
            otherwise every fine class of a present coarse class is prompted, with a warning.
    """

    def __init__(self, backbone: dict, data_preprocessor: Optional[dict] = None, class_names=None,
                 background_index: Optional[int] = None, class_groups: Optional[ClassGroups] = None,
                 prompt_prefix: str = 'A photo of', separator: str = ', ', last_separator: str = ', and ',
                 pad_prompts: bool = False, image_size: Optional[Sequence[int]] = (512, 512),
                 timestep: int = 101, add_noise: bool = True, seed: int = 0,
                 self_attn_layers: str | Sequence[str] = '*attn1', cross_attn_layers: str | Sequence[str] = '*attn2',
                 self_attn_weighting: str = 'per_layer', cross_attn_weighting: str = 'per_layer',
                 upsample_mode: str = 'bicubic', normalization: str = 'spatial_sum', input_resize: str = 'bicubic',
                 test_cfg: Optional[dict] = None, init_cfg=None):
        name = type(self).__name__
        if normalization not in AGGSD_NORMALIZATIONS:
            raise ValueError(f'{name}.normalization must be one of {AGGSD_NORMALIZATIONS}, got {normalization!r}')
        check_resize_mode(upsample_mode, f'{name}.upsample_mode')
        super().__init__(backbone, data_preprocessor, class_names, image_size, timestep, add_noise, seed, (),
                         test_cfg, init_cfg)
        self.set_input_resize(input_resize)
        self.background_index, self.pad_prompts = background_index, bool(pad_prompts)
        self.prompt_prefix, self.separator, self.last_separator = prompt_prefix, separator, last_separator
        self.set_class_groups(class_groups)
        self._warned_coarse = False
        self.self_attn_layers, self.cross_attn_layers = self_attn_layers, cross_attn_layers
        self.self_attn_weighting = check_weighting(self_attn_weighting, f'{name}.self_attn_weighting')
        self.cross_attn_weighting = check_weighting(cross_attn_weighting, f'{name}.cross_attn_weighting')
        self.upsample_mode, self.normalization = upsample_mode, normalization
        self.freeze()

    def _metas(self, inputs: Tensor, data_samples: SampleList = None) -> list[dict]:
        metas = attach_image_labels(super()._metas(inputs, data_samples), data_samples, self.num_output_classes,
                                    type(self).__name__)
        if self.class_groups is None:
            return metas
        for meta, sample in zip(metas, data_samples):
            fine = sample.metainfo.get('fine_image_labels')
            if fine is not None:
                meta['fine_image_labels'] = [c for c in fine if 0 <= c < self.num_classes]
            elif not self._warned_coarse:
                self._warned_coarse = True
                print_log('AggSD: the samples carry no fine_image_labels, so every fine class of each present coarse '
                          "class is prompted; read the fine label maps (COCO-Stuff-27: label_source='mmseg171' or "
                          "'stuffthingmaps', and 'fine_image_labels' in PackSegInputs' meta_keys) to prompt only "
                          'the fine classes present, as the report does', logger='current', level=30)
        return metas

    def candidates(self, labels: Sequence[int], fine_labels: Optional[Sequence[int]] = None) -> list[int]:
        """The classes to prompt, the background excepted: the fine classes present when given, else those
        labelled (or whose coarse group is)."""
        if fine_labels is not None:
            present = set(fine_labels)
            return [c for c in range(self.num_classes) if c in present and c != self.background_index]
        labels, groups = set(labels), self.class_groups or range(self.num_classes)
        return [c for c in range(self.num_classes) if groups[c] in labels and c != self.background_index]

    def prompts(self, candidates: Sequence[int]) -> tuple[list[str], list[list[tuple[int, list[int]]]]]:
        """Prompt texts and, per prompt, (class, token positions) of its classes; a new prompt starts when the
        next name would not fit in the tokenizer's context."""
        tok = self.backbone.tokenizer

        def fits(classes: list[int]) -> bool:
            return len(tok(self._join(classes)[0]).input_ids) <= tok.model_max_length

        rows: list[list[int]] = []
        for c in candidates:
            if rows and fits(rows[-1] + [c]):
                rows[-1].append(c)
            elif fits([c]):
                rows.append([c])
            else:
                raise ValueError(f'class name {self.class_names[c][0]!r} does not fit in {tok.model_max_length} '
                                 'tokens')
        joined = [self._join(row, positions=True) for row in rows]
        return [text for text, _ in joined], [entries for _, entries in joined]

    def _join(self, classes: list[int], positions: bool = False) -> tuple[str, list[tuple[int, list[int]]]]:
        """The prompt and, with ``positions``, each class's token positions in it: the tokens of the text before
        its name, after BOS (CLIP's tokenizer splits at spaces and punctuation, so a prefix tokenises as in the
        whole)."""
        tok = self.backbone.tokenizer
        text, entries = self.prompt_prefix, []
        for i, c in enumerate(classes):
            if i:
                text += self.last_separator if i == len(classes) - 1 else self.separator
            elif text:
                text += ' '
            name = self.class_names[c][0]
            if positions:
                first = len(tok(text, add_special_tokens=False).input_ids) + 1
                entries.append((c, list(range(first, first + len(tok(name, add_special_tokens=False).input_ids)))))
            text += name
        return text, entries

    def _attend(self, latent: Tensor, texts: list[str], spans: list[list[tuple[int, list[int]]]]
                ) -> tuple[Tensor, list[tuple[int, Tensor]], Tensor]:
        """SA (N, N) averaged over the prompts, each class's cross map (h, w) and [SOS]'s (averaged over prompts).
        Padded prompts share one batched pass; unpadded ones (different lengths) take one pass each."""
        batches = [list(range(len(texts)))] if self.pad_prompts else [[i] for i in range(len(texts))]
        sas, maps, sos = [], [], []
        for rows in batches:
            text = self.backbone.encode_prompts([texts[i] for i in rows], pad=self.pad_prompts)
            positions = sorted({0} | {t for i in rows for _, s in spans[i] for t in s})
            column = {p: j for j, p in enumerate(positions)}
            sa, ca = sd_attention(self.backbone, latent.expand(len(rows), -1, -1, -1), self.timestep, text,
                                  self.self_attn_layers, self.cross_attn_layers, torch.tensor(positions),
                                  self_weighting=self.self_attn_weighting, cross_weighting=self.cross_attn_weighting,
                                  cross_upsample=self.upsample_mode)
            sas.append(sa)
            sos.append(ca[:, column[0]])
            maps += [(c, ca[r, [column[t] for t in s]].mean(0)) for r, i in enumerate(rows) for c, s in spans[i]]
        return torch.cat(sas).mean(0), maps, torch.cat(sos).mean(0)

    def encode_decode(self, inputs: Tensor, batch_img_metas: list[dict]) -> Tensor:
        h, w = inputs.shape[2:]
        latents = self.noisy_latents(self.resize_input(inputs))
        hw = tuple(latents.shape[2:])
        out = []
        for b, meta in enumerate(batch_img_metas):
            scores = latents.new_full((self.num_classes, h, w), NON_CANDIDATE_SCORE, dtype=torch.float)
            candidates = self.candidates(meta['image_labels'], meta.get('fine_image_labels'))
            if not candidates:
                if self.background_index is not None:
                    scores[self.background_index] = 1
                out.append(scores)
                continue
            texts, spans = self.prompts(candidates)
            sa, maps, sos = self._attend(latents[b:b + 1], texts, spans)
            if self.background_index is not None:
                maps.append((self.background_index, sos))
            classes = [c for c, _ in maps]
            cross = torch.stack([m for _, m in maps]).flatten(1)  # (C, N)
            if self.normalization == 'spatial_sum':
                agg = code_minmax(random_walk_aggregation(sa, cross / (cross.sum(1, keepdim=True) + 1e-10)))
            else:
                agg = (sa.T @ normalize_maps(cross[None], 'minmax', eps=1e-12)[0].T).T
            scores[classes] = resize(agg.view(1, len(classes), *hw), (h, w), self.upsample_mode)[0]
            out.append(scores)
        return torch.stack(out)
