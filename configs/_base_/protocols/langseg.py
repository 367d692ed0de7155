# The evaluation of paper 004: images and labels resized to 320 x 320 (aspect not kept, no crop), scored there.
# Used as test_dataloader = dict(dataset=dict(pipeline={{_base_.langseg_test_pipeline}})).
langseg_test_pipeline = [
    dict(type='LoadImage'),
    dict(type='LoadSegAnnotations'),
    dict(type='ResizeToSquare', size=320),
    dict(type='PackSegInputs', meta_keys=('img_path', 'seg_map_path', 'ori_shape', 'img_shape', 'pad_shape',
                                          'scale_factor', 'flip', 'flip_direction', 'reduce_zero_label',
                                          'eval_crop')),
]
