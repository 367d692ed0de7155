# AggSD (Le's report, weakly supervised): SD v1.5 cross-attention of the image's ground-truth class names in one
# prompt, refined by SD self-attention; [SOS]'s map is the background.
_base_ = ['./stable_diffusion_v1.py']
model = dict(
    type='AggSD',
    backbone=dict(model_id='stable-diffusion-v1-5/stable-diffusion-v1-5'),
    class_names=None,
    background_index=None,
    class_groups=None,
    prompt_prefix='a photo of',  # "a photo of {c1}, {c2}, ... and {cN}"
    image_size=(512, 512),
    timestep=100,
    add_noise=True,
    seed=0,
    self_attn_layers='*attn1',  # all 16 self-attention layers
    self_attn_weighting='per_layer',  # the report's code: each layer weighs its side (8 x 8: 8 / 568)
    cross_attn_layers='*attn2',
    test_cfg=dict(mode='whole'),
)
