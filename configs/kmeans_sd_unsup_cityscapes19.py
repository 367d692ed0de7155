# Table 3 baseline "k-means on SD internal features", same features and protocol as
# maskdiffusion_unsup_cityscapes19.py (paper: 23.3 mIoU).
_base_ = ['./maskdiffusion_unsup_cityscapes19.py']
model = dict(clustering='kmeans', refine=False)  # the baseline: k-means clusters, no prototype refinement
