# EmerDiff, PASCAL-Context val, 459 classes, modified unsupervised protocol (paper Table 2: 25.1 mIoU).
_base_ = ['./_base_/models/emerdiff.py', './_base_/datasets/pascal_context_459.py', './_base_/protocols/emerdiff.py',
          './_base_/default_runtime.py']
test_dataloader = dict(dataset=dict(pipeline={{_base_.emerdiff_test_pipeline}}))
test_evaluator = dict(_delete_=True, type='MaskEmbeddingIoUMetric', protocol='modified', ignore_index=65535)
