# The demo (`make demo`): MaskDiffusion on the built-in shapes dataset (tools/prepare_demo.py writes it to
# data/demo) with the tiny Stable Diffusion trained on shapes that ships in assets/tiny-sd-shapes, offline.
# Run from the repository root; see docs/tiny_model.md for how the model was made and what it proves.
_base_ = ['./maskdiffusion_shapes.py']
test_dataloader = dict(dataset=dict(data_root='data/demo/shapes'))
default_hooks = dict(logger=dict(interval=2))
