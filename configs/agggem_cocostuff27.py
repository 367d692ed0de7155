# AggGEM (Method 2), COCO-Stuff-27 (171 names predicted, scored as 27 classes), evaluated at 320 x 320 (paper
# 004 Table 4: 39.6 mIoU).
_base_ = ['./_base_/models/agggem.py', './_base_/langseg/cocostuff27.py', './_base_/default_runtime.py']
model = {{_base_.gem_fields}}
