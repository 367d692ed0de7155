# MaskCLIP (Zhou et al. 2022), training-free, as EmerDiff re-evaluates it (Namekata et al., ICLR 2024, App. C).
_base_ = ['./open_clip_vit_b16.py']
model = dict(
    type='MaskCLIP',
    data_preprocessor=dict(type='SegDataPreProcessor', mean=[127.5, 127.5, 127.5], std=[127.5, 127.5, 127.5],
                           bgr_to_rgb=True, pad_val=0, seg_pad_val=255),  # RGB in [-1, 1]; CLIP normalises itself
    clip={{_base_.clip_backbone}},
    class_names=None,  # None: the dataset's classes; or a class-name file / list
    templates={{_base_.clip_templates}},
    test_cfg=dict(mode='whole'),
)
