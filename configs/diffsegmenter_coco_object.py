# DiffSegmenter, COCO-Object on COCO 2014 val masks, 80 things + background, scored on the official 5,000-image
# validation list (paper Table 1: 37.9 mIoU). Write the list once from the official category-filter output
# (dataset/coco/predict_syn_txt_0.8_img_0.97.json of VCG-team/DiffSegmenter, whose keys are those images):
#   python tools/dataset_converters/coco2014_val5k.py predict_syn_txt_0.8_img_0.97.json -o data/coco2014/val_5k.txt
# diffsegmenter_coco_object2017_extra.py scores COCO-Object val2017 instead (not the paper's benchmark).
_base_ = ['./_base_/models/diffsegmenter.py', './_base_/datasets/coco2014.py', './_base_/default_runtime.py']
model = dict(class_names='mmseg_trainfree::_base_/classnames/coco_object.txt', background_index=0,
             prompt_template='a photography of {}',  # the official Context / COCO prefix
             category_filter=dict(synonyms='mmseg_trainfree::_base_/classnames/synonyms/coco_object.txt'))
test_dataloader = dict(dataset=dict(ann_file='val_5k.txt', pipeline={{_base_.diffsegmenter_test_pipeline}}))
