# MaskCLIP (Zhou, Loy, Dai, ECCV 2022) on the open-vocabulary CLIP protocol, as ClearCLIP's released code runs it
# (model_type='MaskCLIP' with ignore_residual=True: out_proj(v), no residual, no MLP) with ClearCLIP's settings
# (logit scale 50, crops 448 / 224). keep_residual=True gives MaskCLIP's own last block.
_base_ = ['./open_vocab_clip.py']
model = dict(clip=dict(attention='value', keep_residual=False), logit_scale=50.0,
             test_cfg=dict(mode='slide', crop_size=(448, 448), stride=(224, 224)))
