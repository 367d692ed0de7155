# PASCAL VOC 2012 train-aug (10,582 images), 21 classes: VOC train (1,464, SegmentationClass) + the SBD images
# that are not in VOC val (9,118, SegmentationClassAug, aug.txt), as mmseg's
# tools/dataset_converters/voc_aug.py writes them. The set weakly supervised methods write pseudo-labels for.
_base_ = ['./pascal_voc12.py']
test_dataloader = dict(dataset=dict(
    _delete_=True,
    type='ConcatDataset',
    datasets=[
        dict(type={{_base_.dataset_type}}, data_root={{_base_.data_root}},
             data_prefix=dict(img_path='JPEGImages', seg_map_path='SegmentationClass'),
             ann_file='ImageSets/Segmentation/train.txt', pipeline={{_base_.test_pipeline}}),
        dict(type={{_base_.dataset_type}}, data_root={{_base_.data_root}},
             data_prefix=dict(img_path='JPEGImages', seg_map_path='SegmentationClassAug'),
             ann_file='ImageSets/Segmentation/aug.txt', pipeline={{_base_.test_pipeline}}),
    ]))
