# OpenAI CLIP ViT-B/16 through open_clip, for MaskCLIP dense features, and EmerDiff's 7 prompt templates
# (Namekata et al., ICLR 2024, App. C). Used as {{_base_.clip_backbone}} / {{_base_.clip_templates}}.
clip_backbone = dict(
    type='OpenCLIPBackbone',
    model_name='ViT-B-16-quickgelu',  # OpenAI's ViT-B/16 (plain 'ViT-B-16' builds GELU: silently wrong)
    pretrained='openai',  # or a local open_clip checkpoint file
    short_side=448,  # short side resized to 448, aspect kept; positional embedding interpolated
    keep_residual=True,  # MaskCLIP's official last block: residual and MLP kept
    dtype='float32')
clip_templates = ['itap of a {}.', 'a bad photo of a {}.', 'a origami {}.', 'a photo of the large {}.',
                  'a {} in a video game.', 'art of the {}.', 'a photo of the small {}.']
