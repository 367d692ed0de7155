# DiffSegmenter pseudo-labels for VOC train-aug (10,582 images), weakly supervised (paper Sec. 4.3: DenseCRF
# post-processing of the score maps, then the argmax):
#   python tools/make_pseudo_labels.py configs/diffsegmenter_voc_wsss.py --out work_dirs/pseudo_labels
# writes one pseudo-label PNG per image and prints their mIoU against the ground truth (--no-crf: without CRF).
_base_ = ['./_base_/models/diffsegmenter_voc_wsss.py', './_base_/datasets/pascal_voc12_trainaug.py',
          './_base_/default_runtime.py']
model = dict(crf=dict(type='DenseCRF'))  # DeepLab's VOC settings (models/utils/dense_crf.py); needs pydensecrf2
test_dataloader = dict(dataset=dict(datasets=[  # the model resizes the original image once (official)
    dict(type={{_base_.dataset_type}}, data_root={{_base_.data_root}},
         data_prefix=dict(img_path='JPEGImages', seg_map_path='SegmentationClass'),
         ann_file='ImageSets/Segmentation/train.txt', pipeline={{_base_.diffsegmenter_test_pipeline}}),
    dict(type={{_base_.dataset_type}}, data_root={{_base_.data_root}},
         data_prefix=dict(img_path='JPEGImages', seg_map_path='SegmentationClassAug'),
         ann_file='ImageSets/Segmentation/aug.txt', pipeline={{_base_.diffsegmenter_test_pipeline}}),
]))
