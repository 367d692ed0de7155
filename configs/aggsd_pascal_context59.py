# AggSD (weakly supervised: ground-truth class names), PASCAL-Context val, 59 classes, evaluated at 320 x 320
# (Le's report, Table 4: 45.1 mIoU).
_base_ = ['./_base_/models/aggsd.py', './_base_/langseg/pascal_context59.py', './_base_/default_runtime.py']
model = {{_base_.aggsd_fields}}
