# ClearCLIP (Lan et al., ECCV 2024): the last block without residual and MLP, self-self attention softmax(q q^T)
# (model_type='ClearCLIP', ignore_residual=True in its base_config.py); logit scale 50, crops 448 / 224
# (clearclip_segmentor.py's defaults).
_base_ = ['./open_vocab_clip.py']
model = dict(clip=dict(attention='qq', keep_residual=False), logit_scale=50.0,
             test_cfg=dict(mode='slide', crop_size=(448, 448), stride=(224, 224)))
