"""EmerDiff (Namekata et al., ICLR 2024, Sec. 3, App. A-D): low-resolution masks from k-means on 16x16 query features,
made image-resolution by modulated denoising: each mask's region of a 16x16 cross-attention output is
pushed by +lambda and -lambda at one timestep, the image is denoised with the inversion's noise maps and
the reference run's attention maps, and each pixel takes the mask whose modulation changed it most."""
from __future__ import annotations

import math
from typing import Optional, Sequence

import torch
import torch.nn.functional as F
from torch import Tensor
from torchvision.transforms import functional as TF

from ...registry import MODELS
from ..attention import AttentionRecorder, OutputModulator, ReferenceAttention, attention_hooks, spatial_shape
from ..backbones.hub import resolve_dtype
from ..utils.clustering import kmeans
from ..utils.ddpm_inversion import DDPMSchedule, Inversion, denoise_step, invert, sample_latents
from .base import TrainingFreeSegmentor, require_whole_mode

MODES = ('emerdiff', 'naive_upsample')
FIRST_16_CROSS_ATTN = 'up_blocks.1.attentions.0.transformer_blocks.0.attn2'
THIRD_16_CROSS_ATTN = 'up_blocks.1.attentions.2.transformer_blocks.0.attn2'


def input_size(h: int, w: int, pixels: int = 512 * 512, multiple: int = 64) -> tuple[int, int]:
    """App. A: about ``pixels`` pixels at the original aspect ratio, each side rounded up to ``multiple``."""
    scale = math.sqrt(pixels / (h * w))
    return (max(multiple, math.ceil(h * scale / multiple) * multiple),
            max(multiple, math.ceil(w * scale / multiple) * multiple))


def mask_means(features: Tensor, labels: Tensor, k: int) -> Tensor:
    """Mean feature (k, D) of each mask; features (N, D), labels (N,) in 0..k-1; empty masks give zeros."""
    sums = features.new_zeros(k, features.shape[1]).index_add_(0, labels, features)
    return sums / torch.bincount(labels, minlength=k).clamp_min(1).unsqueeze(1).to(sums)


def difference_maps(minus: Tensor, plus: Tensor) -> Tensor:
    """d = ||I- - I+||_2 over RGB: (K, 3, H, W) x 2 -> (K, H, W)."""
    return (minus.float() - plus.float()).pow(2).sum(1).sqrt()


def gaussian_blur(maps: Tensor, sigma: float) -> Tensor:
    """Gaussian filter of (K, H, W) maps (torchvision's, reflect padding, radius ceil(3 sigma));
    sigma <= 0 returns the maps."""
    if sigma <= 0:
        return maps
    size = 2 * max(1, math.ceil(3 * sigma)) + 1
    return TF.gaussian_blur(maps, [size, size], [sigma, sigma])


@MODELS.register_module()
class EmerDiff(TrainingFreeSegmentor):
    """EmerDiff on a frozen Stable Diffusion; predictions are mask ids (0..K-1) and each data sample
    carries ``mask_embeddings`` (K, D) for the mask-embedding metrics.

    Args:
        backbone: ``StableDiffusionBackbone`` config (paper: SD v1.4, empty prompt, DDPM 50 steps).
        num_masks: K of the k-means (paper: 30).
        pixels: the input is resized to about this many pixels, sides rounded up to 64 (App. A).
        num_inference_steps: the DDPM grid (timesteps out of T=1000: 981, 961, ..., 1 for 50).
        feature_layer / feature_timestep: queries clustered into the low-resolution masks (paper: first
            cross-attention of the 16x16 up block, t_f=1).
        embedding_layer / embedding_timestep: queries averaged into mask embeddings (App. B: the same
            layer at t=200; 201 is the grid step, recorded during the inversion at no extra UNet call).
        modulated_layer / modulation_timestep / modulation_strength / modulation_position: c*M added to
            this layer's output (``'after_proj'``) or its input of ``to_out`` (``'before_proj'``) at t_m
            only, c in {+lambda, -lambda} (paper: third cross-attention of the 16x16 up block, 281, 10).
        attention_injection / injection_layers: every targeted attention layer of every branch uses the
            unmodulated (reference) run's attention maps of the same step.
        gaussian_sigma: of the filter applied to the difference maps, in pixels (not given by the paper).
        mode: ``'emerdiff'`` or ``'naive_upsample'`` (Table 2's SD row: low-resolution masks upsampled
            bilinearly, no modulated denoising).
        max_batch: UNet rows per call (the reference row included); branches are chunked to fit.
            ``max_batch=2`` is the naive one-branch-at-a-time loop.
        zero_last_noise: zero the noise map of the last step, as the official inversion code does.
        vae_dtype: the VAE (encoding the image, decoding the 2K branches) runs in this dtype whatever the
            backbone's; fp32 (default) keeps the small differences ``|I- - I+|`` clear of fp16 rounding.
    """

    def __init__(self, backbone: dict, data_preprocessor: Optional[dict] = None, num_masks: int = 30,
                 pixels: int = 512 * 512, num_inference_steps: int = 50, prompt: str = '',
                 feature_layer: str = FIRST_16_CROSS_ATTN, feature_timestep: int = 1,
                 embedding_layer: str = FIRST_16_CROSS_ATTN, embedding_timestep: int = 201,
                 modulated_layer: str = THIRD_16_CROSS_ATTN, modulation_timestep: int = 281,
                 modulation_strength: float = 10.0, modulation_position: str = 'after_proj',
                 attention_injection: bool = True, injection_layers: Sequence[str] = ('*',),
                 gaussian_sigma: float = 4.0, mode: str = 'emerdiff', max_batch: int = 16,
                 kmeans_iters: int = 100, seed: int = 0, zero_last_noise: bool = False,
                 vae_dtype: str = 'float32', test_cfg: Optional[dict] = None, init_cfg=None):
        if mode not in MODES:
            raise ValueError(f'mode must be one of {MODES}, got {mode!r}')
        if num_masks < 1:
            raise ValueError(f'num_masks must be >= 1, got {num_masks}')
        if max_batch < 2:
            raise ValueError(f'max_batch must be >= 2 (the reference row and one branch), got {max_batch}')
        if modulation_position not in ('after_proj', 'before_proj'):
            raise ValueError(f"modulation_position must be 'after_proj' or 'before_proj', got {modulation_position!r}")
        require_whole_mode(test_cfg, "EmerDiff's masks are per input")
        vae_dtype = resolve_dtype(vae_dtype)  # a bad name fails before the weights load
        super().__init__(data_preprocessor, None, test_cfg, init_cfg)
        self.backbone = MODELS.build(backbone)
        self.backbone.after_load(lambda backbone: backbone.vae is not None and backbone.vae.to(vae_dtype))
        self.num_masks, self.pixels, self.num_inference_steps = int(num_masks), int(pixels), num_inference_steps
        self.prompt = prompt
        self.feature_layer, self.feature_timestep = feature_layer, int(feature_timestep)
        self.embedding_layer, self.embedding_timestep = embedding_layer, int(embedding_timestep)
        self.modulated_layer, self.modulation_timestep = modulated_layer, int(modulation_timestep)
        self.modulation_strength, self.modulation_position = float(modulation_strength), modulation_position
        self.attention_injection, self.injection_layers = attention_injection, list(injection_layers)
        self.gaussian_sigma, self.mode, self.max_batch = float(gaussian_sigma), mode, int(max_batch)
        self.kmeans_iters, self.seed, self.zero_last_noise = kmeans_iters, seed, zero_last_noise
        self.branch_steps = 0  # modulated branch x denoising step count, for tools/benchmark.py
        self._schedule: Optional[DDPMSchedule] = None
        self._embeddings: list[Tensor] = []
        self.freeze()

    @property
    def num_classes(self) -> int:
        return self.num_masks

    def set_vocabulary(self, classes) -> None:
        """Masks need no vocabulary; the dataset's classes are only used by the metric."""

    @property
    def schedule(self) -> DDPMSchedule:
        if self._schedule is None:
            self._schedule = DDPMSchedule.from_scheduler(self.backbone.scheduler, self.num_inference_steps)
            self._schedule.steps_from(self.modulation_timestep)  # raises if t_m is off the grid
        return self._schedule

    # Sec. 3.2 -------------------------------------------------------------------------------------
    def invert_and_record(self, x0: Tensor, text: Tensor, generator: torch.Generator):
        """Edit-friendly inversion from t_m, recording the feature and embedding queries on the way.

        Returns the inversion (None in ``naive_upsample`` mode, which needs none) and the recorded queries
        keyed by (timestep, layer). The x_t of the inversion's steps are drawn first in both modes, so that
        both record the same queries and make the same low-resolution masks (Table 2 pairs them); a
        timestep off those steps costs one UNet call on an independent x_t, drawn after them.
        """
        wanted: dict[int, list[str]] = {}
        for t, layer in ((self.feature_timestep, self.feature_layer),
                         (self.embedding_timestep, self.embedding_layer)):
            wanted.setdefault(t, [])
            if layer not in wanted[t]:
                wanted[t].append(layer)
        queries: dict[tuple[int, str], Tensor] = {}

        def eps_fn(x: Tensor, t: int) -> Tensor:
            if t not in wanted:
                return self.backbone.unet_forward(x, t, text)
            recorder = AttentionRecorder(wanted[t], what='queries')
            with attention_hooks(self.backbone.unet, [recorder]):
                eps = self.backbone.unet_forward(x, t, text)
            for layer in wanted[t]:
                queries[t, layer] = recorder['queries'][layer][0][0].float()
            return eps

        latents = sample_latents(x0, self.schedule, self.schedule.steps_from(self.modulation_timestep), generator)
        inversion = None
        if self.mode == 'emerdiff':
            inversion = invert(eps_fn, x0, self.schedule, self.modulation_timestep,
                               zero_last_noise=self.zero_last_noise, latents=latents)
        for t in wanted:
            if all((t, layer) in queries for layer in wanted[t]):
                continue
            if t not in latents:
                latents[t] = self.schedule.noise_to(x0, t, torch.randn(x0.shape, generator=generator).to(x0))
            eps_fn(latents[t], t)
        return inversion, queries

    def low_resolution_masks(self, queries: Tensor, latent_hw: tuple[int, int]) -> Tensor:
        """k-means (seeded, k-means++) on the (N, D) query features -> mask ids (h, w), empty clusters dropped."""
        h, w = spatial_shape(queries.shape[0], latent_hw)
        labels = kmeans(queries, min(self.num_masks, queries.shape[0]), self.kmeans_iters, self.seed)[0]
        return labels.unique(return_inverse=True)[1].view(h, w)  # ids 0..k-1 of the non-empty masks

    # Sec. 3.3 -------------------------------------------------------------------------------------
    def modulated_denoising(self, inversion, text: Tensor, masks: Tensor) -> Tensor:
        """Final latents of the 2K branches (mask i with +lambda at row 2i, -lambda at row 2i+1),
        denoised from t_m in chunks of ``max_batch`` UNet rows (one of them the reference row when
        attention is injected)."""
        k = masks.shape[0]
        flat = masks.flatten(1).to(inversion.clean.dtype)  # (K, N)
        rows = flat.repeat_interleave(2, 0)
        signs = torch.tensor([1.0, -1.0]).repeat(k).to(rows) * self.modulation_strength
        steps = self.schedule.steps_from(self.modulation_timestep)
        with_ref = int(self.attention_injection)
        per_chunk = self.max_batch - with_ref
        finals = []
        for start in range(0, 2 * k, per_chunk):
            mask_rows, scale_rows = rows[start:start + per_chunk], signs[start:start + per_chunk]
            n = mask_rows.shape[0] + with_ref
            if with_ref:  # row 0: the unmodulated reference run
                mask_rows = torch.cat([torch.zeros_like(mask_rows[:1]), mask_rows])
                scale_rows = torch.cat([scale_rows.new_zeros(1), scale_rows])
            modulator = OutputModulator(self.modulated_layer, mask_rows, scale_rows, self.modulation_position)
            hooks = [modulator] + ([ReferenceAttention(self.injection_layers)] if with_ref else [])
            x = inversion.latents[self.modulation_timestep].expand(n, -1, -1, -1).clone()
            with attention_hooks(self.backbone.unet, hooks):
                for t in steps:
                    modulator.active = t == self.modulation_timestep
                    eps = self.backbone.unet_forward(x, t, text.expand(n, -1, -1))
                    x = denoise_step(self.schedule, x, eps, t, inversion.noise_maps[t])
            self.branch_steps += (n - with_ref) * len(steps)
            finals.append(x[with_ref:])
        return torch.cat(finals)

    def decode(self, latents: Tensor) -> Tensor:
        return torch.cat([self.backbone.decode_latents(latents[i:i + self.max_batch])
                          for i in range(0, latents.shape[0], self.max_batch)])

    def segment(self, image: Tensor) -> tuple[Tensor, Tensor]:
        """One image (1, 3, h, w) in [-1, 1] -> per-mask scores (K, h, w) and mask embeddings (K, D)."""
        h, w = image.shape[2:]
        size = input_size(h, w, self.pixels, 8 * self.backbone.latent_factor)
        x = image  # downsizing a large input (Cityscapes 1024 x 2048 to 384 x 768) is antialiased
        if size != (h, w):
            x = F.interpolate(image, size, mode='bilinear', align_corners=False, antialias=True)
        x0 = self.backbone.encode_images(x).float()  # the inversion's arithmetic in fp32, also under fp16
        text = self.backbone.encode_prompts([self.prompt])
        inversion, queries = self.cached_inversion(x0, text)
        labels = self.low_resolution_masks(queries[self.feature_timestep, self.feature_layer], tuple(x0.shape[2:]))
        k = int(labels.max()) + 1
        emb_q = queries[self.embedding_timestep, self.embedding_layer]
        emb_hw = spatial_shape(emb_q.shape[0], tuple(x0.shape[2:]))
        emb_labels = F.interpolate(labels[None, None].float(), emb_hw, mode='nearest')[0, 0].long()
        embeddings = mask_means(emb_q, emb_labels.flatten(), self.num_masks)
        masks = F.one_hot(labels, k).permute(2, 0, 1).float()  # (K, h16, w16)
        if self.mode == 'naive_upsample':
            scores = F.interpolate(masks[None], size, mode='bilinear', align_corners=False)[0]
        else:
            scores = gaussian_blur(self.cached_difference_maps(inversion, text, masks), self.gaussian_sigma)
        if k < self.num_masks:  # empty clusters or fewer positions than masks: pad to K channels
            scores = torch.cat([scores, scores.new_full((self.num_masks - k, *scores.shape[1:]), -1.0)])
        # App. A: back to the original size by nearest neighbour (argmax commutes with it)
        return F.interpolate(scores[None].float(), (h, w), mode='nearest')[0], embeddings

    # Feature cache --------------------------------------------------------------------------------
    def inversion_settings(self, x0: Tensor) -> dict:
        """What the inversion and the recorded queries depend on besides the weights."""
        return dict(x0=x0, prompt=self.prompt, seed=self.seed, num_inference_steps=self.num_inference_steps,
                    modulation_timestep=self.modulation_timestep, zero_last_noise=self.zero_last_noise,
                    inversion=self.mode == 'emerdiff', feature=(self.feature_layer, self.feature_timestep),
                    embedding=(self.embedding_layer, self.embedding_timestep))

    def cached_inversion(self, x0: Tensor, text: Tensor):
        """:meth:`invert_and_record` (seeded by ``seed``), through the feature cache when one is set: what K,
        lambda, sigma and the protocol do not change."""
        def compute() -> dict[str, Tensor]:
            inversion, queries = self.invert_and_record(x0, text, torch.Generator().manual_seed(self.seed))
            out = {f'queries|{t}|{layer}': q for (t, layer), q in queries.items()}
            if inversion is not None:
                out['clean'] = inversion.clean
                out.update({f'latents|{t}': v for t, v in inversion.latents.items()})
                out.update({f'noise_maps|{t}': v for t, v in inversion.noise_maps.items()})
            return out

        out = self.cached('inversion', self.inversion_settings(x0), compute)
        queries = {(int(k.split('|')[1]), k.split('|')[2]): v for k, v in out.items() if k.startswith('queries|')}
        if 'clean' not in out:
            return None, queries
        parts = {what: {int(k.split('|')[1]): v for k, v in out.items() if k.startswith(what + '|')}
                 for what in ('latents', 'noise_maps')}
        return Inversion(out['clean'], parts['latents'], parts['noise_maps']), queries

    def cached_difference_maps(self, inversion: Inversion, text: Tensor, masks: Tensor) -> Tensor:
        """d = ||I- - I+|| per mask (K, H, W) before the Gaussian filter, through the feature cache when one is
        set (keyed by the inversion's key, the masks and the modulation): what sigma and the protocol do not
        change."""
        def compute() -> dict[str, Tensor]:
            images = self.decode(self.modulated_denoising(inversion, text, masks))
            return dict(difference=difference_maps(images[1::2], images[0::2]))

        settings = dict(self.inversion_settings(inversion.clean), masks=masks, layer=self.modulated_layer,
                        strength=self.modulation_strength, position=self.modulation_position,
                        injection=self.attention_injection and list(self.injection_layers))
        return self.cached('difference_maps', settings, compute)['difference']

    def encode_decode(self, inputs: Tensor, batch_img_metas: list[dict]) -> Tensor:
        outputs = [self.segment(inputs[i:i + 1]) for i in range(inputs.shape[0])]
        self._embeddings = [e for _, e in outputs]
        return torch.stack([s for s, _ in outputs])

    @torch.no_grad()
    def predict(self, inputs: Tensor, data_samples=None):
        samples = super().predict(inputs, data_samples)
        for sample, embeddings in zip(samples, self._embeddings):
            sample.mask_embeddings = embeddings
        return samples
