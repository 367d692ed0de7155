# COCO 2014 val object masks (weakly supervised segmentation, DiffSegmenter): 0 background,
# 1..80 things, 255 ignored.
_base_ = ['./coco_stuff164k.py']
dataset_type = 'COCO2014ObjectDataset'
data_root = 'data/coco2014'
test_dataloader = dict(
    dataset=dict(type=dataset_type, data_root=data_root,
                 data_prefix=dict(img_path='images/val2014', seg_map_path='SegmentationClass/val2014')))
