# NACLIP (Hajimiri, Ben Ayed, Dolz, WACV 2025): the "reduced" last block (no residual, no MLP) with neighbourhood
# attention softmax(k k^T + omega), omega a Gaussian of std 5 patches (arch='reduced', attn_strategy='naclip',
# gaussian_std=5 in naclip.py); logit scale 40, crops 224 / 112; PAMR 10 steps, dilations (8, 16) (its README's
# main results run with --pamr on).
_base_ = ['./open_vocab_clip.py']
model = dict(clip=dict(attention='neighbourhood', keep_residual=False, gaussian_std=5.0), logit_scale=40.0,
             pamr_steps=10, pamr_dilations=(8, 16),
             test_cfg=dict(mode='slide', crop_size=(224, 224), stride=(112, 112)))
