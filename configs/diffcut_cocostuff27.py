# DiffCut, COCO-Stuff-27, the curated 2,175 val2017 images (paper: 49.1 mIoU).
# Scored at 128 x 128 with per-image Hungarian matching (_base_/protocols/eval_crops.py).
_base_ = ['./_base_/models/diffcut.py', './_base_/datasets/coco_stuff27.py', './_base_/protocols/eval_crops.py',
          './_base_/default_runtime.py']
test_dataloader = dict(dataset=dict(pipeline={{_base_.diffcut_test_pipeline}}))
test_evaluator = {{_base_.diffcut_evaluator}}
