# SCLIP, PASCAL-Context val, 60 classes (background by threshold).
# The open-vocabulary CLIP protocol (docs/methods/open_vocab_clip.md), as in SCLIP's configs/cfg_*.py:
# short side 336; cfg_context60.py: logit_scale=50, prob_thd=0.1.
_base_ = ['./_base_/models/sclip.py', './_base_/datasets/pascal_context_60.py',
          './_base_/protocols/open_vocab_clip.py', './_base_/default_runtime.py']
test_dataloader = dict(dataset=dict(pipeline={{_base_.short_side_336}}))
model = dict(
    class_names='mmseg_trainfree::_base_/classnames/sclip/context60.txt',
    logit_scale=50.0,
    prob_thd=0.1)
