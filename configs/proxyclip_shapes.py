# ProxyCLIP on the built-in shapes benchmark (128 x 128) with the tiny CLIP trained here (assets/tiny-clip-shapes) and,
# as the vision foundation model, a tiny random ViT (timm's DINO ViT-B/8 architecture shrunk to 2 blocks of width 32,
# random weights from seed 0: no trained VFM is shipped). Whole images; the dataset's class names.
_base_ = ['./_base_/models/proxyclip.py', './_base_/models/tiny_clip_shapes.py', './_base_/datasets/shapes.py',
          './_base_/default_runtime.py']
model = dict(
    clip={{_base_.tiny_clip_fields}},
    vfm=dict(model_name='vit_base_patch8_224', pretrained=False, seed=0,
             model_kwargs=dict(embed_dim=32, depth=2, num_heads=2, img_size=128)),
    pad_multiple=None,
    test_cfg=dict(_delete_=True, mode='whole'))
