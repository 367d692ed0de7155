# DiffSeg (Tian et al. 2023): SD v1.4 self-attention of the clean latent, KL merging from a 16 x 16 anchor grid.
_base_ = ['./stable_diffusion_v1.py']
model = dict(
    type='DiffSeg',
    backbone=dict(model_id='CompVis/stable-diffusion-v1-4'),
    image_size=(512, 512),
    timestep=300,  # in the time embedding only
    add_noise=False,  # the clean latent
    prompt='',
    num_points=16,  # anchors at 1, 5, ..., 61
    kl_threshold=[1.1, 1.1, 1.1],  # 3 merging iterations; 1.1 on COCO-Stuff, 0.9 on Cityscapes
    self_attn_layers='*attn1',
    test_cfg=dict(mode='whole'),
)
