# AggGEM (Method 2 of Le's report): AGG = SA^T x CA_CLIP, SA from SD v1.5 (DiffSeg's aggregation) at t = 100.
_base_ = ['./stable_diffusion_v1.py', './gem_clip.py']
model = dict(
    type='AggGEM',
    backbone=dict(model_id='stable-diffusion-v1-5/stable-diffusion-v1-5'),
    clip={{_base_.gem_clip}},
    class_names=None,
    templates=['a photo of a {}.'],
    temperature=0.01,
    background_index=None,
    background_offset=0.8,
    background_clamp=True,  # BG floored at 0 as the report's code does (exp_utils.get_voc2012_probs)
    class_groups=None,
    image_size=(512, 512),  # SD's native resolution
    timestep=100,  # noised to t = 100 (report Sec. 3.3)
    add_noise=True,
    seed=0,
    prompt='',  # SD's condition when only its self-attention is used: our choice, the report does not say
    self_attn_layers='*attn1',  # all 16 self-attention layers
    self_attn_weighting='per_layer',  # the report's code: each layer weighs its side (8 x 8: 8 / 568)
    input_resize='bicubic',  # to 512 x 512 as the report's code: torchvision Resize(BICUBIC), antialiased
    test_cfg=dict(mode='whole'),
)
