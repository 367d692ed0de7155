# NACLIP on the built-in shapes benchmark (128 x 128) with the tiny CLIP trained here (assets/tiny-clip-shapes):
# the method's last block and scoring, every class prompted ("background" too), whole images (the tiny CLIP's
# 8 x 8 patch grid is one 128 x 128 crop); the dataset's class names.
_base_ = ['./_base_/models/naclip.py', './_base_/models/tiny_clip_shapes.py', './_base_/datasets/shapes.py',
          './_base_/default_runtime.py']
model = dict(clip={{_base_.tiny_clip_fields}}, test_cfg=dict(_delete_=True, mode='whole'))
