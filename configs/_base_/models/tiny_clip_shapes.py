# The tiny CLIP trained here on the shapes benchmark (assets/tiny-clip-shapes, docs/tiny_model.md): an open_clip
# ViT (16-px patches, 4 blocks, QuickGELU) loaded exactly as real weights are, through its model config folder and
# a local checkpoint file. Used as {{_base_.tiny_clip_backbone}} (MaskCLIP's dense path, the category filter)
# and {{_base_.tiny_gem_clip}} (GEM's self-self path). Paths are relative to the repository root.
tiny_clip_fields = dict(model_name='mmseg-trainfree-tiny-clip-shapes',
                        pretrained='assets/tiny-clip-shapes/open_clip_model.safetensors',
                        model_config_dir='assets/tiny-clip-shapes', dtype='float32')
tiny_clip_backbone = dict(type='OpenCLIPBackbone', short_side=128, keep_residual=True, **tiny_clip_fields)
# GEM's default depth 7 of 12 blocks replaces the attention of the last half; 3 of 4 does the same here.
tiny_gem_clip = dict(type='GEMBackbone', image_size=(128, 128), gem_depth=3, ss_attn_iter=1, ss_attn_temp=None,
                     **tiny_clip_fields)
