# DiffSeg, Cityscapes-27 val (500 images), centre square crop at 512, per-image Hungarian matching
# (DiffSeg paper: 21.2 mIoU).
_base_ = ['./_base_/models/diffseg.py', './_base_/datasets/cityscapes27.py', './_base_/protocols/eval_crops.py',
          './_base_/default_runtime.py']
test_dataloader = dict(dataset=dict(pipeline={{_base_.diffseg_test_pipeline}}))
test_evaluator = {{_base_.diffseg_evaluator}}
model = dict(kl_threshold=[0.9, 0.9, 0.9])
