# The open-vocabulary CLIP protocol of SCLIP / ClearCLIP / NACLIP (their released mmseg code): OpenAI CLIP ViT-B/16,
# images fed at the pipeline's size (slide crops as they are), one text embedding per name and synonym averaged over
# CLIP's 80 ImageNet templates, softmax over names with a logit scale, max over synonyms, background by threshold.
# The method bases (sclip.py, clearclip.py, naclip.py, maskclip_ovss.py, gem_ovss.py) set the last block and the
# numbers; docs/methods/open_vocab_clip.md.
model = dict(
    type='OpenVocabCLIP',
    # RGB in [-1, 1]; the backbone applies CLIP's mean / std itself (the family's preprocessor: CLIP mean / std x 255)
    data_preprocessor=dict(type='SegDataPreProcessor', mean=[127.5, 127.5, 127.5], std=[127.5, 127.5, 127.5],
                           bgr_to_rgb=True, pad_val=0, seg_pad_val=255),
    clip=dict(
        type='OpenCLIPBackbone',
        model_name='ViT-B-16-quickgelu',  # OpenAI's ViT-B/16 (the family loads it through OpenAI's clip package)
        pretrained='openai',  # or a local open_clip checkpoint file
        short_side=None,  # no resize in the model: the pipeline resizes, slide crops go in as they are
        attention='value', keep_residual=True, gaussian_std=5.0,  # set per method
        dtype='float32'),  # the released code runs fp16 on GPU (ClearCLIP); 'float16' here does the same
    class_names=None,  # set per benchmark: the family's class-name files (synonyms, VOC's background words)
    templates='openai_imagenet',  # CLIP's 80 ImageNet templates (prompts/imagenet_template.py in each repo)
    logit_scale=40.0,
    prob_thd=0.0,
    area_thd=None,
    background_index=0,
    pamr_steps=0,
    test_cfg=dict(mode='slide', crop_size=(224, 224), stride=(112, 112)),
)
