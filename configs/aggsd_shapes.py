# AggSD (weakly supervised: each image's ground-truth class names) on the built-in shapes benchmark with
# the tiny Stable Diffusion trained here (assets/tiny-sd-shapes); [SOS]'s map is the background.
_base_ = ['./_base_/models/aggsd.py', './_base_/datasets/shapes.py', './_base_/default_runtime.py']
model = dict(backbone=dict(model_id='assets/tiny-sd-shapes', dtype='float32'), image_size=(128, 128),
             background_index=0)
