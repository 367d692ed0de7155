# NACLIP, Cityscapes val, 19 classes.
# The open-vocabulary CLIP protocol (docs/methods/open_vocab_clip.md), as in NACLIP's configs/cfg_*.py:
# short side 560.
_base_ = ['./_base_/models/naclip.py', './_base_/datasets/cityscapes.py',
          './_base_/protocols/open_vocab_clip.py', './_base_/default_runtime.py']
test_dataloader = dict(dataset=dict(pipeline={{_base_.short_side_560}}))
model = dict(
    class_names='mmseg_trainfree::_base_/classnames/sclip/cityscapes.txt')
