# DiffSeg on the built-in shapes benchmark (128 x 128, a 16 x 16 latent: 8 x 8 anchors) with the tiny
# Stable Diffusion trained here (assets/tiny-sd-shapes), per-image Hungarian matching.
_base_ = ['./_base_/models/diffseg.py', './_base_/datasets/shapes.py', './_base_/default_runtime.py']
test_evaluator = dict(_delete_=True, type='HungarianIoUMetric', mode='per_image')
model = dict(backbone=dict(model_id='assets/tiny-sd-shapes', dtype='float32'), image_size=(128, 128),
             num_points=8,
             # chosen on a separate split (shapes seed 2000, 12 images), mIoU: 0.5: 63.1, 1.1 (paper): 53.6, 2.0: 19.2
             kl_threshold=[0.5, 0.5, 0.5])
