# AggSD (weakly supervised: ground-truth class names), Cityscapes-27 val, evaluated at 320 x 320 (Le's report
# Table 4: 11.2 mIoU).
_base_ = ['./_base_/models/aggsd.py', './_base_/langseg/cityscapes27.py', './_base_/default_runtime.py']
model = {{_base_.aggsd_fields}}
