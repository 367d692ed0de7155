# SpecClust (Method 3b), COCO-Stuff-27 (171 names predicted, scored as 27 classes), evaluated at 320 x 320
# (Le's report, Table 4: 39.3 mIoU).
_base_ = ['./_base_/models/specclust.py', './_base_/langseg/cocostuff27.py', './_base_/default_runtime.py']
model = {{_base_.gem_fields}}
