# AggSD (Le's report, weakly supervised): SD v1.5 cross-attention of the image's ground-truth class names in one
# prompt, refined by SD self-attention; [SOS]'s map is the background. Defaults as the report's code (its
# methods/diffusion.py and diffusion_seg.get_agg_map), which made its Table 4; see docs/methods/langseg.md.
_base_ = ['./stable_diffusion_v1.py']
model = dict(
    type='AggSD',
    backbone=dict(model_id='stable-diffusion-v1-5/stable-diffusion-v1-5'),
    class_names=None,
    background_index=None,
    class_groups=None,
    prompt_prefix='A photo of',  # "A photo of {c1}, {c2}, and {cN}" (the code's get_txt_embeddings)
    separator=', ',
    last_separator=', and ',
    pad_prompts=False,  # the code encodes the prompt unpadded: no padding token takes cross-attention mass
    image_size=(512, 512),
    timestep=101,  # the code's AggSD runs (training_step's default); the report's text says t = 100
    add_noise=True,
    seed=0,
    self_attn_layers='*attn1',  # all 16 self-attention layers
    self_attn_weighting='per_layer',  # the report's code: each layer weighs its side (8 x 8: 8 / 568)
    input_resize='bicubic',  # to 512 x 512 as the report's code: torchvision Resize(BICUBIC), antialiased
    cross_attn_layers='*attn2',
    cross_attn_weighting='per_layer',  # each cross-attention layer weighs 1 / its side (the code)
    upsample_mode='bicubic',  # the code's upscale_attn: bicubic, antialiased
    normalization='spatial_sum',  # CA / spatial sum, SA^T row-normalised (random walk), min-max after (the code)
    test_cfg=dict(mode='whole'),
)
