"""The recipe of the trained tiny BLIP captioner: the oracle of DiffSegmenter's BLIP prompts and of its category
filter's caption half.

A ``BlipForConditionalGeneration`` of BLIP's layout (ViT image encoder, BERT decoder with cross-attention, a
WordPiece vocabulary with BLIP's [DEC] start token) trained here, on CPU, with the captioning loss (next-token
cross-entropy, teacher forcing) on shapes images (:func:`..datasets.shapes.draw_shapes_sample`) and captions
that name each class by a random one of its words (:mod:`.shapes_captions`): "a picture of a red ball and a box",
"there is a triangle on a background". Synonyms reach the filter's similarity matching for real, since the
class names themselves ("disc", "square") appear only some of the time.

Saved with ``save_pretrained`` (model and ``BlipProcessor``), so that ``BlipCaptioner`` loads it as it loads
``Salesforce/blip-image-captioning-large``. Fixed step budget, seeded; ``tools/train_tiny_blip.py`` runs it.
"""
from __future__ import annotations

import json
import os.path as osp
import string
from dataclasses import asdict, dataclass, field
from typing import Optional, Sequence

import numpy as np
import torch
import torch.nn.functional as F

from ..datasets.shapes import SHAPES_CLASSES, draw_shapes_sample
from .shapes_captions import CAPTION_OPENINGS, SHAPE_COLOURS, SHAPE_WORDS, mentioned_classes, present_objects, \
    shapes_caption
from .tiny_models import BLIP_SPECIAL, blip_special_tokens, build_once, cache_root, shipped_asset, write_blip_processor
from .training_utils import SAVE_DTYPES, cosine_schedule, optimizer_step, progress

TRAINED_BLIP_DIR = 'tiny-blip-shapes'


@dataclass
class TinyBLIPRecipe:
    """Every choice of the trained captioner; the saved folder keeps it in ``training_recipe.json``."""

    seed: int = 0
    image_size: int = 128  # the drawn images; the processor resizes them to ``input_size``
    input_size: int = 64
    patch_size: int = 8
    hidden_size: int = 64
    layers: int = 2
    num_images: int = 3000
    captions_per_image: int = 4
    max_shapes: int = 3
    max_length: int = 24  # caption tokens, [DEC] and [SEP] included
    steps: int = 1200
    batch_size: int = 32
    lr: float = 1e-3
    save_dtype: str = 'float16'
    eval_images: int = 200  # held-out images (seed ``seed + 5000``) whose caption accuracy is measured
    classes: Sequence[str] = field(default_factory=lambda: list(SHAPES_CLASSES))


def caption_vocab() -> list[str]:
    """BERT's special tokens, letters and word pieces (every word tokenises), the caption words, BLIP's [DEC]."""
    words = {w for opening in CAPTION_OPENINGS for w in opening.split()}
    words |= {w for names in SHAPE_WORDS.values() for w in names} | set(SHAPE_COLOURS.values())
    words |= {'a', 'an', 'on', 'and', 'photograph', 'photography', 'of'}
    pieces = list(string.ascii_lowercase + string.digits + string.punctuation)
    return list(dict.fromkeys(BLIP_SPECIAL + pieces + ['##' + c for c in string.ascii_lowercase + string.digits]
                              + sorted(words))) + ['[DEC]']


def write_untrained_blip(out_dir: str, recipe: TinyBLIPRecipe):
    """The random-initialised model and its ``BlipProcessor`` (saved), returned for training."""
    from transformers import BlipConfig, BlipForConditionalGeneration
    vocab = caption_vocab()
    processor = write_blip_processor(out_dir, vocab, recipe.input_size)
    h = recipe.hidden_size
    special = blip_special_tokens(len(vocab))
    config = BlipConfig(text_config=dict(vocab_size=len(vocab), hidden_size=h, num_hidden_layers=recipe.layers,
                                         num_attention_heads=2, intermediate_size=2 * h, max_position_embeddings=64,
                                         encoder_hidden_size=h, **special),
                        vision_config=dict(hidden_size=h, intermediate_size=2 * h, num_hidden_layers=recipe.layers,
                                           num_attention_heads=2, image_size=recipe.input_size,
                                           patch_size=recipe.patch_size), projection_dim=32)
    torch.manual_seed(recipe.seed)
    return BlipForConditionalGeneration(config), processor


def trained_blip(root: Optional[str] = None) -> str:
    """Path of the shipped trained tiny BLIP captioner (``assets/tiny-blip-shapes``)."""
    return shipped_asset(TRAINED_BLIP_DIR, 'config.json', 'tiny BLIP captioner', 'train_tiny_blip', root)


def random_shapes_blip(seed: int = 0, root: Optional[str] = None) -> str:
    """A cached random model of the trained captioner's architecture and vocabulary (the tests' control)."""
    recipe = TinyBLIPRecipe(seed=seed)
    path = osp.join(root or cache_root(), f'random-blip-shapes-seed{seed}')

    def write(tmp: str) -> None:
        model, _ = write_untrained_blip(tmp, recipe)
        model.to(SAVE_DTYPES[recipe.save_dtype]).save_pretrained(tmp)
    return build_once(path, 'config.json', write)


def caption_accuracy(captions: Sequence[str], labels: Sequence[np.ndarray], names: Sequence[str]) -> dict:
    """Exact-set accuracy of the object classes a caption names, and class precision / recall over all images."""
    exact = tp = fp = fn = 0
    for caption, label in zip(captions, labels):
        said, truth = set(mentioned_classes(caption, names)), set(present_objects(label))
        exact += said == truth
        tp, fp, fn = tp + len(said & truth), fp + len(said - truth), fn + len(truth - said)
    return dict(exact=exact / max(1, len(captions)), precision=tp / max(1, tp + fp), recall=tp / max(1, tp + fn))


def train_tiny_blip(out_dir: str, recipe: Optional[TinyBLIPRecipe] = None) -> str:
    """Train the captioner, save it in the transformers layout, and measure its held-out caption accuracy."""
    recipe = recipe or TinyBLIPRecipe()
    model, processor = write_untrained_blip(out_dir, recipe)
    tokenizer, bos = processor.tokenizer, model.config.text_config.bos_token_id
    rng = np.random.default_rng(recipe.seed)
    generator = torch.Generator().manual_seed(recipe.seed)
    s = recipe.image_size
    images, captions = [], []
    for _ in range(recipe.num_images):
        image, label = draw_shapes_sample(rng, s, s, recipe.max_shapes)
        images.append(image)
        objects = present_objects(label)
        captions.append([shapes_caption(objects, rng, names=recipe.classes) for _ in range(recipe.captions_per_image)])
    pixels = processor(images=images, return_tensors='pt')['pixel_values']
    flat = [c for cs in captions for c in cs]
    tokens = tokenizer(flat, padding='max_length', truncation=True, max_length=recipe.max_length, return_tensors='pt')
    input_ids = tokens.input_ids.view(recipe.num_images, recipe.captions_per_image, -1)
    input_ids[..., 0] = bos  # BLIP's decoder starts from [DEC], not BERT's [CLS]
    attention = tokens.attention_mask.view_as(input_ids)
    opt = torch.optim.AdamW(model.parameters(), lr=recipe.lr, weight_decay=0.01)
    sched = cosine_schedule(opt, recipe.steps, warmup=50)
    losses: list[float] = []
    model.train()
    with progress(recipe.steps, 'tiny BLIP') as bar:
        for _ in range(recipe.steps):
            idx = torch.randint(recipe.num_images, (recipe.batch_size,), generator=generator)
            which = torch.randint(recipe.captions_per_image, (recipe.batch_size,), generator=generator)
            ids, mask = input_ids[idx, which], attention[idx, which]
            image_embeds = model.vision_model(pixel_values=pixels[idx])[0]
            logits = model.text_decoder(input_ids=ids, attention_mask=mask, encoder_hidden_states=image_embeds).logits
            target = ids[:, 1:].masked_fill(mask[:, 1:] == 0, -100)
            loss = F.cross_entropy(logits[:, :-1].flatten(0, 1), target.flatten())
            optimizer_step(opt, sched, loss, model.parameters())
            losses.append(loss.item())
            bar.set_postfix(loss=f'{np.mean(losses[-20:]):.3f}')
            bar.update()
    model.eval().requires_grad_(False)
    dtype = SAVE_DTYPES[recipe.save_dtype]
    model.to(dtype).save_pretrained(out_dir)
    summary = dict(recipe=asdict(recipe), final_loss=float(np.mean(losses[-50:])),
                   held_out=held_out_accuracy(out_dir, recipe))
    with open(osp.join(out_dir, 'training_recipe.json'), 'w') as f:
        json.dump(summary, f, indent=2)
    return out_dir


def held_out_accuracy(model_dir: str, recipe: TinyBLIPRecipe) -> dict:
    """Caption accuracy (:func:`caption_accuracy`) of the saved model, loaded and run by the product's
    ``BlipCaptioner``, on ``eval_images`` images the training never saw."""
    from ..models.captioners.blip import BlipCaptioner
    captioner = BlipCaptioner(model_id=model_dir, dtype='float32', local_files_only=True)
    rng = np.random.default_rng(recipe.seed + 5000)
    captions, labels = [], []
    for _ in range(recipe.eval_images):
        image, label = draw_shapes_sample(rng, recipe.image_size, recipe.image_size, recipe.max_shapes)
        captions.append(captioner.caption(image)[0])
        labels.append(label)
    return dict(caption_accuracy(captions, labels, recipe.classes), examples=captions[:5])
