# EmerDiff, COCO-Stuff-27 (all of val2017), traditional unsupervised protocol: 27 concepts by k-means
# over the dataset's pixel embeddings, one Hungarian matching (paper Table 1: 26.6 mIoU).
_base_ = ['./emerdiff_cocostuff27.py']
test_evaluator = {{_base_.traditional_evaluator}}
