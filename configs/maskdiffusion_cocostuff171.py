# MaskDiffusion, COCO-Stuff-164k val2017, 171 classes (paper Table 2: 5.5 mIoU).
# 171 names do not fit one 77-token prompt: they are split over prompts run as one batch.
_base_ = ['./_base_/models/maskdiffusion.py', './_base_/datasets/coco_stuff164k.py', './_base_/default_runtime.py']
model = dict(
    class_names='mmseg_trainfree::_base_/classnames/cocostuff171.txt',  # mmseg names with '-other' / '-stuff' dropped
    image_size=None,
    test_cfg=dict(mode='slide', crop_size=(512, 512), stride=(512, 512)))
