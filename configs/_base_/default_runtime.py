# Runtime shared by every config: test-only, mmseg conventions, our registry scope.
default_scope = 'mmseg_trainfree'  # our registries; mmseg's and mmengine's modules resolve through them
custom_imports = dict(imports=['mmseg_trainfree'], allow_failed_imports=False)
env_cfg = dict(
    cudnn_benchmark=False,
    mp_cfg=dict(mp_start_method='fork', opencv_num_threads=0),
    dist_cfg=dict(backend='nccl'),  # tools/test.py switches to gloo when there is no GPU
)
vis_backends = [dict(type='LocalVisBackend')]
visualizer = dict(type='SegLocalVisualizer', vis_backends=vis_backends, name='visualizer', alpha=0.6)
log_processor = dict(by_epoch=False)
log_level = 'INFO'
load_from = None
resume = False
default_hooks = dict(
    timer=dict(type='IterTimerHook'),
    logger=dict(type='LoggerHook', interval=50, log_metric_by_epoch=False),
    # mmseg's SegVisualizationHook, crop-aware; images under 512 px are drawn enlarged so that labels stay readable
    visualization=dict(type='EvalCropVisualizationHook', min_side=512),
)
# DiffusionWeightsHook: a lazy Stable Diffusion backbone loads before the test loop, from load_from when that holds
# SD weights (mmseg's own tools/test.py CONFIG sd-v1-5.safetensors); VocabularyHook: class names from the dataset
# unless model.class_names is set; ResultsFileHook: WORK_DIR/results.json (metrics, per-class IoU, config, models,
# commit) for tools/collect_results.py
custom_hooks = [dict(type='DiffusionWeightsHook'), dict(type='VocabularyHook'), dict(type='ResultsFileHook')]
# Every parameter is frozen, so plain DDP would refuse the model: wrap only what is trainable (nothing).
model_wrapper_cfg = dict(type='MMSeparateDistributedDataParallel', broadcast_buffers=False)
# ResumableTestLoop: mmengine's TestLoop that resumes an interrupted run of the same config and work dir
# (WORK_DIR/resume/<key>, removed once the run completes; tools/test.py --no-resume recomputes every image)
test_cfg = dict(type='ResumableTestLoop')
