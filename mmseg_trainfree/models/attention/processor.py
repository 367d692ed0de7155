"""A diffusers attention processor that runs the hooks of :mod:`.base`, and the context manager
that installs it on the layers the hooks target and restores the original processors afterwards.

Layers that no hook needs probabilities for run ``scaled_dot_product_attention``; the explicit
softmax(QK^T/sqrt(d)) is computed only where a hook reads or replaces it.
"""
from __future__ import annotations

import contextlib
from typing import Iterator, Sequence

import torch
import torch.nn.functional as F
from torch import nn

from .base import AttentionHook, match_layers


def attention_layer_names(unet: nn.Module) -> list[str]:
    """Names of all attention layers of ``unet`` (``...attn1`` / ``...attn2``)."""
    return [k[:-len('.processor')] for k in unet.attn_processors]


class HookedAttnProcessor:
    """Standard attention (as diffusers' ``AttnProcessor2_0``) with hook points."""

    def __init__(self, name: str, hooks: Sequence[AttentionHook]):
        self.name = name
        self.hooks = list(hooks)

    def _active(self) -> list[AttentionHook]:
        return [h for h in self.hooks if h.targets(self.name)]

    def __call__(self, attn, hidden_states: torch.Tensor, encoder_hidden_states=None,
                 attention_mask=None, temb=None, *args, **kwargs) -> torch.Tensor:
        hooks = self._active()
        residual = hidden_states
        if attn.spatial_norm is not None:
            hidden_states = attn.spatial_norm(hidden_states, temb)
        input_ndim = hidden_states.ndim
        if input_ndim == 4:
            b, c, h, w = hidden_states.shape
            hidden_states = hidden_states.view(b, c, h * w).transpose(1, 2)
        batch_size = hidden_states.shape[0]
        if attn.group_norm is not None:
            hidden_states = attn.group_norm(hidden_states.transpose(1, 2)).transpose(1, 2)

        query = attn.to_q(hidden_states)
        context = hidden_states if encoder_hidden_states is None else encoder_hidden_states
        if encoder_hidden_states is not None and attn.norm_cross:
            context = attn.norm_encoder_hidden_states(context)
        key, value = attn.to_k(context), attn.to_v(context)
        head_dim = key.shape[-1] // attn.heads
        split = lambda t: t.view(batch_size, -1, attn.heads, head_dim).transpose(1, 2)  # noqa: E731
        query, key, value = split(query), split(key), split(value)
        if attn.norm_q is not None:
            query = attn.norm_q(query)
        if attn.norm_k is not None:
            key = attn.norm_k(key)
        if attention_mask is not None:
            attention_mask = attn.prepare_attention_mask(attention_mask, key.shape[2], batch_size)
            attention_mask = attention_mask.view(batch_size, attn.heads, -1, attention_mask.shape[-1])
        for hook in hooks:
            hook.on_qkv(self.name, query, key, value)

        hidden_states = None
        for hook in hooks:  # a hook may compute the whole softmax(QK^T/sqrt(d)) V itself
            out = hook.replace_attention(self.name, query, key, value, attn.scale)
            hidden_states = out if out is not None else hidden_states
        if hidden_states is None:
            hidden_states = self._attention(attn, hooks, query, key, value, attention_mask, batch_size)
        hidden_states = hidden_states.transpose(1, 2).reshape(batch_size, -1, attn.heads * head_dim)
        hidden_states = hidden_states.to(query.dtype)
        for hook in hooks:
            modified = hook.modify_heads_output(self.name, hidden_states)
            hidden_states = hidden_states if modified is None else modified
        hidden_states = attn.to_out[1](attn.to_out[0](hidden_states))
        for hook in hooks:
            modified = hook.modify_output(self.name, hidden_states)
            hidden_states = hidden_states if modified is None else modified
        for hook in hooks:
            hook.on_output(self.name, hidden_states)

        if input_ndim == 4:
            hidden_states = hidden_states.transpose(-1, -2).reshape(b, c, h, w)
        if attn.residual_connection:
            hidden_states = hidden_states + residual
        return hidden_states / attn.rescale_output_factor



    def _attention(self, attn, hooks, query, key, value, attention_mask, batch_size: int) -> torch.Tensor:
        """softmax(QK^T/sqrt(d)) V: with explicit probabilities where a hook replaces or reads them, else SDPA."""
        probs = None
        probs_shape = (batch_size, attn.heads, query.shape[2], key.shape[2])
        for hook in hooks:
            replaced = hook.replace_probs(self.name, probs_shape)
            if replaced is not None:
                probs = replaced.to(value.dtype)
        if probs is None and any(h.needs_probs(self.name) for h in hooks):
            scores = torch.matmul(query, key.transpose(-1, -2)) * attn.scale
            if attention_mask is not None:
                scores = scores + attention_mask
            for hook in hooks:
                hook.on_scores(self.name, scores)
            probs = scores.float().softmax(dim=-1).to(scores.dtype)  # fp32 softmax, also under fp16
            del scores
            for hook in hooks:
                hook.on_probs(self.name, probs)
        if probs is not None:
            return torch.matmul(probs, value)
        return F.scaled_dot_product_attention(query, key, value, attn_mask=attention_mask, scale=attn.scale)

@contextlib.contextmanager
def attention_hooks(unet: nn.Module, hooks: Sequence[AttentionHook]) -> Iterator[list[str]]:
    """Install ``hooks`` on the layers they target; restore the original processors on exit.

    Yields the names of the hooked layers. Raises if a hook's patterns match no layer, so that a
    typo in a config cannot silently record nothing.
    """
    names = attention_layer_names(unet)
    hooked: list[str] = []
    for hook in hooks:
        matched = match_layers(names, hook.layers)
        if not matched:
            raise KeyError(f'{type(hook).__name__}: no attention layer matches {hook.layers}; '
                           f'layers look like {names[0]!r} ... {names[-1]!r}')
        hooked += [m for m in matched if m not in hooked]
    original = dict(unet.attn_processors)
    new = {f'{n}.processor': (HookedAttnProcessor(n, hooks) if n in hooked else original[f'{n}.processor'])
           for n in names}
    unet.set_attn_processor(new)
    try:
        yield hooked
    finally:
        unet.set_attn_processor(original)
