# DiffSegClust (Method 3a of Le's report): DiffSeg clusters of SD self-attention labelled by mean CA_CLIP.
_base_ = ['./agggem.py']
model = dict(type='DiffSegClust', num_points=16, kl_threshold=[0.8, 0.8, 0.8],  # report: t = 100, KL 0.8
             refine=True, upsample_mode='bicubic')  # the report's code: DiffSeg's k-means refinement, bicubic
