# DiffSegmenter weakly supervised, scored on VOC train (1,464 images): paper Table 2 and Table 4's full row,
# 70.5 mIoU. The Table 4 ablations inherit from this config.
_base_ = ['./_base_/models/diffsegmenter_voc_wsss.py', './_base_/datasets/pascal_voc12_train.py',
          './_base_/default_runtime.py']
