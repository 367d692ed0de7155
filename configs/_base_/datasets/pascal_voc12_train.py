# PASCAL VOC 2012 train (1,464 images), 21 classes: where weakly supervised papers score their pseudo-labels
# (DiffSegmenter Table 2 / 4, "VOC train").
_base_ = ['./pascal_voc12.py']
test_dataloader = dict(dataset=dict(ann_file='ImageSets/Segmentation/train.txt'))
