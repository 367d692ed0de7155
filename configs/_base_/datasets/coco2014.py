# COCO 2014 val object masks (weakly supervised segmentation, DiffSegmenter): 0 background,
# 1..80 things, 255 ignored.
dataset_type = 'COCO2014ObjectDataset'
data_root = 'data/coco2014'
test_pipeline = [
    dict(type='LoadImage'),
    dict(type='Resize', scale=(2048, 512), keep_ratio=True),
    dict(type='LoadSegAnnotations'),
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
        data_prefix=dict(img_path='images/val2014', seg_map_path='SegmentationClass/val2014'),
        pipeline=test_pipeline))
test_evaluator = dict(type='IoUMetric', iou_metrics=['mIoU'])
