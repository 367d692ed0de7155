# MaskCLIP + EmerDiff, ADE20K val, 150 classes, open vocabulary (EmerDiff paper Table 3: 15.9 mIoU).
_base_ = ['./_base_/models/maskclip_emerdiff.py', './_base_/datasets/ade20k.py', './_base_/protocols/emerdiff.py',
          './_base_/default_runtime.py']
test_dataloader = dict(dataset=dict(pipeline={{_base_.emerdiff_test_pipeline}}))
model = dict(class_names=None)  # the dataset's class names
