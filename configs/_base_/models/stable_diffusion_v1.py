# A frozen Stable Diffusion v1.x backbone. Offline: --cfg-options model.backbone.model_id=/local/folder
model = dict(
    data_preprocessor=dict(
        type='SegDataPreProcessor',
        mean=[127.5, 127.5, 127.5],  # RGB in [-1, 1], as the SD VAE expects
        std=[127.5, 127.5, 127.5],
        bgr_to_rgb=True,
        pad_val=0,
        seg_pad_val=255),
    backbone=dict(
        type='StableDiffusionBackbone',
        model_id='CompVis/stable-diffusion-v1-4',
        revision=None,
        dtype='auto',  # float16 on a GPU, float32 on the CPU
        local_files_only=None,  # None: follow $HF_HUB_OFFLINE
        scheduler='DDPMScheduler',
        # weights load before the test loop (DiffusionWeightsHook), or from mmseg's tools/test.py CHECKPOINT when
        # that holds SD weights (a .safetensors / .ckpt file or a diffusers folder)
        lazy=True),
)
