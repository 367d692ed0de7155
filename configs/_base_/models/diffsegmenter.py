# DiffSegmenter (paper 003, Sec. 3; official code facts in shared REFERENCES). Documented in
# docs/methods/diffsegmenter.md. BLIP-augmented prompts and category filtering are not implemented yet.
_base_ = ['./stable_diffusion_v1.py']
model = dict(
    type='DiffSegmenter',
    backbone=dict(model_id='stable-diffusion-v1-5/stable-diffusion-v1-5'),
    class_names=None,
    image_size=(512, 512),  # resized to 512x512, aspect not kept (official code)
    timestep=100,  # one noised pass at t=100, one noise draw per image shared by its classes
    add_noise=True,
    seed=0,
    prompt_template='a photograph of {}',  # official VOC prefix; "a photography of {}" for Context / COCO
    class_weight=1.21,  # "class++": compel's ++ = 1.1^2 on the class tokens
    cross_attn_layers=['*attn2'],  # all cross-attention layers, grouped by resolution (8, 16, 32, 64)
    fusion_weights=[0.3, 0.5, 0.1, 0.1],  # Sec. 4.3, for 8x8, 16x16, 32x32, 64x64
    self_attn_layers=['down_blocks.0.attentions.*.attn1', 'up_blocks.3.attentions.*.attn1'],  # 64x64
    background_index=None,
    background_score=0.5,  # not tuned on any evaluation split (the official value was swept on val)
    max_batch=8,  # class prompts per UNet call
    test_cfg=dict(mode='whole'),
)
