# COCO-Stuff-27 on the curated 2,175-image val list of PiCIE / STEGO / DiffSeg
# (curated/val2017/Coco164kFull_Stuff_Coarse_7.txt: image ids, one a line). Labels: mmseg's
# *_labelTrainIds.png mapped to the 27 coarse classes on the fly (label_source='mmseg171').
_base_ = ['./coco_stuff164k.py']
dataset_type = 'COCOStuff27Dataset'
test_dataloader = dict(
    dataset=dict(type=dataset_type, label_source='mmseg171',
                 ann_file='curated/val2017/Coco164kFull_Stuff_Coarse_7.txt'))
