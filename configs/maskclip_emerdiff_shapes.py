# MaskCLIP + EmerDiff on the built-in shapes benchmark (128 x 128): EmerDiff's masks on the tiny SD
# (configs/emerdiff_shapes.py's choices) labelled by the tiny CLIP trained here (assets/tiny-clip-shapes),
# scored with mmseg's mIoU (open vocabulary, every class prompted).
_base_ = ['./_base_/models/maskclip_emerdiff.py', './_base_/models/tiny_clip_shapes.py',
          './_base_/datasets/shapes.py', './_base_/protocols/emerdiff.py', './_base_/default_runtime.py']
test_dataloader = dict(dataset=dict(pipeline={{_base_.emerdiff_test_pipeline}}))
model = dict(backbone=dict(model_id='assets/tiny-sd-shapes', dtype='float32'), clip={{_base_.tiny_clip_backbone}},
             num_masks=4, pixels=128 * 128, modulation_strength=400.0)
