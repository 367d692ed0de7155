# Table 4 row 5 (67.99): BLIP-augmented prompts without class++.
_base_ = ['./diffsegmenter_voc_wsss_train.py']
model = dict(class_weight=1.0)
