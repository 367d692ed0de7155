# PASCAL-Context 459 (full label set): 16-bit .tif labels from
# tools/dataset_converters/pascal_context_459.py; 65535 is unlabelled (255 is a class here).
_base_ = ['./pascal_context_59.py']
dataset_type = 'PascalContext459Dataset'
test_dataloader = dict(
    dataset=dict(type=dataset_type, data_prefix=dict(seg_map_path='SegmentationClassContext459')))
test_evaluator = dict(ignore_index=65535)
