# COCO-Stuff-27 on the curated 2,175-image val list of PiCIE / STEGO / DiffSeg
# (curated/val2017/Coco164kFull_Stuff_Coarse_7.txt: image ids, one a line). Labels: mmseg's
# *_labelTrainIds.png mapped to the 27 coarse classes on the fly (label_source='mmseg171').
dataset_type = 'COCOStuff27Dataset'
data_root = 'data/coco_stuff164k'
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
        data_prefix=dict(img_path='images/val2017', seg_map_path='annotations/val2017'),
        ann_file='curated/val2017/Coco164kFull_Stuff_Coarse_7.txt',
        label_source='mmseg171',
        pipeline=test_pipeline))
test_evaluator = dict(type='IoUMetric', iou_metrics=['mIoU'])
