# Unsupervised MaskDiffusion, Cityscapes val, 27 classes, DiffSeg protocol (paper Table 3: 25.3 mIoU).
_base_ = ['./_base_/models/maskdiffusion_unsup.py', './_base_/datasets/cityscapes27.py',
          './_base_/protocols/eval_crops.py', './_base_/default_runtime.py']
test_dataloader = dict(dataset=dict(pipeline={{_base_.diffseg_test_pipeline}}))
test_evaluator = {{_base_.diffseg_evaluator}}
model = dict(num_clusters=10)  # our choice, as for 19 classes
