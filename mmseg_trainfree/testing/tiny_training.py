"""The recipe of the trained tiny Stable Diffusion: the oracle of the behavioural tests and the demo.

A model of SD v1's topology (the tiny configs of :mod:`.tiny_models`, so every layer name the papers
use exists) trained here, on CPU, on captioned images of the built-in shapes benchmark:

1. **Data**: ``num_images`` shapes images (:func:`draw_shapes_sample`) with captions such as
   "a photo of triangle and disc" or "disc, square": the classes present, in random order, "background" named half the
   time, sometimes an absent class too, and some empty captions (classifier-free guidance's null prompt).
2. **VAE**: reconstruction (L1 + MSE) with a small KL term; ``scaling_factor`` is then set to 1 / std of
   the latents (SD's 0.18215 only fits SD's VAE).
3. **UNet + text encoder**: the DDPM noise-prediction loss plus an **attention loss**: at every
   cross-attention layer, each pixel's head-averaged scores QK^T/sqrt(d) of the caption's class names
   (a name's tokens averaged) and of the start token [SOS] are trained with cross-entropy against the
   label downsampled to that layer (area fractions as soft targets). A pixel of a class the caption does
   not name targets [SOS], so a named absent class gets zero attention target everywhere.
   The loss of a row is weighted by its signal fraction abar_t (at t near T the image is gone).
   And a **self-attention loss**: at every self-attention layer, -log of the attention mass each position
   puts on positions of its own class (real SD's self-attention stays inside objects; a UNet this small
   keeps it almost uniform when trained with the DDPM loss alone).

The attention losses are **mask supervision of the fixture**: attention localises because it was
taught to, not because it emerged. What the fixture proves is that each method *reads* a model correctly
when that model's attention and features localise (the right layers, tokens, signs and steps); it says
nothing about how well attention emerges in real Stable Diffusion.

Training runs a fixed number of steps (not a time budget) so that every machine makes the same model
up to floating-point differences; ``tools/train_tiny_sd.py`` runs it.
"""
from __future__ import annotations

import json
import os.path as osp
from dataclasses import asdict, dataclass, field
from typing import Optional, Sequence

import numpy as np
import torch
import torch.nn.functional as F
from torch import Tensor

from ..datasets.shapes import SHAPES_CLASSES, draw_shapes_sample
from ..models.attention import AttentionHook, attention_hooks, spatial_shape
from ..models.utils.prompts import pack_prompts
from .tiny_models import write_stable_diffusion
from .training_utils import SAVE_DTYPES, cosine_schedule, optimizer_step, progress

CAPTION_PREFIXES = ('', 'a photo of ', 'a photograph of ', 'a picture of ')
CAPTION_JOINERS = (' and ', ', ')


@dataclass
class TinySDRecipe:
    """Every choice of the trained fixture; the saved folder keeps it in ``training_recipe.json``."""

    seed: int = 0
    image_size: int = 128
    num_images: int = 3000
    max_shapes: int = 3
    p_background: float = 0.5  # "background" named in the caption
    p_absent: float = 0.3  # one absent object class named too
    p_empty: float = 0.1  # empty caption
    prefixes: Sequence[str] = CAPTION_PREFIXES
    joiners: Sequence[str] = CAPTION_JOINERS
    vae_steps: int = 900
    vae_batch: int = 8
    vae_lr: float = 3e-3
    vae_kl_weight: float = 1e-6
    unet_steps: int = 1200
    batch_size: int = 32
    unet_lr: float = 1e-3
    text_lr: float = 3e-4
    attention_loss_weight: float = 0.3
    cross_attn_layers: Sequence[str] = ('*attn2',)
    self_attention_loss_weight: float = 0.3
    self_attn_layers: Sequence[str] = ('*attn1',)
    save_dtype: str = 'float16'
    classes: Sequence[str] = field(default_factory=lambda: list(SHAPES_CLASSES))


# Data ----------------------------------------------------------------------------------------------
def caption_names(label: np.ndarray, rng: np.random.Generator, recipe: TinySDRecipe) -> list[int]:
    """Class ids a caption names, in caption order: those present (background half the time), maybe one
    absent object class; empty for an empty caption."""
    if rng.random() < recipe.p_empty:
        return []
    present = [int(c) for c in np.unique(label)]
    named = [c for c in present if c != 0]
    absent = [c for c in range(1, len(recipe.classes)) if c not in present]
    if absent and rng.random() < recipe.p_absent:
        named.append(int(rng.choice(absent)))
    if 0 in present and rng.random() < recipe.p_background:
        named.append(0)
    return [named[i] for i in rng.permutation(len(named))]


def make_captioned_shapes(recipe: TinySDRecipe, tokenizer):
    """Images (N, 3, S, S) in [-1, 1], labels (N, S, S) int64, token ids (N, 77) and the token-to-class
    averaging matrices (N, 77, C) of the captions' class names (a column of zeros: not named)."""
    rng = np.random.default_rng(recipe.seed)
    s, c = recipe.image_size, len(recipe.classes)
    images, labels, ids, token_class = [], [], [], []
    for _ in range(recipe.num_images):
        image, label = draw_shapes_sample(rng, s, s, recipe.max_shapes)
        named = caption_names(label, rng, recipe)
        prefix = str(rng.choice(list(recipe.prefixes)))
        joiner = str(rng.choice(list(recipe.joiners)))
        if named:
            prompt = pack_prompts(tokenizer, [recipe.classes[i] for i in named], joiner, prefix)
            if len(prompt) != 1:
                raise ValueError('a caption must fit one 77-token prompt')
            input_ids, spans = prompt[0].input_ids, prompt[0].spans
        else:
            input_ids, spans = tokenizer('', padding='max_length', max_length=tokenizer.model_max_length,
                                         return_tensors='pt').input_ids[0], {}
        matrix = torch.zeros(len(input_ids), c)
        for entry, tokens in spans.items():
            matrix[tokens, named[entry]] = 1.0 / len(tokens)
        images.append(torch.from_numpy(image).permute(2, 0, 1))
        labels.append(torch.from_numpy(label.astype(np.int64)))
        ids.append(input_ids)
        token_class.append(matrix)
    images = torch.stack(images).float() / 127.5 - 1
    return images, torch.stack(labels), torch.stack(ids), torch.stack(token_class)


# Attention loss ------------------------------------------------------------------------------------
class AttentionCollector(AttentionHook):
    """Keep each targeted layer's head-averaged scores QK^T/sqrt(d) (``what='scores'``) or probabilities
    (``'probs'``), (B, Nq, Nk), with their gradient."""

    def __init__(self, layers: Sequence[str], what: str):
        super().__init__(layers)
        self.what = what
        self.maps: dict[str, Tensor] = {}

    def needs_probs(self, layer: str) -> bool:
        return True

    def on_scores(self, layer: str, scores: Tensor) -> None:
        if self.what == 'scores':
            self.maps[layer] = scores.mean(1)

    def on_probs(self, layer: str, probs: Tensor) -> None:
        if self.what == 'probs':
            self.maps[layer] = probs.mean(1)


def class_fractions(labels: Tensor, num_classes: int, hw: tuple[int, int]) -> Tensor:
    """The area fraction of each class (B, h*w, C) in each cell of an (h, w) grid over the label maps (B, H, W)."""
    one_hot = F.one_hot(labels, num_classes).permute(0, 3, 1, 2).float()
    return F.adaptive_avg_pool2d(one_hot, hw).flatten(2).transpose(1, 2)


def soft_targets(labels: Tensor, token_class: Tensor, hw: tuple[int, int]) -> Tensor:
    """Per position of an (h, w) layer: the area fraction of each named class and, last, of everything
    not named (the null target), (B, h*w, C+1)."""
    named = token_class.sum(1) > 0  # (B, C)
    kept = class_fractions(labels, token_class.shape[-1], hw) * named[:, None].float()
    return torch.cat([kept, 1 - kept.sum(-1, keepdim=True)], -1)


def attention_loss(scores: Tensor, token_class: Tensor, labels: Tensor, latent_hw: tuple[int, int],
                   row_weight: Tensor) -> Tensor:
    """Cross-entropy of [class-name logits, the start token's logit] against the soft targets, for one
    layer's scores (B, Nq, 77); classes the caption does not name are no candidates. Rows with no name
    weigh 0. The start token [SOS] is the null target: in real SD it takes most of the attention away
    from objects, and methods such as AggSD read its map as the background."""
    logits = torch.einsum('bqk,bkc->bqc', scores.float(), token_class)
    named = token_class.sum(1) > 0
    logits = logits.masked_fill(~named[:, None], float('-inf'))
    logits = torch.cat([logits, scores[..., :1].float()], -1)
    targets = soft_targets(labels, token_class, spatial_shape(scores.shape[1], latent_hw))
    log_probs = logits.log_softmax(-1).masked_fill(targets == 0, 0.0)  # 0 * -inf -> 0
    per_row = -(targets * log_probs).sum(-1).mean(-1)
    weight = row_weight * named.any(1).float()
    return (per_row * weight).sum() / weight.sum().clamp_min(1e-6)


def self_attention_loss(probs: Tensor, labels: Tensor, num_classes: int, latent_hw: tuple[int, int],
                        row_weight: Tensor) -> Tensor:
    """-log of the self-attention mass each position puts on positions of its own class, for one layer's
    probabilities (B, N, N); "own class" is soft (the dot product of the two positions' class fractions).
    Real SD's self-attention stays inside objects, which DiffSeg, AggSD, DiffSegmenter's refinement and
    EmerDiff's propagation rely on; a model this small does not learn it from the DDPM loss alone."""
    fractions = class_fractions(labels, num_classes, spatial_shape(probs.shape[1], latent_hw))
    same = torch.einsum('bnm,bmc,bnc->bn', probs.float(), fractions, fractions)
    per_row = -(same.clamp_min(1e-6)).log().mean(-1)
    return (per_row * row_weight).sum() / row_weight.sum().clamp_min(1e-6)


# Training ------------------------------------------------------------------------------------------
def train_vae(vae, images: Tensor, recipe: TinySDRecipe, generator: torch.Generator) -> list[float]:
    """Reconstruction (L1 + MSE) + KL; returns the losses."""
    vae.train().requires_grad_(True)
    opt = torch.optim.AdamW(vae.parameters(), lr=recipe.vae_lr, weight_decay=0.0)
    sched = cosine_schedule(opt, recipe.vae_steps)
    losses = []
    with progress(recipe.vae_steps, 'VAE') as bar:
        for _ in range(recipe.vae_steps):
            idx = torch.randint(len(images), (recipe.vae_batch,), generator=generator)
            x = images[idx]
            dist = vae.encode(x).latent_dist
            z = dist.mean + dist.std * torch.randn(dist.mean.shape, generator=generator)
            rec = vae.decode(z).sample
            loss = F.l1_loss(rec, x) + F.mse_loss(rec, x) + recipe.vae_kl_weight * dist.kl().mean()
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            sched.step()
            losses.append(loss.item())
            bar.set_postfix(loss=f'{np.mean(losses[-20:]):.4f}')
            bar.update()
    vae.eval().requires_grad_(False)
    return losses


@torch.no_grad()
def encode_dataset(vae, images: Tensor, batch: int = 64) -> tuple[Tensor, Tensor]:
    """Posterior mean and std of every image's latent (unscaled)."""
    means, stds = [], []
    for chunk in images.split(batch):
        dist = vae.encode(chunk).latent_dist
        means.append(dist.mean)
        stds.append(dist.std)
    return torch.cat(means), torch.cat(stds)


def train_unet(unet, text_encoder, scheduler, latents: tuple[Tensor, Tensor], labels: Tensor, input_ids: Tensor,
               token_class: Tensor, scaling_factor: float, recipe: TinySDRecipe,
               generator: torch.Generator) -> dict[str, list[float]]:
    """UNet + text encoder: DDPM loss + weighted attention and self-attention losses (module docstring);
    ``latents`` are the posterior (mean, std) of the VAE, scaled by ``scaling_factor``."""
    unet.train().requires_grad_(True)
    text_encoder.train().requires_grad_(True)
    opt = torch.optim.AdamW([dict(params=unet.parameters(), lr=recipe.unet_lr),
                             dict(params=text_encoder.parameters(), lr=recipe.text_lr)], weight_decay=0.0)
    sched = cosine_schedule(opt, recipe.unet_steps)
    cross = AttentionCollector(recipe.cross_attn_layers, 'scores')
    self_attn = AttentionCollector(recipe.self_attn_layers, 'probs')
    abar = scheduler.alphas_cumprod.float()
    mean, std = latents
    history: dict[str, list[float]] = dict(ddpm=[], attention=[], self_attention=[])
    with attention_hooks(unet, [cross, self_attn]), progress(recipe.unet_steps, 'UNet + text encoder') as bar:
        for _ in range(recipe.unet_steps):
            idx = torch.randint(len(mean), (recipe.batch_size,), generator=generator)
            x0 = (mean[idx] + std[idx] * torch.randn(mean[idx].shape, generator=generator)) * scaling_factor
            t = torch.randint(scheduler.config.num_train_timesteps, (len(idx),), generator=generator)
            noise = torch.randn(x0.shape, generator=generator)
            text = text_encoder(input_ids[idx])[0]
            eps = unet(scheduler.add_noise(x0, noise, t), t, encoder_hidden_states=text).sample
            ddpm = F.mse_loss(eps, noise)
            hw = tuple(x0.shape[2:])
            attn = sum(attention_loss(s, token_class[idx], labels[idx], hw, abar[t])
                       for s in cross.maps.values()) / len(cross.maps)
            sa = sum(self_attention_loss(p, labels[idx], len(recipe.classes), hw, abar[t])
                     for p in self_attn.maps.values()) / len(self_attn.maps)
            loss = ddpm + recipe.attention_loss_weight * attn + recipe.self_attention_loss_weight * sa
            optimizer_step(opt, sched, loss, list(unet.parameters()) + list(text_encoder.parameters()))
            history['ddpm'].append(ddpm.item())
            history['attention'].append(attn.item())
            history['self_attention'].append(sa.item())
            bar.set_postfix(ddpm=f"{np.mean(history['ddpm'][-20:]):.4f}",
                            attn=f"{np.mean(history['attention'][-20:]):.3f}",
                            self_attn=f"{np.mean(history['self_attention'][-20:]):.3f}")
            bar.update()
    unet.eval().requires_grad_(False)
    text_encoder.eval().requires_grad_(False)
    return history


def train_tiny_stable_diffusion(out_dir: str, recipe: Optional[TinySDRecipe] = None) -> str:
    """Train the fixture and save it as a diffusers folder (safetensors) that ``from_pretrained`` loads."""
    from diffusers import AutoencoderKL, DDPMScheduler, UNet2DConditionModel
    from transformers import CLIPTextModel, CLIPTokenizer

    recipe = recipe or TinySDRecipe()
    torch.manual_seed(recipe.seed)
    generator = torch.Generator().manual_seed(recipe.seed)
    write_stable_diffusion(out_dir, 'tiny', seed=recipe.seed)  # random init in the diffusers layout
    tokenizer = CLIPTokenizer.from_pretrained(osp.join(out_dir, 'tokenizer'))
    vae = AutoencoderKL.from_pretrained(out_dir, subfolder='vae')
    unet = UNet2DConditionModel.from_pretrained(out_dir, subfolder='unet')
    text_encoder = CLIPTextModel.from_pretrained(out_dir, subfolder='text_encoder')
    scheduler = DDPMScheduler.from_pretrained(out_dir, subfolder='scheduler')

    images, labels, input_ids, token_class = make_captioned_shapes(recipe, tokenizer)
    vae_losses = train_vae(vae, images, recipe, generator)
    mean, std = encode_dataset(vae, images)
    scaling = float(1.0 / (mean.std() + 1e-8))
    vae.register_to_config(scaling_factor=scaling)
    history = train_unet(unet, text_encoder, scheduler, (mean, std), labels, input_ids, token_class, scaling,
                         recipe, generator)
    dtype = SAVE_DTYPES[recipe.save_dtype]
    for name, model in dict(vae=vae, unet=unet, text_encoder=text_encoder).items():
        model.to(dtype).save_pretrained(osp.join(out_dir, name), safe_serialization=True)
    summary = dict(recipe=asdict(recipe), scaling_factor=scaling,
                   final_losses=dict(vae=float(np.mean(vae_losses[-50:])),
                                     ddpm=float(np.mean(history['ddpm'][-50:])),
                                     attention=float(np.mean(history['attention'][-50:])),
                                     self_attention=float(np.mean(history['self_attention'][-50:]))))
    with open(osp.join(out_dir, 'training_recipe.json'), 'w') as f:
        json.dump(summary, f, indent=2)
    return out_dir
