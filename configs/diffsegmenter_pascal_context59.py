# DiffSegmenter, PASCAL-Context val, 59 classes (paper Table 1: 27.5 mIoU).
_base_ = ['./_base_/models/diffsegmenter.py', './_base_/datasets/pascal_context_59.py',
          './_base_/default_runtime.py']
model = dict(class_names='mmseg_trainfree::_base_/classnames/pascal_context59.txt',
             prompt_template='a photography of {}')  # the official Context / COCO prefix
