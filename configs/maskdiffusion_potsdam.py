# MaskDiffusion, ISPRS Potsdam, 6 classes (paper Table 2: 21.2 mIoU).
_base_ = ['./_base_/models/maskdiffusion.py', './_base_/datasets/potsdam.py', './_base_/default_runtime.py']
model = dict(
    class_names='mmseg_trainfree::_base_/classnames/potsdam.txt',  # the paper does not give its prompts: ours
    image_size=(512, 512),  # mmseg's Potsdam patches are 512x512
    test_cfg=dict(mode='whole'))
