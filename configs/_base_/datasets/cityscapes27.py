# Cityscapes val, 27 classes: label ids 7..33 of *_gtFine_labelIds.png (the unsupervised benchmark).
_base_ = ['./cityscapes.py']
dataset_type = 'Cityscapes27Dataset'
test_dataloader = dict(dataset=dict(type=dataset_type))
