# DiffSegClust (Method 3a) of Le's report on the built-in shapes benchmark (128 x 128, a 16 x 16 latent) with
# the tiny SD and CLIP trained here (assets/tiny-sd-shapes, assets/tiny-clip-shapes).
_base_ = ['./_base_/models/diffsegclust.py', './_base_/langseg/shapes.py', './_base_/datasets/shapes.py',
          './_base_/default_runtime.py']
model = {{_base_.shapes_fields}}
