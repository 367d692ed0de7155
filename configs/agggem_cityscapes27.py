# AggGEM (Method 2), Cityscapes-27 val, evaluated at 320 x 320 (Le's report, Table 4: 7.5 mIoU).
_base_ = ['./_base_/models/agggem.py', './_base_/langseg/cityscapes27.py', './_base_/default_runtime.py']
model = {{_base_.gem_fields}}
