# Evaluation protocols that score at a crop or a resize of the image, not at its original size, used by a
# config as
#     test_dataloader = dict(dataset=dict(pipeline={{_base_.diffseg_test_pipeline}}))
#     test_evaluator = {{_base_.diffseg_evaluator}}
# DiffSeg (Tian et al. 2023; Unsupervised MaskDiffusion's Table 3 follows it): centre-crop the largest square,
# resize it to 512 (labels nearest), score at the crop with Hungarian matching per image.
# STEGO / PiCIE: short side to 320, centre crop 320, one Hungarian matching over the whole dataset.
# The two are not comparable: per-image matching is far more lenient.
# Language-based segmentation report (Le, EPFL): scored at 320 x 320 (aspect not kept, no crop) with the
# dataset's own metric: labels resized there, the model fed the original image, its logits resized to 320.
# DiffCut (Couairon et al.): scored at 128 x 128 (labels resized nearest, aspect not kept), per-image Hungarian
# matching; on VOC, Context and COCO-Object the segments not matched to an object class present merge into the
# background first (eval_diffcut.py's many-to-one rule; background_index).
# fine_image_labels (COCO-Stuff-27's 171-id classes present) travel for the weakly supervised AggSD.
# The crop travels with each sample (eval_crop) so that --show-dir draws over the evaluated crop
# (EvalCropVisualizationHook, the default in _base_/default_runtime.py).
pack_meta_keys = ('img_path', 'seg_map_path', 'ori_shape', 'img_shape', 'pad_shape', 'scale_factor', 'flip',
                  'flip_direction', 'reduce_zero_label', 'eval_crop', 'fine_image_labels')


def eval_crop_pipeline(crop: dict) -> list:  # functions are not config entries: mmengine leaves them out
    return [dict(type='LoadImage'), dict(type='LoadSegAnnotations'), crop,
            dict(type='PackSegInputs', meta_keys=pack_meta_keys)]


diffseg_test_pipeline = eval_crop_pipeline(dict(type='CenterSquareCropResize', size=512))
stego_test_pipeline = eval_crop_pipeline(dict(type='ResizeShortCenterCrop', size=320))
langseg_test_pipeline = eval_crop_pipeline(dict(type='ResizeToSquare', size=320))
diffseg_evaluator = dict(_delete_=True, type='HungarianIoUMetric', mode='per_image')
stego_evaluator = dict(_delete_=True, type='HungarianIoUMetric', mode='dataset')
diffcut_test_pipeline = eval_crop_pipeline(dict(type='ResizeToSquare', size=128))
diffcut_evaluator = dict(_delete_=True, type='HungarianIoUMetric', mode='per_image')
diffcut_background_evaluator = dict(_delete_=True, type='HungarianIoUMetric', mode='per_image', background_index=0)
