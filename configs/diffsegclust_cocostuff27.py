# DiffSegClust (Method 3a), COCO-Stuff-27 (171 names predicted, scored as 27 classes), evaluated at 320 x 320
# (Le's report, Table 4: 38.7 mIoU).
_base_ = ['./_base_/models/diffsegclust.py', './_base_/langseg/cocostuff27.py', './_base_/default_runtime.py']
model = {{_base_.gem_fields}}
