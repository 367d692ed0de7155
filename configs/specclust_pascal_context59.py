# SpecClust (Method 3b), PASCAL-Context val, 59 classes, evaluated at 320 x 320 (Le's report, Table 4: 38.3
# mIoU).
_base_ = ['./_base_/models/specclust.py', './_base_/langseg/pascal_context59.py', './_base_/default_runtime.py']
model = {{_base_.gem_fields}}
