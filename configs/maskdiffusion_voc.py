# MaskDiffusion, PASCAL VOC 2012 val, 20 classes (paper Table 2: 29.9 mIoU).
_base_ = ['./_base_/models/maskdiffusion.py', './_base_/datasets/pascal_voc12_20.py', './_base_/default_runtime.py']
model = dict(
    class_names='mmseg_trainfree::_base_/classnames/voc20.txt',  # prompt names (synonyms averaged), in dataset order
    image_size=(512, 512),  # VOC images are <= 500 px: the whole image, resized to 512x512
    test_cfg=dict(mode='whole'))
