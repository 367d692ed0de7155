# DiffCut, PASCAL-Context val, 59 classes + background (paper: 56.5 mIoU).
# Scored at 128 x 128 with per-image Hungarian matching and DiffCut's many-to-one background
# (_base_/protocols/eval_crops.py).
_base_ = ['./_base_/models/diffcut.py', './_base_/datasets/pascal_context_60.py', './_base_/protocols/eval_crops.py',
          './_base_/default_runtime.py']
test_dataloader = dict(dataset=dict(pipeline={{_base_.diffcut_test_pipeline}}))
test_evaluator = {{_base_.diffcut_background_evaluator}}
