"""The recipes of the trained tiny CLIP and BLIP: captions, the recipe's readouts against the product's backbones,
and both tools end to end (a few steps: a seeded run is reproducible and saves what the product's loaders load)."""
import json

import numpy as np
import pytest
import torch
from conftest import load_tool

from mmseg_trainfree.datasets.shapes import SHAPES_CLASSES, draw_shapes_sample
from mmseg_trainfree.testing.shapes_captions import SHAPE_WORDS, mentioned_classes, present_objects, shapes_caption
from mmseg_trainfree.testing.tiny_blip_training import caption_accuracy, caption_vocab
from mmseg_trainfree.testing.tiny_clip_training import TinyCLIPRecipe, forward_image, make_shapes, normalize_images


def test_captions_name_exactly_the_present_objects_with_synonyms():
    rng = np.random.default_rng(0)
    words = set()
    for _ in range(200):
        _, label = draw_shapes_sample(rng, 64, 64)
        caption = shapes_caption(present_objects(label), rng)
        assert mentioned_classes(caption) == present_objects(label), caption
        words |= set(caption.replace(',', ' ').split())
    assert {'ball', 'circle', 'box', 'disc', 'square'} <= words and 'background' in words


def test_caption_accuracy_counts_classes():
    label = np.zeros((4, 4), np.uint8)
    label[0, 0], label[1, 1] = 1, 2  # disc and square present
    stats = caption_accuracy(['a ball and a triangle'], [label], SHAPES_CLASSES)
    assert stats == dict(exact=0.0, precision=0.5, recall=0.5)


def test_every_caption_word_is_one_blip_token():
    from transformers import BertTokenizer
    vocab = caption_vocab()
    tokenizer = BertTokenizer(vocab={w: i for i, w in enumerate(vocab)}, do_lower_case=True)
    for words in SHAPE_WORDS.values():
        for word in words:
            assert tokenizer.tokenize(word) == [word]
    assert vocab[-1] == '[DEC]'


@pytest.fixture(scope='module')
def trained_clip_tool(tmp_path_factory):
    """Two seeded runs of tools/train_tiny_clip.py (3 steps, 16 images, a 2-block tower)."""
    root = tmp_path_factory.mktemp('clip')
    args = ['--num-images', '16', '--steps', '3', '--batch-size', '4', '--vision-layers', '2', '--gem-depth', '2']
    tool = load_tool('train_tiny_clip')
    for run in 'ab':
        tool.main(['--out', str(root / run), *args])
    return root


def test_clip_tool_is_seeded_and_saves_what_open_clip_loads(trained_clip_tool):
    from safetensors.torch import load_file

    from mmseg_trainfree.models import OpenCLIPBackbone
    from mmseg_trainfree.testing.tiny_clip_training import TRAINED_CLIP_WEIGHTS, clip_fields
    weights = [load_file(str(trained_clip_tool / run / TRAINED_CLIP_WEIGHTS)) for run in 'ab']
    assert all(v.dtype == torch.float16 for v in weights[0].values())
    assert all(torch.equal(weights[0][k], weights[1][k]) for k in weights[0])
    summary = json.loads((trained_clip_tool / 'a/training_recipe.json').read_text())
    assert summary['recipe']['steps'] == 3 and summary['final_losses']['dense'] > 0
    backbone = OpenCLIPBackbone(**clip_fields(str(trained_clip_tool / 'a')), short_side=128)
    state = backbone.model.state_dict()
    assert all(torch.equal(state[k].half(), v) for k, v in weights[0].items())
    assert not (trained_clip_tool / 'a.partial').exists()


def test_recipe_readouts_equal_the_product_backbones(trained_clip_tool):
    """The recipe computes MaskCLIP's value path and GEM's self-self path from the papers' definitions; the
    product's OpenCLIPBackbone / GEMBackbone must read the same features, and open_clip's encode_image the same
    global embedding (otherwise the dense loss would teach a readout no method uses)."""
    import torch.nn.functional as F

    from mmseg_trainfree.models import GEMBackbone, OpenCLIPBackbone
    from mmseg_trainfree.testing.tiny_clip_training import clip_fields
    fields = clip_fields(str(trained_clip_tool / 'a'))
    maskclip = OpenCLIPBackbone(**fields, short_side=128)
    gem = GEMBackbone(**fields, image_size=(128, 128), gem_depth=2)
    recipe = TinyCLIPRecipe(num_images=2, seed=5)
    images = make_shapes(recipe)[0]
    x = images.float() / 127.5 - 1
    with torch.no_grad():
        glob, (value, gem_tokens), grid = forward_image(maskclip.model.visual, normalize_images(images), 2, True)
        as_map = lambda t: t.transpose(1, 2).reshape(2, -1, *grid)  # noqa: E731
        assert torch.allclose(maskclip.dense_features(x), as_map(value), atol=1e-4)
        assert torch.allclose(gem.dense_features(x), as_map(gem_tokens), atol=1e-4)
        reference = F.normalize(maskclip.model.encode_image(normalize_images(images)), dim=-1)
        assert torch.allclose(glob, reference, atol=1e-4)


def test_blip_tool_is_seeded_and_saves_what_the_captioner_loads(tmp_path):
    from safetensors.torch import load_file

    from mmseg_trainfree.models.captioners.blip import BlipCaptioner
    args = ['--num-images', '8', '--steps', '2', '--batch-size', '4', '--eval-images', '3']
    tool = load_tool('train_tiny_blip')
    for run in 'ab':
        tool.main(['--out', str(tmp_path / run), *args])
    weights = [load_file(str(tmp_path / run / 'model.safetensors')) for run in 'ab']
    assert all(torch.equal(weights[0][k], weights[1][k]) for k in weights[0])
    summary = json.loads((tmp_path / 'a/training_recipe.json').read_text())
    assert summary['recipe']['steps'] == 2 and set(summary['held_out']) >= {'exact', 'precision', 'recall'}
    captioner = BlipCaptioner(model_id=str(tmp_path / 'a'), dtype='float32', local_files_only=True)
    image, _ = draw_shapes_sample(np.random.default_rng(0), 128, 128)
    assert isinstance(captioner.caption(image, ['', 'a photo of'])[1], str)


def test_shipped_blip_captions_held_out_images():
    """The shipped captioner (assets/tiny-blip-shapes) names the shapes of images it never saw: at training its
    held-out accuracy was recorded; here 20 more images (seed 7000) are captioned through BlipCaptioner."""
    from mmseg_trainfree.models.captioners.blip import BlipCaptioner
    from mmseg_trainfree.testing import trained_blip
    path = trained_blip()
    recorded = json.loads(open(f'{path}/training_recipe.json').read())['held_out']
    assert recorded['exact'] >= 0.9
    captioner = BlipCaptioner(model_id=path, dtype='float32', local_files_only=True)
    rng = np.random.default_rng(7000)
    samples = [draw_shapes_sample(rng, 128, 128) for _ in range(20)]
    stats = caption_accuracy([captioner.caption(image)[0] for image, _ in samples], [lb for _, lb in samples],
                             SHAPES_CLASSES)
    assert stats['precision'] >= 0.95 and stats['recall'] >= 0.9, stats
