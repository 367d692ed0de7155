# Unsupervised MaskDiffusion, COCO-Stuff-27 curated val (2,175 images), DiffSeg protocol (paper Table 3: 58.4
# mIoU).
_base_ = ['./_base_/models/maskdiffusion_unsup.py', './_base_/datasets/coco_stuff27.py',
          './_base_/protocols/eval_crops.py', './_base_/default_runtime.py']
test_dataloader = dict(dataset=dict(pipeline={{_base_.diffseg_test_pipeline}}))
test_evaluator = {{_base_.diffseg_evaluator}}
model = dict(num_clusters=6)  # our choice: curated images hold few coarse classes (>= 75% stuff pixels)
