# ProxyCLIP, PASCAL VOC 2012 val, 21 classes (background by threshold).
# The open-vocabulary CLIP protocol (docs/methods/open_vocab_clip.md), as in ProxyCLIP's configs/cfg_*.py:
# short side 336; cfg_voc21.py: prob_thd=0.2.
_base_ = ['./_base_/models/proxyclip.py', './_base_/datasets/pascal_voc12.py',
          './_base_/protocols/open_vocab_clip.py', './_base_/default_runtime.py']
test_dataloader = dict(dataset=dict(pipeline={{_base_.short_side_336}}))
model = dict(
    class_names='mmseg_trainfree::_base_/classnames/proxyclip/voc21.txt',
    prob_thd=0.2)
