# MaskCLIP + EmerDiff, COCO-Stuff-164k val, 171 classes, open vocabulary (EmerDiff paper Table 3: 20.7 mIoU).
_base_ = ['./_base_/models/maskclip_emerdiff.py', './_base_/datasets/coco_stuff164k.py', './_base_/protocols/emerdiff.py',
          './_base_/default_runtime.py']
test_dataloader = dict(dataset=dict(pipeline={{_base_.emerdiff_test_pipeline}}))
model = dict(class_names='mmseg_trainfree::_base_/classnames/cocostuff171.txt')
