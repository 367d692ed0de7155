# Table 3's baseline "k-means on SD internal features" on the built-in shapes benchmark, same features and
# protocol as maskdiffusion_unsup_shapes.py.
_base_ = ['./maskdiffusion_unsup_shapes.py']
model = dict(clustering='kmeans', refine=False)  # the baseline: k-means clusters, no prototype refinement
