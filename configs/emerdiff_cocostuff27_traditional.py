# EmerDiff, COCO-Stuff-27 (all of val2017), traditional unsupervised protocol: 27 concepts by k-means
# over the dataset's pixel embeddings, one Hungarian matching (paper Table 1: 26.6 mIoU).
# The paper says "full COCO-Stuff-27" and nothing of the resolution or crop: this config scores every image
# at its original size (EmerDiff's own App. A convention); emerdiff_cocostuff27_traditional_crop320.py scores
# STEGO's 320 x 320 centre crop instead. k-means: cosine (on unit vectors, the distance of the assignment),
# the best of 10 seeded initialisations.
_base_ = ['./emerdiff_cocostuff27.py']
test_evaluator = {{_base_.traditional_evaluator}}
