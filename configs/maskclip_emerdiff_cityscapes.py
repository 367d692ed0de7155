# MaskCLIP + EmerDiff, Cityscapes val, 19 classes, open vocabulary (EmerDiff paper Table 3: 26.5 mIoU).
_base_ = ['./_base_/models/maskclip_emerdiff.py', './_base_/datasets/cityscapes.py', './_base_/protocols/emerdiff.py',
          './_base_/default_runtime.py']
test_dataloader = dict(dataset=dict(pipeline={{_base_.emerdiff_test_pipeline}}))
model = dict(class_names='mmseg_trainfree::_base_/classnames/cityscapes.txt')
