"""Write a diffusers Stable Diffusion folder as one original-layout (CompVis / A1111) checkpoint, the form users
download as ``sd-v1-5.safetensors``: the inverse of diffusers' single-file conversion, so that the tests can load a
single file made from the tiny models (no such file can be downloaded here).

Only the SD v1 layout is written: UNet under ``model.diffusion_model.``, VAE under ``first_stage_model.``, the CLIP
text encoder under ``cond_stage_model.transformer.``. The key names follow the LDM modules
(``input_blocks`` / ``middle_block`` / ``output_blocks``, ``in_layers`` / ``out_layers`` / ``skip_connection``,
VAE ``down.i.block.j`` / ``mid.attn_1`` with 1x1-conv attention weights).
"""
from __future__ import annotations

import json
import os.path as osp

import torch
from torch import Tensor

RESNET_UNET = {'norm1': 'in_layers.0', 'conv1': 'in_layers.2', 'time_emb_proj': 'emb_layers.1',
               'norm2': 'out_layers.0', 'conv2': 'out_layers.3', 'conv_shortcut': 'skip_connection'}
UNET_TOP = {'time_embedding.linear_1': 'time_embed.0', 'time_embedding.linear_2': 'time_embed.2',
            'conv_in': 'input_blocks.0.0', 'conv_norm_out': 'out.0', 'conv_out': 'out.2'}


def _rename_resnet(rest: str) -> str:
    layer, _, param = rest.partition('.')
    return f'{RESNET_UNET[layer]}.{param}'


def unet_to_ldm(state: dict[str, Tensor], config: dict) -> dict[str, Tensor]:
    """diffusers ``UNet2DConditionModel`` keys -> LDM ``UNetModel`` keys, for any ``layers_per_block`` and number
    of blocks (the diffusers converter reads the layout from the same config)."""
    per = int(config['layers_per_block'])
    up_has_attn = ['CrossAttn' in t for t in config['up_block_types']]
    out = {}
    for key, value in state.items():
        parts = key.split('.')
        new = None
        for hf, ldm in UNET_TOP.items():
            if key.startswith(hf + '.'):
                new = ldm + key[len(hf):]
        if parts[0] == 'down_blocks':
            i, kind, j, rest = int(parts[1]), parts[2], int(parts[3]), '.'.join(parts[4:])
            if kind == 'resnets':
                new = f'input_blocks.{i * (per + 1) + j + 1}.0.{_rename_resnet(rest)}'
            elif kind == 'attentions':
                new = f'input_blocks.{i * (per + 1) + j + 1}.1.{rest}'
            elif kind == 'downsamplers':  # conv -> op
                new = f'input_blocks.{(i + 1) * (per + 1)}.0.op.{rest.split(".", 1)[1]}'
        elif parts[0] == 'up_blocks':
            i, kind, j, rest = int(parts[1]), parts[2], int(parts[3]), '.'.join(parts[4:])
            if kind == 'resnets':
                new = f'output_blocks.{i * (per + 1) + j}.0.{_rename_resnet(rest)}'
            elif kind == 'attentions':
                new = f'output_blocks.{i * (per + 1) + j}.1.{rest}'
            elif kind == 'upsamplers':
                new = f'output_blocks.{i * (per + 1) + per}.{2 if up_has_attn[i] else 1}.{rest}'
        elif parts[0] == 'mid_block':
            kind, j, rest = parts[1], int(parts[2]), '.'.join(parts[3:])
            new = (f'middle_block.1.{rest}' if kind == 'attentions'
                   else f'middle_block.{2 * j}.{_rename_resnet(rest)}')
        if new is None:
            raise KeyError(f'unet_to_ldm: no LDM name for UNet key {key!r}')
        out['model.diffusion_model.' + new] = value
    return out


VAE_ATTN = {'group_norm': 'norm', 'to_q': 'q', 'to_k': 'k', 'to_v': 'v', 'to_out.0': 'proj_out'}


def vae_to_ldm(state: dict[str, Tensor], config: dict) -> dict[str, Tensor]:
    """diffusers ``AutoencoderKL`` keys -> LDM ``AutoencoderKL`` keys (attention projections as 1x1 convs)."""
    n = len(config['block_out_channels'])
    out = {}
    for key, value in state.items():
        new = key.replace('conv_norm_out', 'norm_out').replace('conv_shortcut', 'nin_shortcut')
        parts = new.split('.')
        if parts[1] == 'down_blocks':
            i = parts[2]
            new = '.'.join([parts[0], 'down', i] + (['block', *parts[4:]] if parts[3] == 'resnets'
                                                     else ['downsample', *parts[5:]]))
        elif parts[1] == 'up_blocks':
            i = str(n - 1 - int(parts[2]))  # diffusers counts decoder blocks from the bottom, LDM from the top
            new = '.'.join([parts[0], 'up', i] + (['block', *parts[4:]] if parts[3] == 'resnets'
                                                   else ['upsample', *parts[5:]]))
        elif parts[1] == 'mid_block':
            if parts[2] == 'resnets':
                new = '.'.join([parts[0], 'mid', f'block_{int(parts[3]) + 1}', *parts[4:]])
            else:
                rest = '.'.join(parts[4:])
                for hf, ldm in VAE_ATTN.items():
                    if rest.startswith(hf + '.'):
                        rest = ldm + rest[len(hf):]
                new = f'{parts[0]}.mid.attn_1.{rest}'
                if value.ndim == 2:  # linear -> 1x1 conv
                    value = value[:, :, None, None]
        out['first_stage_model.' + new] = value
    return out


def write_single_file_checkpoint(model_dir: str, path: str) -> str:
    """Write the diffusers SD folder ``model_dir`` as one original-layout checkpoint at ``path``: safetensors for
    ``.safetensors``, else a ``torch.save`` of plain tensors under ``state_dict`` (a pickle that loads with
    ``weights_only``). Returns ``path``."""
    import diffusers
    import transformers
    unet = diffusers.UNet2DConditionModel.from_pretrained(model_dir, subfolder='unet')
    vae = diffusers.AutoencoderKL.from_pretrained(model_dir, subfolder='vae')
    text = transformers.CLIPTextModel.from_pretrained(model_dir, subfolder='text_encoder')
    with open(osp.join(model_dir, 'unet', 'config.json')) as f:
        state = unet_to_ldm(unet.state_dict(), json.load(f))
    with open(osp.join(model_dir, 'vae', 'config.json')) as f:
        state.update(vae_to_ldm(vae.state_dict(), json.load(f)))
    # original checkpoints name the text encoder's weights as transformers 4 did (``text_model.`` first)
    state.update({'cond_stage_model.transformer.' + ('' if k.startswith('text_model.') else 'text_model.') + k: v
                  for k, v in text.state_dict().items()})
    state = {k: v.contiguous() for k, v in state.items()}
    if path.endswith('.safetensors'):
        from safetensors.torch import save_file
        save_file(state, path)
    else:
        torch.save({'state_dict': state}, path)
    return path
