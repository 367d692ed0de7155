# Ablation: one timestep (t = 100, the zero-shot setting) instead of the average over {1, 50, 100, 150}.
_base_ = ['./diffsegmenter_voc_wsss_train.py']
model = dict(timestep=100)
