"""Builders of tiny random models and tiny datasets, for the tests and the demo (no downloads), and the
shipped tiny Stable Diffusion trained on shapes (the behavioural tests' oracle)."""
from .tiny_models import (cache_root, random_blip, random_open_clip, random_stable_diffusion, trained_stable_diffusion,
                          unet_config, write_blip, write_clip_tokenizer, write_stable_diffusion)

__all__ = ['cache_root', 'random_blip', 'random_open_clip', 'random_stable_diffusion', 'trained_stable_diffusion',
           'unet_config', 'write_blip', 'write_clip_tokenizer', 'write_stable_diffusion']
from .benchmark_fixtures import BENCHMARK_FIXTURES, write_benchmark_fixture  # noqa: E402

__all__ += ['BENCHMARK_FIXTURES', 'write_benchmark_fixture']
