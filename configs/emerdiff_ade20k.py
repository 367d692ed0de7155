# EmerDiff, ADE20K val, 150 classes, modified unsupervised protocol (paper Table 2: 33.1 mIoU).
_base_ = ['./_base_/models/emerdiff.py', './_base_/datasets/ade20k.py', './_base_/protocols/emerdiff.py',
          './_base_/default_runtime.py']
test_dataloader = dict(dataset=dict(pipeline={{_base_.emerdiff_test_pipeline}}))
test_evaluator = {{_base_.modified_evaluator}}
