"""The shared base segmentor: slide / whole inference, vocabulary, errors."""
import pytest
import torch
from conftest import maskdiffusion_cfg
from mmseg.structures import SegDataSample

from mmseg_trainfree.models.segmentors import TrainingFreeSegmentor
from mmseg_trainfree.models.utils import parse_class_names, read_class_name_file
from mmseg_trainfree.registry import MODELS


class PixelwiseSegmentor(TrainingFreeSegmentor):
    """Logits that depend on each pixel only: slide inference must then equal whole inference."""

    def encode_decode(self, inputs, batch_img_metas):
        w = torch.arange(1., 1 + 3 * self.num_classes).view(self.num_classes, 3)
        return torch.einsum('kc,bchw->bkhw', w, inputs).sin()


@pytest.mark.parametrize('size,crop,stride', [((37, 53), (16, 16), (8, 8)), ((64, 64), (32, 32), (32, 32)),
                                              ((10, 70), (16, 24), (11, 13)), ((20, 20), (32, 32), (16, 16))])
def test_slide_covers_every_pixel_and_matches_whole(size, crop, stride):
    model = PixelwiseSegmentor(class_names=['a', 'b', 'c'], test_cfg=dict(mode='slide', crop_size=crop, stride=stride))
    x = torch.randn(2, 3, *size)
    logits, count = model.slide_inference(x, [{}] * 2)
    assert (count > 0).all()
    torch.testing.assert_close(logits, model.encode_decode(x, [{}] * 2), rtol=1e-5, atol=1e-6)


def test_maskdiffusion_slide_equals_whole_when_crop_covers_image(tiny_sd):
    whole = MODELS.build(maskdiffusion_cfg(tiny_sd, image_size=None))
    slide = MODELS.build(maskdiffusion_cfg(tiny_sd, image_size=None,
                                           test_cfg=dict(mode='slide', crop_size=(128, 128), stride=(64, 64))))
    x = torch.rand(1, 3, 64, 96) * 2 - 1
    torch.testing.assert_close(slide.inference(x, [{}]), whole.inference(x, [{}]))


def test_predict_resizes_to_original_shape(tiny_sd):
    model = MODELS.build(maskdiffusion_cfg(tiny_sd))
    sample = SegDataSample(metainfo=dict(ori_shape=(30, 50), img_shape=(60, 100), padding_size=[0, 0, 0, 0]))
    [out] = model.predict(torch.rand(1, 3, 60, 100), [sample])
    assert out.pred_sem_seg.data.shape == (1, 30, 50)
    assert out.seg_logits.data.shape == (4, 30, 50)
    assert out.pred_sem_seg.data.max() < 4


def test_single_class_vocabulary(tiny_sd):
    model = MODELS.build(maskdiffusion_cfg(tiny_sd, class_names=['thing']))
    [out] = model.predict(torch.rand(1, 3, 32, 32))
    assert out.pred_sem_seg.data.unique().tolist() == [0] and out.seg_logits.data.shape[0] == 1


def test_training_is_a_clear_error(tiny_sd):
    model = MODELS.build(maskdiffusion_cfg(tiny_sd))
    with pytest.raises(RuntimeError, match='training-free'):
        model.loss(torch.rand(1, 3, 32, 32), [SegDataSample()])
    with pytest.raises(RuntimeError, match='training-free'):
        model(torch.rand(1, 3, 32, 32), [SegDataSample()], mode='loss')
    model.train()
    assert not model.training and not any(p.requires_grad for p in model.parameters())


def test_no_vocabulary_is_a_clear_error(tiny_sd):
    model = MODELS.build(maskdiffusion_cfg(tiny_sd, class_names=None))
    with pytest.raises(RuntimeError, match='no vocabulary'):
        model.predict(torch.rand(1, 3, 32, 32))


def test_empty_vocabulary_and_bad_class_files(tmp_path):
    with pytest.raises(ValueError, match='empty'):
        parse_class_names([])
    with pytest.raises(ValueError, match='empty'):
        parse_class_names(['cat', ' '])
    blank = tmp_path / 'blank.txt'
    blank.write_text('cat\n\ndog\n')
    with pytest.raises(ValueError, match=r'blank.txt:2'):
        read_class_name_file(str(blank))
    comma = tmp_path / 'comma.txt'
    comma.write_text('cat, \ndog\n')
    with pytest.raises(ValueError, match=r'comma.txt:1'):
        read_class_name_file(str(comma))
    empty = tmp_path / 'empty.txt'
    empty.write_text('\n')
    with pytest.raises(ValueError, match='no classes'):
        read_class_name_file(str(empty))
    with pytest.raises(FileNotFoundError, match='missing.txt'):
        read_class_name_file(str(tmp_path / 'missing.txt'))
    good = tmp_path / 'good.txt'
    good.write_text('person, person in shirt\ntv monitor\n')
    assert read_class_name_file(str(good)) == [['person', 'person in shirt'], ['tv monitor']]


def test_bad_test_cfg():
    with pytest.raises(ValueError, match='mode'):
        PixelwiseSegmentor(class_names=['a'], test_cfg=dict(mode='tiles'))
    with pytest.raises(ValueError, match='crop_size'):
        PixelwiseSegmentor(class_names=['a'], test_cfg=dict(mode='slide', stride=(8, 8)))
