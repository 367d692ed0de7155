# PASCAL VOC 2012 val without background (20 classes): mmseg's VOC dataset whose metainfo
# keeps the 20 object classes, so background pixels map to 255 and are ignored. Images keep their size
# (<= 500 px); methods resize them. Prompt names: configs/_base_/classnames/voc20.txt.
dataset_type = 'PascalVOCDataset'
data_root = 'data/VOCdevkit/VOC2012'
test_pipeline = [
    dict(type='LoadImage'),
    dict(type='LoadAnnotations'),
    dict(type='PackSegInputs'),
]
test_dataloader = dict(
    batch_size=1,
    num_workers=2,
    persistent_workers=True,
    sampler=dict(type='DefaultSampler', shuffle=False),
    dataset=dict(
        type=dataset_type,
        data_root=data_root,
        data_prefix=dict(img_path='JPEGImages', seg_map_path='SegmentationClass'),
        ann_file='ImageSets/Segmentation/val.txt',
        metainfo=dict(classes=('aeroplane', 'bicycle', 'bird', 'boat', 'bottle', 'bus', 'car', 'cat', 'chair',
                               'cow', 'diningtable', 'dog', 'horse', 'motorbike', 'person', 'pottedplant',
                               'sheep', 'sofa', 'train', 'tvmonitor')),
        pipeline=test_pipeline))
test_evaluator = dict(type='IoUMetric', iou_metrics=['mIoU'])
