# ProxyCLIP, ADE20K val, 150 classes.
# The open-vocabulary CLIP protocol (docs/methods/open_vocab_clip.md), as in ProxyCLIP's configs/cfg_*.py:
# short side 448.
_base_ = ['./_base_/models/proxyclip.py', './_base_/datasets/ade20k.py',
          './_base_/protocols/open_vocab_clip.py', './_base_/default_runtime.py']
test_dataloader = dict(dataset=dict(pipeline={{_base_.short_side_448}}))
model = dict(
    class_names='mmseg_trainfree::_base_/classnames/sclip/ade20k.txt')
