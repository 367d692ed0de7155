# Table 4 row 4 (65.32): plain prompts "a photograph of {class}", no BLIP continuation, no class++.
_base_ = ['./diffsegmenter_voc_wsss_train.py']
model = dict(augment_prompts=False, captioner=None, class_weight=1.0)
