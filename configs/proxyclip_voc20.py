# ProxyCLIP, PASCAL VOC 2012 val, 20 classes (background ignored).
# The open-vocabulary CLIP protocol (docs/methods/open_vocab_clip.md), as in ProxyCLIP's configs/cfg_*.py:
# short side 336.
_base_ = ['./_base_/models/proxyclip.py', './_base_/datasets/pascal_voc12_20.py',
          './_base_/protocols/open_vocab_clip.py', './_base_/default_runtime.py']
test_dataloader = dict(dataset=dict(pipeline={{_base_.short_side_336}}))
model = dict(
    class_names='mmseg_trainfree::_base_/classnames/clearclip/voc20.txt')
