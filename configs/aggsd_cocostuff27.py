# AggSD (weakly supervised: ground-truth class names), COCO-Stuff-27 (171 names predicted, scored as 27
# classes), evaluated at 320 x 320 (Le's report, Table 4: 36.4 mIoU).
_base_ = ['./_base_/models/aggsd.py', './_base_/langseg/cocostuff27.py', './_base_/default_runtime.py']
model = {{_base_.aggsd_fields}}
