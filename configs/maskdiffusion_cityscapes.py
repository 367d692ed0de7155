# MaskDiffusion, Cityscapes val, 19 classes (paper Table 2: 17.1 mIoU).
_base_ = ['./_base_/models/maskdiffusion.py', './_base_/datasets/cityscapes.py', './_base_/default_runtime.py']
model = dict(
    class_names='mmseg_trainfree::_base_/classnames/cityscapes.txt',
    image_size=None,  # 512 crops go in as they are
    # "images exceeding 512x512 are segmented into 512x512 patches" (Sec. 4.1): 2 x 4 tiles of 1024x2048
    test_cfg=dict(mode='slide', crop_size=(512, 512), stride=(512, 512)))
