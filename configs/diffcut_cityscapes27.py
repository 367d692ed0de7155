# DiffCut, Cityscapes-27 val (500 images) (paper: 30.6 mIoU).
# Scored at 128 x 128 with per-image Hungarian matching (_base_/protocols/eval_crops.py).
_base_ = ['./_base_/models/diffcut.py', './_base_/datasets/cityscapes27.py', './_base_/protocols/eval_crops.py',
          './_base_/default_runtime.py']
test_dataloader = dict(dataset=dict(pipeline={{_base_.diffcut_test_pipeline}}))
test_evaluator = {{_base_.diffcut_evaluator}}
