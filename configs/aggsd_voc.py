# AggSD (weakly supervised: ground-truth class names), PASCAL VOC 2012 val, 21 classes, evaluated at 320 x 320
# (Le's report, Table 4: 58.3 mIoU).
_base_ = ['./_base_/models/aggsd.py', './_base_/langseg/voc.py', './_base_/default_runtime.py']
model = {{_base_.aggsd_fields}}
