# DiffSegmenter, COCO-Object val2017, 80 things + background (paper Table 1: 37.9 mIoU).
_base_ = ['./_base_/models/diffsegmenter.py', './_base_/datasets/coco_object.py', './_base_/default_runtime.py']
model = dict(class_names='mmseg_trainfree::_base_/classnames/coco_object.txt', background_index=0,
             prompt_template='a photography of {}')  # the official Context / COCO prefix
