# AggGEM (Method 2), PASCAL VOC 2012 val, 21 classes, evaluated at 320 x 320 (Le's report, Table 4: 56.7 mIoU).
_base_ = ['./_base_/models/agggem.py', './_base_/langseg/voc.py', './_base_/default_runtime.py']
model = {{_base_.gem_fields}}
