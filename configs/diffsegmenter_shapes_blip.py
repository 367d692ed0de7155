# DiffSegmenter end to end on the built-in shapes benchmark: configs/diffsegmenter_shapes.py's choices plus the tiny
# BLIP captioner (assets/tiny-blip-shapes: BLIP-augmented prompts and the caption half of the filter) and the tiny
# CLIP (assets/tiny-clip-shapes: the filter's image-text half and its caption-text similarity), both trained here.
# The filter's settings are the paper configs' (configs/_base_/models/diffsegmenter.py); no synonym file: the
# captions' "ball", "circle" and "box" reach disc and square through CLIP's text similarity alone.
_base_ = ['./diffsegmenter_shapes.py', './_base_/models/tiny_clip_shapes.py']
model = dict(
    captioner=dict(_delete_=True, type='BlipCaptioner', model_id='assets/tiny-blip-shapes', dtype='float32',
                   max_new_tokens=20, num_beams=1, batch_size=16),
    augment_prompts=True,
    category_filter=dict(_delete_=True, type='CategoryFilter', use_caption=True,
                         clip={{_base_.tiny_clip_backbone}}, use_image_similarity=True, templates=['a photo of a {}.'],
                         clip_rule='top_p', clip_threshold=0.97, caption_match='similarity', text_threshold=0.8,
                         synonyms=None, empty='background'))
