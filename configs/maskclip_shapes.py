# MaskCLIP on the built-in shapes benchmark (128 x 128) with the tiny CLIP trained here (assets/tiny-clip-shapes):
# the value path of the last block, every class prompted ("background" too) with EmerDiff's 7 templates.
_base_ = ['./_base_/models/maskclip.py', './_base_/models/tiny_clip_shapes.py', './_base_/datasets/shapes.py',
          './_base_/default_runtime.py']
model = dict(clip={{_base_.tiny_clip_backbone}})
