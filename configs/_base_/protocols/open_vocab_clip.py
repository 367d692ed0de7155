# The test pipelines of the open-vocabulary CLIP protocol (SCLIP / ClearCLIP / NACLIP's released configs): the image
# resized so that its short side is 336, 448 or 560 (mmseg Resize scale=(2048, s), keep_ratio), the labels read at
# their original size after it; the logits are resized to the original image before scoring. A config uses
#     test_dataloader = dict(dataset=dict(pipeline={{_base_.short_side_336}}))
short_side_336 = [
    dict(type='LoadImage'),
    dict(type='Resize', scale=(2048, 336), keep_ratio=True),
    dict(type='LoadSegAnnotations'),
    dict(type='PackSegInputs'),
]
short_side_448 = [
    dict(type='LoadImage'),
    dict(type='Resize', scale=(2048, 448), keep_ratio=True),
    dict(type='LoadSegAnnotations'),
    dict(type='PackSegInputs'),
]
short_side_560 = [
    dict(type='LoadImage'),
    dict(type='Resize', scale=(2048, 560), keep_ratio=True),
    dict(type='LoadSegAnnotations'),
    dict(type='PackSegInputs'),
]
