# DiffCut on the built-in shapes benchmark (128 x 128) with the tiny Stable Diffusion trained here
# (assets/tiny-sd-shapes, SD v1 topology), per-image Hungarian matching as DiffSeg's shapes config.
_base_ = ['./_base_/models/diffcut.py', './_base_/datasets/shapes.py', './_base_/default_runtime.py']
test_evaluator = dict(_delete_=True, type='HungarianIoUMetric', mode='per_image')
model = dict(backbone=dict(_delete_=True, type='StableDiffusionBackbone', model_id='assets/tiny-sd-shapes',
                           dtype='float32', scheduler='DDPMScheduler', lazy=True),
             image_size=(256, 256), mask_size=(128, 128))
