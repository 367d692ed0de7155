"""The recipe of the trained tiny CLIP: the oracle of the CLIP half (GEM, MaskCLIP, the report's CLIP-labelled
methods, DiffSegmenter's category filter).

An open_clip ViT image tower and text tower (a custom model config, loaded as real weights are: the config folder
through ``open_clip.add_model_config`` and the weights as a local ``pretrained`` file) trained here, on CPU, on
captioned shapes images (:func:`..datasets.shapes.draw_shapes_sample`, the images the tiny SD learnt from):

1. **Contrastive loss** (CLIP's): image embedding (class token) against caption embedding; captions with the
   same set of classes count as positives of each other (:mod:`.shapes_captions` names each class by a random
   synonym, so "ball", "circle" and "disc" share an image cluster).
2. **Classification loss** (CLIP-ES's image-text classification, which DiffSegmenter's filter applies): softmax
   of the scaled image-text cosine over the object classes, each as one templated prompt of one of its words,
   against the largest object class of the image (``classification_target='largest'``: real CLIP's probabilities
   concentrate on the salient object, so the filter's CLIP half keeps one class for most images and the caption
   half has to add the others) or the uniform distribution over the classes present (``'present'``).
3. **Dense loss** (optional, ``dense_loss_weight``): the patch tokens of two readouts, MaskCLIP's value path of
   the last block and GEM's self-self path of the last ``gem_depth - 1`` blocks (each computed here from the
   papers' definitions, independently of the product's backbones), classified against every class's templated
   prompt (background included), cross-entropy against the class fractions of each patch. This is mask
   supervision of the fixture: the patch tokens localise because they were taught to, and what the fixture
   then proves is that each method *reads* a model correctly (the right path, tokens, normalisation and
   temperature), not that dense alignment emerges from contrastive training.

Fixed step budget, seeded; ``tools/train_tiny_clip.py`` runs it.
"""
from __future__ import annotations

import json
import os
import os.path as osp
from dataclasses import asdict, dataclass, field
from typing import Optional, Sequence

import numpy as np
import torch
import torch.nn.functional as F
from torch import Tensor

from ..datasets.shapes import SHAPES_CLASSES, draw_shapes_sample
from ..models.backbones.open_clip import OPENAI_MEAN, OPENAI_STD
from .shapes_captions import SHAPE_WORDS, present_objects, shapes_caption
from .tiny_models import build_once, cache_root, shipped_asset
from .training_utils import SAVE_DTYPES, cosine_schedule, optimizer_step, progress

TRAINED_CLIP_NAME = 'mmseg-trainfree-tiny-clip-shapes'
TRAINED_CLIP_DIR = 'tiny-clip-shapes'
TRAINED_CLIP_WEIGHTS = 'open_clip_model.safetensors'
# The prompt templates of the configs that use this model (GEM's, CLIP-ES's and EmerDiff's 7 of App. C).
CLIP_TEMPLATES = ('a photo of a {}.', 'itap of a {}.', 'a bad photo of a {}.', 'a origami {}.',
                  'a photo of the large {}.', 'a {} in a video game.', 'art of the {}.', 'a photo of the small {}.')


@dataclass
class TinyCLIPRecipe:
    """Every choice of the trained CLIP; the saved folder keeps it in ``training_recipe.json``."""

    seed: int = 0
    image_size: int = 128
    num_images: int = 3000
    max_shapes: int = 3
    embed_dim: int = 32
    vision_width: int = 64
    vision_layers: int = 4
    patch_size: int = 16
    text_width: int = 32
    text_layers: int = 2
    gem_depth: int = 3  # the GEM readout trained by the dense loss: the last gem_depth - 1 blocks
    steps: int = 1500
    batch_size: int = 48
    lr: float = 2e-3
    weight_decay: float = 0.05
    classification_loss_weight: float = 0.5
    classification_target: str = 'largest'  # or 'present' (see the module docstring)
    dense_loss_weight: float = 1.0
    dense_temperature: float = 0.07  # the dense logits' softmax temperature during training
    save_dtype: str = 'float16'
    templates: Sequence[str] = CLIP_TEMPLATES
    classes: Sequence[str] = field(default_factory=lambda: list(SHAPES_CLASSES))


def model_config(recipe: TinyCLIPRecipe) -> dict:
    """The open_clip model config (``<TRAINED_CLIP_NAME>.json``): a ViT of OpenAI CLIP's layout, QuickGELU."""
    heads_width = 32
    return dict(embed_dim=recipe.embed_dim, quick_gelu=True,
                vision_cfg=dict(image_size=recipe.image_size, layers=recipe.vision_layers, width=recipe.vision_width,
                                patch_size=recipe.patch_size, head_width=heads_width),
                text_cfg=dict(context_length=77, vocab_size=49408, width=recipe.text_width,
                              heads=max(1, recipe.text_width // heads_width), layers=recipe.text_layers))


def clip_fields(path: str) -> dict:
    """``OpenCLIPBackbone`` / ``GEMBackbone`` fields that load the model in ``path`` as real weights load."""
    return dict(model_name=TRAINED_CLIP_NAME, pretrained=osp.join(path, TRAINED_CLIP_WEIGHTS), model_config_dir=path)


def trained_clip(root: Optional[str] = None) -> dict:
    """The shipped trained tiny CLIP (``assets/tiny-clip-shapes``) as backbone fields (:func:`clip_fields`)."""
    return clip_fields(shipped_asset(TRAINED_CLIP_DIR, TRAINED_CLIP_WEIGHTS, 'tiny CLIP', 'train_tiny_clip', root))


def write_clip(out_dir: str, recipe: TinyCLIPRecipe, model=None) -> str:
    """The model config and a checkpoint of ``model`` (default: a random model of the recipe's architecture)."""
    import open_clip
    from safetensors.torch import save_file
    os.makedirs(out_dir, exist_ok=True)
    config = model_config(recipe)
    with open(osp.join(out_dir, f'{TRAINED_CLIP_NAME}.json'), 'w') as f:
        json.dump(config, f, indent=2)
    if model is None:
        torch.manual_seed(recipe.seed)
        model = open_clip.CLIP(**config)
    dtype = SAVE_DTYPES[recipe.save_dtype]
    save_file({k: v.to(dtype).contiguous() for k, v in model.state_dict().items()},
              osp.join(out_dir, TRAINED_CLIP_WEIGHTS))
    return out_dir


def random_shapes_clip(seed: int = 0, root: Optional[str] = None) -> dict:
    """A cached random model of the trained CLIP's architecture (the behavioural tests' control), as fields."""
    recipe = TinyCLIPRecipe(seed=seed)
    path = osp.join(root or cache_root(), f'random-clip-shapes-seed{seed}')
    return clip_fields(build_once(path, TRAINED_CLIP_WEIGHTS, lambda tmp: write_clip(tmp, recipe)))


# Data ----------------------------------------------------------------------------------------------
def make_shapes(recipe: TinyCLIPRecipe) -> tuple[Tensor, Tensor, list[str], Tensor]:
    """Images (N, 3, S, S) uint8, labels (N, S, S) int64, one caption per image and the object classes present
    as a multi-hot (N, C) (background column always 0)."""
    rng = np.random.default_rng(recipe.seed)
    s, c = recipe.image_size, len(recipe.classes)
    images, labels, captions, present = [], [], [], torch.zeros(recipe.num_images, c)
    for i in range(recipe.num_images):
        image, label = draw_shapes_sample(rng, s, s, recipe.max_shapes)
        objects = present_objects(label)
        captions.append(shapes_caption(objects, rng, names=recipe.classes))
        present[i, objects] = 1
        images.append(torch.from_numpy(image).permute(2, 0, 1))
        labels.append(torch.from_numpy(label.astype(np.int64)))
    return torch.stack(images), torch.stack(labels), captions, present


def normalize_images(images: Tensor) -> Tensor:
    x = images.float() / 255
    return (x - torch.tensor(OPENAI_MEAN).view(1, 3, 1, 1)) / torch.tensor(OPENAI_STD).view(1, 3, 1, 1)


# The readouts, from the papers' definitions --------------------------------------------------------
def tokens_before(visual, x: Tensor, stop: int) -> tuple[list[Tensor], tuple[int, int]]:
    """The token states (B, 1 + h*w, W) entering blocks 0 .. ``stop`` (``stop + 1`` of them), and the patch
    grid."""
    x = visual.conv1(x)
    grid = tuple(x.shape[2:])
    x = x.flatten(2).transpose(1, 2)
    x = torch.cat([visual.class_embedding.view(1, 1, -1).expand(x.shape[0], -1, -1), x], 1)
    x = visual.ln_pre(x + visual.positional_embedding)
    states = [x]
    for block in visual.transformer.resblocks[:stop]:
        states.append(block(states[-1]))
    return states, grid


def split_heads(t: Tensor, heads: int) -> Tensor:
    b, n, c = t.shape
    return t.reshape(b, n, heads, c // heads).transpose(1, 2)


def value_path(block, x: Tensor) -> Tensor:
    """MaskCLIP's last block: x + out_proj(v(ln_1 x)), then the block's MLP (no query-key attention)."""
    attn = block.attn
    w, b = attn.in_proj_weight.chunk(3), attn.in_proj_bias.chunk(3)
    y = x + block.ls_1(attn.out_proj(F.linear(block.ln_1(x), w[2], b[2])))
    return y + block.ls_2(block.mlp(block.ln_2(y)))


def gem_path(blocks, states: Sequence[Tensor]) -> Tensor:
    """GEM: starting from the state entering the first of ``blocks``, add each block's self-self attention
    output, averaged over q-q, k-k and v-v (one iteration, adaptive temperature), applied to v."""
    out = states[0]
    for block, x in zip(blocks, states):
        attn = block.attn
        y = block.ln_1(x)
        heads = attn.num_heads
        d = y.shape[-1] // heads
        q, k, v = (split_heads(t, heads) for t in F.linear(y, attn.in_proj_weight, attn.in_proj_bias).chunk(3, -1))
        tau = (y.norm(dim=-1).mean(-1) * d ** -0.5).view(-1, 1, 1, 1)
        result = 0
        for t in (q, k, v):
            t = F.normalize(t, dim=-1)
            t = F.normalize((tau * t @ t.transpose(-1, -2)).softmax(-1) @ t, dim=-1)
            result = result + (tau * t @ t.transpose(-1, -2)).softmax(-1) @ v
        result = (result / 3).transpose(1, 2).reshape(y.shape)
        out = out + block.ls_1(attn.out_proj(result))
    return out


def project(visual, tokens: Tensor) -> Tensor:
    return F.normalize(visual.ln_post(tokens) @ visual.proj, dim=-1)


def forward_image(visual, images: Tensor, gem_depth: int, dense: bool):
    """(global embedding (B, E), [dense readouts (B, h*w, E)], grid), all L2-normalised."""
    blocks = visual.transformer.resblocks
    states, grid = tokens_before(visual, images, len(blocks) - 1)
    last = blocks[-1]
    glob = project(visual, last(states[-1])[:, 0])
    if not dense:
        return glob, [], grid
    start = len(blocks) - (gem_depth - 1)
    readouts = [project(visual, value_path(last, states[-1])[:, 1:]),
                project(visual, gem_path(blocks[start:], states[start:])[:, 1:])]
    return glob, readouts, grid


# Training ------------------------------------------------------------------------------------------
def class_prompts(recipe: TinyCLIPRecipe, rng: np.random.Generator) -> list[str]:
    """One templated prompt per class, with a random template and a random one of the class's words."""
    return [str(rng.choice(list(recipe.templates))).format(str(rng.choice(SHAPE_WORDS[name])))
            for name in recipe.classes]


def train_tiny_clip(out_dir: str, recipe: Optional[TinyCLIPRecipe] = None) -> str:
    """Train the fixture and save it as an open_clip model config folder with a safetensors checkpoint."""
    import open_clip

    recipe = recipe or TinyCLIPRecipe()
    torch.manual_seed(recipe.seed)
    rng = np.random.default_rng(recipe.seed + 1)
    generator = torch.Generator().manual_seed(recipe.seed)
    model = open_clip.CLIP(**model_config(recipe))
    tokenizer = open_clip.SimpleTokenizer(context_length=77)
    visual = model.visual
    images, labels, captions, present = make_shapes(recipe)
    caption_tokens = tokenizer(captions)
    set_ids = torch.unique(present, dim=0, return_inverse=True)[1]
    if recipe.classification_target not in ('largest', 'present'):
        raise ValueError(f"classification_target must be 'largest' or 'present', got {recipe.classification_target!r}")
    areas = F.one_hot(labels.flatten(1), len(recipe.classes)).sum(1)[:, 1:]  # (N, C-1) object pixel counts
    largest = F.one_hot(areas.argmax(1), len(recipe.classes) - 1).float()
    num_classes = len(recipe.classes)
    opt = torch.optim.AdamW(model.parameters(), lr=recipe.lr, weight_decay=recipe.weight_decay)
    sched = cosine_schedule(opt, recipe.steps, warmup=50)
    history: dict[str, list[float]] = dict(contrastive=[], classification=[], dense=[])
    model.train()
    with progress(recipe.steps, 'tiny CLIP') as bar:
        for _ in range(recipe.steps):
            idx = torch.randint(len(images), (recipe.batch_size,), generator=generator)
            x = normalize_images(images[idx])
            glob, readouts, grid = forward_image(visual, x, recipe.gem_depth, recipe.dense_loss_weight > 0)
            text = F.normalize(model.encode_text(caption_tokens[idx]), dim=-1)
            scale = model.logit_scale.exp().clamp(max=100)
            same = (set_ids[idx][:, None] == set_ids[idx][None]).float()
            logits = scale * glob @ text.T
            contrastive = 0.5 * (-(same / same.sum(1, keepdim=True) * logits.log_softmax(1)).sum(1).mean()
                                 - (same / same.sum(0, keepdim=True) * logits.log_softmax(0)).sum(0).mean())
            prompts = F.normalize(model.encode_text(tokenizer(class_prompts(recipe, rng))), dim=-1)  # (C, E)
            objects = present[idx][:, 1:] if recipe.classification_target == 'present' else largest[idx]
            cls_logits = scale * glob @ prompts[1:].T
            classification = -(objects / objects.sum(1, keepdim=True) * cls_logits.log_softmax(1)).sum(1).mean()
            loss = contrastive + recipe.classification_loss_weight * classification
            dense = torch.zeros(())
            if readouts:
                one_hot = F.one_hot(labels[idx], num_classes).permute(0, 3, 1, 2).float()
                targets = F.adaptive_avg_pool2d(one_hot, grid).flatten(2).transpose(1, 2)  # (B, h*w, C)
                dense = sum(-(targets * (r @ prompts.T / recipe.dense_temperature).log_softmax(-1)).sum(-1).mean()
                            for r in readouts) / len(readouts)
                loss = loss + recipe.dense_loss_weight * dense
            optimizer_step(opt, sched, loss, model.parameters())
            for key, value in dict(contrastive=contrastive, classification=classification, dense=dense).items():
                history[key].append(float(value))
            bar.set_postfix({k: f'{np.mean(v[-20:]):.3f}' for k, v in history.items()})
            bar.update()
    model.eval().requires_grad_(False)
    write_clip(out_dir, recipe, model)
    summary = dict(recipe=asdict(recipe), model_name=TRAINED_CLIP_NAME,
                   final_losses={k: float(np.mean(v[-50:])) for k, v in history.items()},
                   logit_scale=float(model.logit_scale.exp()))
    with open(osp.join(out_dir, 'training_recipe.json'), 'w') as f:
        json.dump(summary, f, indent=2)
    return out_dir
