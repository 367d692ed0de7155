# Table 3 baseline "k-means on SD internal features", same features and protocol as
# maskdiffusion_unsup_cocostuff27.py (paper: 35.0 mIoU).
_base_ = ['./maskdiffusion_unsup_cocostuff27.py']
model = dict(clustering='kmeans', refine=False)  # the baseline: k-means clusters, no prototype refinement
