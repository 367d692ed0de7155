"""Builders of tiny random models and tiny datasets, for the tests and the demo (no downloads), and the
shipped tiny Stable Diffusion, CLIP and BLIP trained on shapes (the behavioural tests' oracles)."""
from .tiny_models import (cache_root, random_blip, random_open_clip, random_stable_diffusion,
                          random_stable_diffusion_xl, random_timm_vit, trained_stable_diffusion, unet_config,
                          write_blip, write_clip_tokenizer, write_stable_diffusion, write_stable_diffusion_xl)

__all__ = ['cache_root', 'random_blip', 'random_open_clip', 'random_stable_diffusion', 'random_stable_diffusion_xl',
           'random_timm_vit', 'trained_stable_diffusion', 'unet_config', 'write_blip', 'write_clip_tokenizer',
           'write_stable_diffusion', 'write_stable_diffusion_xl']
from .benchmark_fixtures import BENCHMARK_FIXTURES, write_benchmark_fixture  # noqa: E402
from .tiny_blip_training import random_shapes_blip, trained_blip  # noqa: E402
from .tiny_clip_training import random_shapes_clip, trained_clip  # noqa: E402

__all__ += ['BENCHMARK_FIXTURES', 'write_benchmark_fixture', 'random_shapes_blip', 'random_shapes_clip', 'trained_blip',
            'trained_clip']
