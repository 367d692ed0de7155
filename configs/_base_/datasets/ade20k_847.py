# ADE20K-full, 847 classes, val (2,000 images): tools/dataset_converters/ade20k_847.py writes images
# (short side <= 512) and 16-bit .tif labels; 65535 is unlabelled.
dataset_type = 'ADE20K847Dataset'
data_root = 'data/ade20k_847'
test_pipeline = [
    dict(type='LoadImage'),
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
        data_prefix=dict(img_path='images/validation', seg_map_path='annotations/validation'),
        pipeline=test_pipeline))
test_evaluator = dict(type='IoUMetric', iou_metrics=['mIoU'], ignore_index=65535)
