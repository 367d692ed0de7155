# DiffCut, COCO-Object (80 things + background) on the curated 2,175 val2017 images (paper: 34.1 mIoU).
# Scored at 128 x 128 with per-image Hungarian matching and DiffCut's many-to-one background
# (_base_/protocols/eval_crops.py).
# The curated list, as eval_diffcut.py reads it for COCO-Object too.
_base_ = ['./_base_/models/diffcut.py', './_base_/datasets/coco_object.py', './_base_/protocols/eval_crops.py',
          './_base_/default_runtime.py']
test_dataloader = dict(dataset=dict(pipeline={{_base_.diffcut_test_pipeline}},
                                    ann_file='curated/val2017/Coco164kFull_Stuff_Coarse_7.txt'))
test_evaluator = {{_base_.diffcut_background_evaluator}}
