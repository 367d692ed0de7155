# COCO-Object: val2017 (5,000 images), background + 80 things, no ignored pixels. Labels from
# tools/dataset_converters/coco_object.py (*_instanceTrainIds.png); label_source='stuffthingmaps' reads the
# COCO-Stuff release PNGs and 'mmseg171' mmseg's *_labelTrainIds.png instead.
_base_ = ['./coco_stuff164k.py']
dataset_type = 'COCOObjectDataset'
test_dataloader = dict(dataset=dict(type=dataset_type, label_source='converted'))
