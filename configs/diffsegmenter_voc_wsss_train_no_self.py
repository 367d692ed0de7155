# Ablation: no self-attention refinement (the fused cross-attention is the score map).
_base_ = ['./diffsegmenter_voc_wsss_train.py']
model = dict(self_attn_layers=None)
