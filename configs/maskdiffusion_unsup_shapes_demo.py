# Unsupervised MaskDiffusion on the demo's shapes dataset (tools/prepare_demo.py writes it to data/demo) with
# the trained tiny Stable Diffusion (assets/tiny-sd-shapes): DiffSeg-style crop at 128 px, per-image
# Hungarian matching.
_base_ = ['./maskdiffusion_unsup_shapes.py', './_base_/protocols/eval_crops.py']
test_pipeline = [
    dict(type='LoadImage'),
    dict(type='LoadSegAnnotations'),
    dict(type='CenterSquareCropResize', size=128),
    dict(type='PackSegInputs', meta_keys={{_base_.pack_meta_keys}}),
]
test_dataloader = dict(dataset=dict(data_root='data/demo/shapes', pipeline=test_pipeline))
default_hooks = dict(logger=dict(interval=2))
