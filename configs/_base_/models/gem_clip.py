# GEM's CLIP (Le's report / GEM): MetaCLIP-400m ViT-B/16 through open_clip, 448 x 448, self-self attention in the
# last 6 blocks. Used as {{_base_.gem_clip}}.
gem_clip = dict(
    type='GEMBackbone',
    model_name='ViT-B-16-quickgelu',  # MetaCLIP-400m's ViT-B/16 uses QuickGELU
    pretrained='metaclip_400m',  # or a local open_clip checkpoint file
    image_size=(448, 448),  # resized, aspect not kept; positional embedding interpolated
    gem_depth=7,  # GEM's default: the last 6 blocks get the self-self attention path
    ss_attn_iter=1,
    ss_attn_temp=None,  # None: GEM's adaptive temperature
    dtype='float32')
