# DiffSegmenter, PASCAL-Context val with 60 classes, background by the threshold (paper Table 1: 27.5 mIoU).
# This is what the official evaluation scored (num_cls=60, background at index 0); the 59-class variant is
# diffsegmenter_pascal_context59_extra.py. Val: mmseg's 5,105 ids (the official list has 5,104).
_base_ = ['./_base_/models/diffsegmenter.py', './_base_/datasets/pascal_context_60.py',
          './_base_/default_runtime.py']
model = dict(class_names='mmseg_trainfree::_base_/classnames/pascal_context60.txt', background_index=0,
             prompt_template='a photography of {}',  # the official Context / COCO prefix
             category_filter=dict(synonyms='mmseg_trainfree::_base_/classnames/synonyms/pascal_context.txt'))
test_dataloader = dict(dataset=dict(pipeline={{_base_.diffsegmenter_test_pipeline}}))  # the model resizes once
