# The demo: MaskDiffusion on the built-in shapes dataset with a tiny random Stable Diffusion, offline.
# `python tools/prepare_demo.py` writes both; the numbers it prints exercise the pipeline, they are not a
# benchmark (random weights segment nothing in particular).
_base_ = ['./_base_/models/maskdiffusion.py', './_base_/datasets/shapes.py', './_base_/default_runtime.py']
data_root = 'data/demo/shapes'
test_dataloader = dict(dataset=dict(data_root=data_root))
model = dict(
    backbone=dict(model_id='data/demo/tiny-sd', dtype='float32'),
    image_size=(128, 128),
    test_cfg=dict(mode='whole'))
default_hooks = dict(logger=dict(interval=2))
