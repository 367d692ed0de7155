# DiffSegmenter, COCO-Object val2017 (5,000 images), 80 things + background. Not the paper's benchmark: Table 1's
# 37.9 is on COCO 2014 masks (diffsegmenter_coco_object.py); this is the val2017 split the CLIP-based
# open-vocabulary methods report on.
_base_ = ['./_base_/models/diffsegmenter.py', './_base_/datasets/coco_object.py', './_base_/default_runtime.py']
model = dict(class_names='mmseg_trainfree::_base_/classnames/coco_object.txt', background_index=0,
             prompt_template='a photography of {}',  # the official Context / COCO prefix
             category_filter=dict(synonyms='mmseg_trainfree::_base_/classnames/synonyms/coco_object.txt'))
test_dataloader = dict(dataset=dict(pipeline={{_base_.diffsegmenter_test_pipeline}}))  # the model resizes once
