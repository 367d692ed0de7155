# Unsupervised MaskDiffusion, Cityscapes val, 19 classes, DiffSeg protocol (paper Table 3: 28.5 mIoU).
_base_ = ['./_base_/models/maskdiffusion_unsup.py', './_base_/datasets/cityscapes.py',
          './_base_/protocols/eval_crops.py', './_base_/default_runtime.py']
test_dataloader = dict(dataset=dict(pipeline={{_base_.diffseg_test_pipeline}}))
test_evaluator = {{_base_.diffseg_evaluator}}
model = dict(num_clusters=10)  # our choice: Cityscapes scenes hold about 10 classes (Sec. 4.5)
