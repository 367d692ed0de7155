# DiffSegmenter weakly supervised, scored on VOC train (1,464 images): paper Table 2 and Table 4's full row,
# 70.5 mIoU. The Table 4 ablations inherit from this config.
_base_ = ['./_base_/models/diffsegmenter_voc_wsss.py', './_base_/datasets/pascal_voc12_train.py',
          './_base_/default_runtime.py']
# The CAM protocol of weakly supervised segmentation, as the official evaluation_voc12.py scores these rows: the
# initial maps at every background threshold 0.30, 0.31, ..., 0.74 (its range(30, 75) / 100), the best reported
# as mIoU, with best_background_score and the curve (mIoU@<t>). One model pass serves every threshold.
test_evaluator = dict(_delete_=True, type='BackgroundScoreSweepMetric',
                      values=[round(0.3 + 0.01 * i, 2) for i in range(45)], background_index=0,
                      protocol='CAM protocol: the best background threshold (0.30-0.74) on the scored split')
test_dataloader = dict(dataset=dict(pipeline={{_base_.diffsegmenter_test_pipeline}}))  # the model resizes once
