# COCO-Stuff-27 on all of val2017 (5,000 images); see coco_stuff27.py for the curated list.
_base_ = ['./coco_stuff27.py']
test_dataloader = dict(dataset=dict(ann_file=''))
