# ProxyCLIP (Lan et al., ECCV 2024): CLIP's last block attends with a proxy attention from a frozen vision foundation
# model over CLIP's values upsampled to that model's grid, no residual, no MLP (open_clip/transformer.py
# custom_attn); beta 1.2, gamma 3.0, DINO ViT-B/8 (vfm_model='dino', dino_vitb8), logit scale 40, crops 336 / 112,
# crops zero-padded to multiples of 56 (proxyclip_segmentor.py's defaults).
_base_ = ['./open_vocab_clip.py']
model = dict(
    type='ProxyCLIP',
    clip=dict(attention='proxy', keep_residual=False, proxy_beta=1.2, proxy_gamma=3.0),
    vfm=dict(type='TimmViTBackbone', model_name='vit_base_patch8_224.dino',  # DINO ViT-B/8 through timm
             checkpoint=None,  # None: the tag's weights from the hub; or a local weights file
             dtype='float32'),  # ProxyCLIP runs both models in fp16 on GPU
    pad_multiple=56,
    logit_scale=40.0,
    test_cfg=dict(mode='slide', crop_size=(336, 336), stride=(112, 112)))
