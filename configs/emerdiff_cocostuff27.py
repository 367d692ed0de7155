# EmerDiff, COCO-Stuff-27, all of val2017, modified unsupervised protocol (paper Table 2: 45.8 mIoU).
_base_ = ['./_base_/models/emerdiff.py', './_base_/datasets/coco_stuff27_full.py', './_base_/protocols/emerdiff.py',
          './_base_/default_runtime.py']
test_dataloader = dict(dataset=dict(pipeline={{_base_.emerdiff_test_pipeline}}))
test_evaluator = {{_base_.modified_evaluator}}
