# MaskDiffusion, COCO-Stuff-164k val2017, 171 classes (paper Table 2: 5.5 mIoU).
# 171 names do not fit one 77-token prompt: they are split over prompts run as one batch.
_base_ = ['./_base_/models/maskdiffusion.py', './_base_/datasets/coco_stuff164k.py', './_base_/default_runtime.py']
model = dict(
    class_names='mmseg_trainfree::_base_/classnames/cocostuff171.txt',  # mmseg names with '-other' / '-stuff' dropped
    image_size=None,
    test_cfg=dict(mode='slide', crop_size=(512, 512), stride=(512, 512)))
# "Images exceeding 512x512 are segmented into 512x512 patches" (Sec. 4.1): the original image, not mmseg's
# Resize(2048, 512), which would upscale a 640 x 480 image to 683 x 512 first. mmseg's slide window is clipped to
# the image (a 640 x 480 image: two 480 x 512 windows), each rounded up to a multiple of 64 for the UNet.
test_dataloader = dict(dataset=dict(pipeline=[
    dict(type='LoadImage'),
    dict(type='LoadSegAnnotations'),
    dict(type='PackSegInputs'),
]))
