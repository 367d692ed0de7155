# DiffSegmenter, PASCAL VOC 2012 val, 21 classes with background (paper Table 1: 60.1 mIoU).
_base_ = ['./_base_/models/diffsegmenter.py', './_base_/datasets/pascal_voc12.py', './_base_/default_runtime.py']
model = dict(class_names='mmseg_trainfree::_base_/classnames/voc21.txt', background_index=0,
             category_filter=dict(synonyms='mmseg_trainfree::_base_/classnames/synonyms/voc.txt'),
             class_tokens='first')  # the official VOC script reads the name's first token (index 4)
test_dataloader = dict(dataset=dict(pipeline={{_base_.diffsegmenter_test_pipeline}}))  # the model resizes once
