# DiffCut (Couairon et al., NeurIPS 2024): SSD-1B (the SDXL topology), the image resized to 1024 x 1024, one UNet
# pass at t = 50 (fixed noise, the empty prompt, no guidance), the output of the encoder's last self-attention
# (down_blocks.2.attentions.1, its last transformer block: 32 x 32 tokens), recursive Ncut (alpha 10, tau 0.5),
# concept assignment at 128 x 128, PAMR (10 steps, dilations 1, 2, 4, 8) and a 3 x 3 median filter
# (eval_diffcut.py --tau 0.5 --alpha 10 --refinement; tools/ldm.py; diffcut/recursive_normalized_cut.py).
_base_ = ['./stable_diffusion_v1.py']
model = dict(
    type='DiffCut',
    backbone=dict(type='StableDiffusionXLBackbone', model_id='segmind/SSD-1B'),
    feature_layer=None,  # None: the UNet encoder's last self-attention (attn1), found by name
    image_size=(1024, 1024),  # resized bilinearly, aspect not kept
    timestep=50,
    add_noise=True,
    seed=42,  # the official draw is a CUDA generator seeded 42; ours is a CPU generator (same seed, other noise)
    prompt='',
    tau=0.5,
    alpha=10.0,
    num_thresholds=100,
    mask_size=(128, 128),
    refinement=True,
    pamr_steps=10,
    pamr_dilations=(1, 2, 4, 8),
    median_filter=3,
    test_cfg=dict(mode='whole'),
)
