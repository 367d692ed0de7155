# ADE20K-full, 847 classes, val (2,000 images): tools/dataset_converters/ade20k_847.py writes images
# (short side <= 512) and 16-bit .tif labels; 65535 is unlabelled (255 is a class here).
_base_ = ['./ade20k.py']
dataset_type = 'ADE20K847Dataset'
data_root = 'data/ade20k_847'
test_dataloader = dict(dataset=dict(type=dataset_type, data_root=data_root))
test_evaluator = dict(ignore_index=65535)
