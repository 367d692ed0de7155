# Table 4 row 3 (67.89): cross-attention resolutions averaged ("w/o w_l"), refined by the 64x64 self-
# attention.
_base_ = ['./diffsegmenter_voc_wsss_train.py']
model = dict(fusion_weights=[0.25, 0.25, 0.25, 0.25])
