# ProxyCLIP, PASCAL-Context val, 60 classes (background by threshold).
# The open-vocabulary CLIP protocol (docs/methods/open_vocab_clip.md), as in ProxyCLIP's configs/cfg_*.py:
# short side 336; cfg_context60.py: prob_thd=0.15.
_base_ = ['./_base_/models/proxyclip.py', './_base_/datasets/pascal_context_60.py',
          './_base_/protocols/open_vocab_clip.py', './_base_/default_runtime.py']
test_dataloader = dict(dataset=dict(pipeline={{_base_.short_side_336}}))
model = dict(
    class_names='mmseg_trainfree::_base_/classnames/sclip/context60.txt',
    prob_thd=0.15)
