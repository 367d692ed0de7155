"""MaskCLIP's dense features on open_clip, prompt ensembling, and MaskCLIP + EmerDiff's mask labelling."""
import pytest
import torch
import torch.nn.functional as F

from mmseg_trainfree.models import ModelNotAvailableError, OpenCLIPBackbone
from mmseg_trainfree.models.backbones.open_clip import interpolate_positions
from mmseg_trainfree.registry import MODELS


@pytest.fixture(scope='module')
def clip(tiny_clip):
    return OpenCLIPBackbone(**tiny_clip)


def test_dense_features_follow_the_value_path(clip):
    x = torch.rand(2, 3, 50, 70, generator=torch.Generator().manual_seed(0)) * 2 - 1
    feats = clip.dense_features(x)
    assert feats.shape == (2, 32, 8, 11) and torch.allclose(feats.norm(dim=1), torch.ones(2, 8, 11), atol=1e-5)
    assert torch.allclose(clip.dense_features(x[:1]), feats[:1], atol=1e-5)  # per image
    clip.keep_residual = False
    try:
        assert not torch.allclose(clip.dense_features(x), feats, atol=1e-3)
    finally:
        clip.keep_residual = True
    pos = clip.model.visual.positional_embedding
    assert interpolate_positions(pos, (4, 4)) is pos and interpolate_positions(pos, (8, 11)).shape == (89, 64)


def test_class_embeddings_average_templates_and_synonyms(clip):
    templates = ['a photo of a {}.', 'art of the {}.']
    [emb] = clip.class_embeddings([['cat', 'kitty']], templates)
    texts = [t.format(n) for n in ('cat', 'kitty') for t in templates]
    each = F.normalize(clip.model.encode_text(clip.tokenizer(texts)).float(), dim=-1)
    assert torch.allclose(emb, F.normalize(each.mean(0), dim=0), atol=1e-5)


def test_missing_checkpoint_is_named(tiny_clip, tmp_path):
    with pytest.raises(ModelNotAvailableError, match='nothere.bin'):
        OpenCLIPBackbone(**dict(tiny_clip, pretrained=str(tmp_path / 'nothere.bin')))


def test_maskclip_scores_are_cosines(tiny_clip):
    model = MODELS.build(dict(type='MaskCLIP', clip=dict(type='OpenCLIPBackbone', **tiny_clip),
                              class_names=['cat', 'dog, puppy', 'sky'], templates=['a {}.']))
    x = torch.rand(1, 3, 40, 48) * 2 - 1
    [out] = model.predict(x)
    assert out.seg_logits.data.shape == (3, 40, 48) and out.seg_logits.data.abs().max() <= 1 + 1e-5
    with pytest.raises(ValueError, match='slot'):
        MODELS.build(dict(type='MaskCLIP', clip=dict(type='OpenCLIPBackbone', **tiny_clip), templates=['a cat']))


def test_maskclip_emerdiff_labels_whole_masks(tiny_sd, tiny_clip):
    model = MODELS.build(dict(type='MaskCLIPEmerDiff', clip=dict(type='OpenCLIPBackbone', **tiny_clip),
                              backbone=dict(type='StableDiffusionBackbone', model_id=tiny_sd, dtype='float32'),
                              class_names=['cat', 'dog', 'sky', 'road', 'tree'], num_masks=4, pixels=128 * 128))
    x = torch.rand(1, 3, 64, 96, generator=torch.Generator().manual_seed(0)) * 2 - 1
    with torch.no_grad():
        scores, _ = model.segment(x)
        [out] = model.predict(x)
    masks, labels = scores.argmax(0), out.pred_sem_seg.data[0]
    assert out.seg_logits.data.shape == (5, 64, 96) and model.num_classes == 5
    for k in masks.unique():
        assert labels[masks == k].unique().numel() == 1  # one class per EmerDiff mask


def test_normalisation_is_the_models_own_and_timm_towers_are_refused(tiny_clip):
    """Mean / std come from the model's preprocessing config (OpenAI's by default, overridable), not constants;
    an image tower that is not open_clip's VisionTransformer is refused by name."""
    import open_clip
    import torch.nn.functional as F
    default = OpenCLIPBackbone(**tiny_clip)
    assert torch.allclose(default.mean.flatten(), torch.tensor(open_clip.OPENAI_DATASET_MEAN))
    custom = OpenCLIPBackbone(**tiny_clip, preprocess_cfg=dict(mean=(0.5, 0.5, 0.5), std=(0.25, 0.25, 0.25)))
    assert custom.mean.flatten().tolist() == [0.5] * 3 and custom.std.flatten().tolist() == [0.25] * 3
    x = torch.rand(1, 3, 32, 32) * 2 - 1
    expected = F.normalize(custom.model.encode_image(((x + 1) / 2 - 0.5) / 0.25), dim=-1)
    assert torch.allclose(custom.image_embeddings(x), expected, atol=1e-5)
    with pytest.raises(ValueError, match="needs open_clip's own VisionTransformer .* not a ResNet"):
        OpenCLIPBackbone(model_name='RN50', pretrained=None)
