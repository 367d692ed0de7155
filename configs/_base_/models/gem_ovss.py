# GEM (Bousselham et al., CVPR 2024) on the open-vocabulary CLIP protocol, as ClearCLIP's released code runs it
# (model_type='GEM' on OpenAI's ViT-B/16) with ClearCLIP's settings (logit scale 50, crops 448 / 224); GEM's own
# self-self path of the last 6 blocks (GEMBackbone), crops at their own size.
_base_ = ['./open_vocab_clip.py']
model = dict(
    clip=dict(_delete_=True, type='GEMBackbone', model_name='ViT-B-16-quickgelu', pretrained='openai',
              image_size=None, gem_depth=7, ss_attn_iter=1, ss_attn_temp=None, dtype='float32'),
    logit_scale=50.0,
    test_cfg=dict(mode='slide', crop_size=(448, 448), stride=(224, 224)))
