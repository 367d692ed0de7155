# EmerDiff, PASCAL-Context val, 59 classes, modified unsupervised protocol (paper Table 2: 45.7 mIoU).
_base_ = ['./_base_/models/emerdiff.py', './_base_/datasets/pascal_context_59.py', './_base_/protocols/emerdiff.py',
          './_base_/default_runtime.py']
test_dataloader = dict(dataset=dict(pipeline={{_base_.emerdiff_test_pipeline}}))
test_evaluator = {{_base_.modified_evaluator}}
