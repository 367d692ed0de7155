# GEM (Method 1), Cityscapes-27 val, evaluated at 320 x 320 (Le's report, Table 4: 10.4 mIoU).
_base_ = ['./_base_/models/gem.py', './_base_/langseg/cityscapes27.py', './_base_/default_runtime.py']
model = {{_base_.gem_fields}}
