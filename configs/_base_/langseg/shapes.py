# Le's report's methods on the built-in shapes benchmark (128 x 128) with the tiny models trained here: SD
# (assets/tiny-sd-shapes) for the self-attention, the tiny CLIP (assets/tiny-clip-shapes) for GEM's CA_CLIP.
# "background" is prompted like the other classes (see configs/gem_shapes.py). Used as
# model = {{_base_.shapes_fields}} by AggGEM / DiffSegClust / SpecClust.
_base_ = ['../models/tiny_clip_shapes.py']
shapes_fields = dict(backbone=dict(model_id='assets/tiny-sd-shapes', dtype='float32'),
                     clip={{_base_.tiny_gem_clip}}, image_size=(128, 128), temperature=0.1, background_index=None)
