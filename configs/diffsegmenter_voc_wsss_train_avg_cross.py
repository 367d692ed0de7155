# Table 4 row 1 (61.25): cross-attention resolutions averaged ("w/o w_l"), no self-attention refinement.
_base_ = ['./diffsegmenter_voc_wsss_train.py']
model = dict(fusion_weights=[0.25, 0.25, 0.25, 0.25], self_attn_layers=None)
