# Unsupervised MaskDiffusion on the built-in shapes dataset with a tiny random Stable Diffusion (written by
# tools/prepare_demo.py): DiffSeg-style crop at 128 px, per-image Hungarian matching. Exercises the
# pipeline; not a benchmark.
_base_ = ['./_base_/models/maskdiffusion_unsup.py', './_base_/datasets/shapes.py',
          './_base_/protocols/eval_crops.py', './_base_/default_runtime.py']
test_pipeline = [
    dict(type='LoadImage'),
    dict(type='LoadSegAnnotations'),
    dict(type='CenterSquareCropResize', size=128),
    dict(type='PackSegInputs', meta_keys={{_base_.pack_meta_keys}}),
]
test_dataloader = dict(dataset=dict(data_root='data/demo/shapes', pipeline=test_pipeline))
test_evaluator = {{_base_.diffseg_evaluator}}
model = dict(backbone=dict(model_id='data/demo/tiny-sd', dtype='float32'), image_size=(128, 128),
             cluster_size=(32, 32), num_clusters=2)
default_hooks = dict(logger=dict(interval=2))
