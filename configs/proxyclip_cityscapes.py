# ProxyCLIP, Cityscapes val, 19 classes.
# The open-vocabulary CLIP protocol (docs/methods/open_vocab_clip.md), as in ProxyCLIP's configs/cfg_*.py:
# short side 448; cfg_city_scapes.py: slide_crop=224, slide_stride=112.
_base_ = ['./_base_/models/proxyclip.py', './_base_/datasets/cityscapes.py',
          './_base_/protocols/open_vocab_clip.py', './_base_/default_runtime.py']
test_dataloader = dict(dataset=dict(pipeline={{_base_.short_side_448}}))
model = dict(
    class_names='mmseg_trainfree::_base_/classnames/sclip/cityscapes.txt',
    test_cfg=dict(mode='slide', crop_size=(224, 224), stride=(112, 112)))
