# DiffSeg, COCO-Stuff-27 curated val (2,175 images), centre square crop at 512, per-image Hungarian matching
# (DiffSeg paper: 43.6 mIoU; Le's report, Table 4 quotes it).
_base_ = ['./_base_/models/diffseg.py', './_base_/datasets/coco_stuff27.py', './_base_/protocols/eval_crops.py',
          './_base_/default_runtime.py']
test_dataloader = dict(dataset=dict(pipeline={{_base_.diffseg_test_pipeline}}))
test_evaluator = {{_base_.diffseg_evaluator}}
model = dict(kl_threshold=[1.1, 1.1, 1.1])
