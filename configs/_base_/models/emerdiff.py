# EmerDiff (Namekata et al., ICLR 2024, Sec. 3, 4.1, App. A-D). Every field is documented in docs/methods/emerdiff.md.
_base_ = ['./stable_diffusion_v1.py']
model = dict(
    type='EmerDiff',
    backbone=dict(model_id='CompVis/stable-diffusion-v1-4', scheduler='DDPMScheduler'),
    prompt='',  # "an empty string in our experiments"
    num_masks=30,  # K, Sec. 4.3 ("30 segmentation masks per image")
    pixels=512 * 512,  # App. A: about 512^2 pixels at the original aspect ratio, sides rounded up to 64
    num_inference_steps=50,  # DDPM, 50 steps; timesteps out of T=1000 (981, 961, ..., 1)
    feature_layer='up_blocks.1.attentions.0.transformer_blocks.0.attn2',  # first 16x16 up cross-attention
    feature_timestep=1,  # t_f
    embedding_layer='up_blocks.1.attentions.0.transformer_blocks.0.attn2',  # App. B mask embeddings
    embedding_timestep=201,  # App. B says t=200; 201 is the grid step, recorded during the inversion
    modulated_layer='up_blocks.1.attentions.2.transformer_blocks.0.attn2',  # third 16x16 up cross-attention
    modulation_timestep=281,  # t_m
    modulation_strength=10.0,  # lambda
    modulation_position='after_proj',  # f(sigma V) + cM; 'before_proj' is f(sigma V + cM) (App. D)
    attention_injection=True,  # every self/cross-attention uses the unmodulated run's maps (Table 9)
    injection_layers=['*'],
    gaussian_sigma=4.0,  # the paper does not give it: half a latent cell (8 px) of SD's VAE
    mode='emerdiff',  # 'naive_upsample': Table 2's SD row
    max_batch=16,  # UNet rows per call: the reference row + 15 branches; lower it to fit memory
    kmeans_iters=100,
    seed=0,
    zero_last_noise=False,  # True: the official inversion code's zeroed last noise map
    test_cfg=dict(mode='whole'),
)
