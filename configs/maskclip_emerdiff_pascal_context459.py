# MaskCLIP + EmerDiff, PASCAL-Context val, 459 classes, open vocabulary (EmerDiff paper Table 3: 6.54 mIoU).
_base_ = ['./_base_/models/maskclip_emerdiff.py', './_base_/datasets/pascal_context_459.py', './_base_/protocols/emerdiff.py',
          './_base_/default_runtime.py']
test_dataloader = dict(dataset=dict(pipeline={{_base_.emerdiff_test_pipeline}}))
model = dict(class_names='mmseg_trainfree::_base_/classnames/pascal_context459.txt')
