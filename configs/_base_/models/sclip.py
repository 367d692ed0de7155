# SCLIP (Wang, Mei, Yuille, ECCV 2024): correlative self-attention softmax(q q^T) + softmax(k k^T) in CLIP's last
# block, residual and MLP kept (SCLIP's clip/model.py, encode_image(csa=True)); logit scale 40, crops 224 / 112
# (clip_segmentor.py's defaults); no PAMR (pamr_steps=0 in its configs).
_base_ = ['./open_vocab_clip.py']
model = dict(clip=dict(attention='csa', keep_residual=True), logit_scale=40.0,
             test_cfg=dict(mode='slide', crop_size=(224, 224), stride=(112, 112)))
