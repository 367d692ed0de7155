# ProxyCLIP, COCO-Object val2017, 80 things + background (by threshold).
# The open-vocabulary CLIP protocol (docs/methods/open_vocab_clip.md), as in ProxyCLIP's configs/cfg_*.py:
# short side 336; cfg_coco_object.py: prob_thd=0.25.
_base_ = ['./_base_/models/proxyclip.py', './_base_/datasets/coco_object.py',
          './_base_/protocols/open_vocab_clip.py', './_base_/default_runtime.py']
test_dataloader = dict(dataset=dict(pipeline={{_base_.short_side_336}}))
model = dict(
    class_names='mmseg_trainfree::_base_/classnames/proxyclip/coco_object.txt',
    prob_thd=0.25)
