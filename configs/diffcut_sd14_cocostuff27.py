# DiffCut on SD v1.4 (DiffCut's LdmExtractor 'SD1.4') instead of SSD-1B, COCO-Stuff-27 (curated 2,175 images),
# DiffCut's protocol. The feature layer is found the same way: the UNet encoder's last self-attention
# (down_blocks.2.attentions.1 for SD v1 / v2: 32 x 32 tokens for a 1024 x 1024 input, as DiffCut's SD1.4
# extractor reads it). No paper number.
_base_ = ['./diffcut_cocostuff27.py']
model = dict(backbone=dict(_delete_=True, type='StableDiffusionBackbone', dtype='auto', scheduler='DDPMScheduler',
                           model_id='CompVis/stable-diffusion-v1-4', lazy=True))
