"""Hooks into Stable Diffusion attention layers (diffusers attention processors) and blocks."""
from .accumulate import AttentionAccumulator
from .base import AttentionHook, match_layers, spatial_shape
from .features import FeatureRecorder
from .inject import AttentionInjector
from .modulate import OutputModulator
from .processor import HookedAttnProcessor, attention_hooks, attention_layer_names
from .record import AttentionRecorder
from .reference import ReferenceAttention, shared_attention

__all__ = ['AttentionAccumulator', 'AttentionHook', 'match_layers', 'FeatureRecorder', 'AttentionInjector',
           'OutputModulator', 'HookedAttnProcessor', 'attention_hooks', 'attention_layer_names', 'AttentionRecorder',
           'ReferenceAttention', 'shared_attention', 'spatial_shape']
