# EmerDiff, COCO-Stuff-27 (all of val2017), traditional protocol, scored at STEGO's convention: the short side
# resized to 320, then the 320 x 320 centre crop (labels nearest), one Hungarian matching over the dataset
# (paper Table 1: 26.6 mIoU; the paper does not say which resolution it scored, see
# emerdiff_cocostuff27_traditional.py for the original-size variant).
_base_ = ['./_base_/models/emerdiff.py', './_base_/datasets/coco_stuff27_full.py', './_base_/protocols/emerdiff.py',
          './_base_/protocols/eval_crops.py', './_base_/default_runtime.py']
test_dataloader = dict(dataset=dict(pipeline={{_base_.stego_test_pipeline}}))
test_evaluator = {{_base_.traditional_evaluator}}
