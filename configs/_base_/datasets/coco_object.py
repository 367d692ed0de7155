# COCO-Object: val2017 (5,000 images), background + 80 things, no ignored pixels. Labels from
# tools/dataset_converters/coco_object.py (*_instanceTrainIds.png); label_source='stuffthingmaps' reads the
# COCO-Stuff release PNGs instead.
dataset_type = 'COCOObjectDataset'
data_root = 'data/coco_stuff164k'
test_pipeline = [
    dict(type='LoadImage'),
    dict(type='Resize', scale=(2048, 448), keep_ratio=True),
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
        data_prefix=dict(img_path='images/val2017', seg_map_path='annotations/val2017'),
        label_source='converted',
        pipeline=test_pipeline))
test_evaluator = dict(type='IoUMetric', iou_metrics=['mIoU'])
