# Table 4 row 6 (69.46): class++ without BLIP continuation.
_base_ = ['./diffsegmenter_voc_wsss_train.py']
model = dict(augment_prompts=False, captioner=None)
