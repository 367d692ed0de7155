# GEM (Method 1 of Le's report): per-pixel argmax of CA_CLIP = softmax(z y^T / s). docs/methods/langseg.md
_base_ = ['./gem_clip.py']
model = dict(
    type='GEM',
    data_preprocessor=dict(type='SegDataPreProcessor', mean=[127.5, 127.5, 127.5], std=[127.5, 127.5, 127.5],
                           bgr_to_rgb=True, pad_val=0, seg_pad_val=255),  # RGB in [-1, 1]; CLIP normalises itself
    clip={{_base_.gem_clip}},
    class_names=None,
    templates=['a photo of a {}.'],  # GEM's template; the EOS embedding is the class embedding
    temperature=0.01,  # s; 0.1 for VOC (the dataset configs set it)
    background_index=None,
    background_offset=0.8,  # VOC: BG = 1 - max_c CA - 0.8
    background_clamp=True,  # BG floored at 0 as the report's code does (exp_utils.get_voc2012_probs)
    class_groups=None,  # COCO-Stuff: 171 names predicted, scored as 27 classes
    test_cfg=dict(mode='whole'),
)
