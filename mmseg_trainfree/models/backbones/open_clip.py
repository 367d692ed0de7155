"""A frozen CLIP (open_clip) with dense image features from a modified last block (MaskCLIP, Zhou et al. 2022; SCLIP,
ClearCLIP, NACLIP: ``clip_attention``) and prompt-ensembled text embeddings."""
from __future__ import annotations

import math
from typing import Optional, Sequence

import torch
import torch.nn.functional as F
from torch import Tensor

from ...registry import MODELS
from .clip_attention import attention_weights, check_attention_form, proxy_attention
from .frozen_encoder import FrozenImageEncoder
from .hub import ModelNotAvailableError, resolve_dtype

OPENAI_MEAN = (0.48145466, 0.4578275, 0.40821073)
OPENAI_STD = (0.26862954, 0.26130258, 0.27577711)


def interpolate_positions(pos: Tensor, grid: tuple[int, int]) -> Tensor:
    """(1 + g*g, W) positional embedding (class token first) resized bicubically to ``grid``."""
    cls, patches = pos[:1], pos[1:]
    g = int(math.isqrt(patches.shape[0]))
    if (g, g) == tuple(grid):
        return pos
    patches = patches.reshape(1, g, g, -1).permute(0, 3, 1, 2).float()
    patches = F.interpolate(patches, grid, mode='bicubic', align_corners=False, antialias=True)
    return torch.cat([cls, patches.permute(0, 2, 3, 1).reshape(-1, pos.shape[1]).to(pos)])


@MODELS.register_module()
class OpenCLIPBackbone(FrozenImageEncoder):
    """open_clip's ``create_model(model_name, pretrained)``, frozen.

    Args:
        model_name: open_clip model name. OpenAI's ViT-B/16 is ``'ViT-B-16-quickgelu'`` (plain
            ``'ViT-B-16'`` builds GELU and runs OpenAI's weights silently wrong).
        pretrained: an open_clip tag (downloads from the hub) or a local checkpoint file.
        model_config_dir: a folder of extra open_clip model configs (``<name>.json``) to register.
        short_side: images are resized so their short side is this many pixels (rounded to the patch size),
            keeping the aspect ratio; the positional embedding is interpolated to the patch grid. None: images go in
            at their own size (the SCLIP family's protocol: the pipeline resizes, slide crops go in as they are).
        attention: the last block's attention form (``clip_attention.ATTENTION_FORMS``): ``'value'`` MaskCLIP,
            ``'csa'`` SCLIP, ``'qq'`` ClearCLIP, ``'neighbourhood'`` NACLIP, ``'qk'`` CLIP's own.
        keep_residual: the last block keeps its residual and MLP: x + out_proj(A v) then the MLP (True: MaskCLIP's
            official code, SCLIP), or out_proj(A v) alone (False: ClearCLIP, NACLIP's reduced block, ClearCLIP's
            "MaskCLIP" reading).
        gaussian_std: NACLIP's neighbourhood Gaussian, in patches (``attention='neighbourhood'``).
        proxy_beta / proxy_gamma: ProxyCLIP's shift and scale of the proxy similarities (``attention='proxy'``, whose
            :meth:`dense_features` takes the vision foundation model's features).
        config_field: where this backbone sits in the config, named by the error for an unavailable model.
        preprocess_cfg: overrides of the model's preprocessing (open_clip's ``force_preprocess_cfg``, e.g.
            ``dict(mean=..., std=...)``). By default the normalisation is the model's own (its pretrained tag's
            mean / std: OpenAI's for OpenAI and MetaCLIP weights, others for e.g. some LAION / DFN ones).
    """

    def __init__(self, model_name: str = 'ViT-B-16-quickgelu', pretrained: Optional[str] = 'openai',
                 model_config_dir: Optional[str] = None, short_side: Optional[int] = 448, keep_residual: bool = True,
                 attention: str = 'value', gaussian_std: float = 5.0, proxy_beta: float = 1.2,
                 proxy_gamma: float = 3.0, dtype: str = 'float32',
                 device: Optional[str] = None, cache_dir: Optional[str] = None, config_field: str = 'model.clip',
                 preprocess_cfg: Optional[dict] = None, init_cfg=None):
        super().__init__(init_cfg)
        import open_clip
        if model_config_dir is not None:
            open_clip.add_model_config(model_config_dir)
        try:
            model = open_clip.create_model(model_name, pretrained=pretrained, cache_dir=cache_dir,
                                           require_pretrained=pretrained is not None,
                                           force_preprocess_cfg=dict(preprocess_cfg or {}))
        except (RuntimeError, OSError, ValueError) as e:
            raise ModelNotAvailableError(
                f'open_clip model {model_name!r} with pretrained={pretrained!r} is not available ({e}). Download '
                'it on a machine with hub access, or give a local checkpoint: --cfg-options '
                f'{config_field}.pretrained=/path/to/open_clip_pytorch_model.bin') from e
        if not isinstance(model.visual, open_clip.transformer.VisionTransformer):
            raise ValueError(f'open_clip model {model_name!r} has a {type(model.visual).__name__} image tower; the '
                             "dense path (MaskCLIP, GEM) needs open_clip's own VisionTransformer (OpenAI / MetaCLIP / "
                             "LAION ViT models), not a ResNet or a timm tower such as SigLIP's")
        self.model = model.to(device or 'cpu', resolve_dtype(dtype)).eval().requires_grad_(False)
        self.tokenizer = open_clip.get_tokenizer(model_name)
        self.short_side = None if short_side is None else int(short_side)
        self.keep_residual = keep_residual
        self.attention = check_attention_form(attention, 'OpenCLIPBackbone.attention')
        if gaussian_std <= 0:
            raise ValueError(f'OpenCLIPBackbone.gaussian_std must be positive, got {gaussian_std}')
        self.gaussian_std = float(gaussian_std)
        self.proxy_beta, self.proxy_gamma = float(proxy_beta), float(proxy_gamma)
        self.image_passes = 0  # images through the vision encoder so far (tools/benchmark.py)
        preprocess = open_clip.get_model_preprocess_cfg(model)
        mean, std = preprocess.get('mean') or OPENAI_MEAN, preprocess.get('std') or OPENAI_STD
        self.set_normalization(mean, std)

    @property
    def patch_size(self) -> int:
        patch = self.model.visual.conv1.kernel_size
        return patch[0] if isinstance(patch, tuple) else patch

    def input_size(self, h: int, w: int) -> tuple[int, int]:
        if self.short_side is None:
            return h, w
        scale, p = self.short_side / min(h, w), self.patch_size
        return max(p, round(h * scale / p) * p), max(p, round(w * scale / p) * p)

    @torch.no_grad()
    def dense_features(self, images: Tensor, proxy: Optional[Tensor] = None) -> Tensor:
        """Dense embeddings (B, E, h, w) on the patch grid, L2-normalised, of RGB ``images`` in [-1, 1]; with
        ``attention='proxy'``, on the grid of ``proxy``, the vision foundation model's features (B, C, h, w)."""
        if (self.attention == 'proxy') != (proxy is not None):
            raise ValueError("OpenCLIPBackbone: the vision foundation model's features go with attention='proxy' "
                             f'only (attention={self.attention!r}, proxy features given: {proxy is not None})')
        visual = self.model.visual
        self.image_passes += images.shape[0]
        x = self.normalize(images)
        size = self.input_size(*x.shape[2:])
        if size != tuple(x.shape[2:]):
            x = F.interpolate(x, size, mode='bicubic', align_corners=False)
        x = visual.conv1(x.to(visual.conv1.weight.dtype))
        grid = tuple(x.shape[2:])
        x = x.flatten(2).transpose(1, 2)
        cls = visual.class_embedding.to(x.dtype).view(1, 1, -1).expand(x.shape[0], -1, -1)
        x = torch.cat([cls, x], 1) + interpolate_positions(visual.positional_embedding, grid).to(x.dtype)
        x = visual.ln_pre(x)
        blocks = visual.transformer.resblocks
        batch_first = getattr(visual.transformer, 'batch_first', True)
        x = x if batch_first else x.transpose(0, 1)
        for block in blocks[:-1]:
            x = block(x)
        x = x if batch_first else x.transpose(0, 1)
        if proxy is not None:
            out, grid = visual.ln_post(self.proxy_block(blocks[-1], x, grid, proxy)) @ visual.proj, proxy.shape[2:]
        else:
            out = visual.ln_post(self.last_block(blocks[-1], x, grid)[:, 1:]) @ visual.proj
        return F.normalize(out.float(), dim=-1).transpose(1, 2).reshape(out.shape[0], -1, *grid)

    def last_block(self, last, x: Tensor, grid: tuple[int, int]) -> Tensor:
        """The modified last block on the tokens x (B, N, W) entering it: out_proj(A v) with A of ``attention``
        (the identity for MaskCLIP's ``'value'``); with ``keep_residual``, x + out_proj(A v) followed by the MLP."""
        attn = last.attn
        d, heads = attn.embed_dim, attn.num_heads
        y = last.ln_1(x)
        if self.attention == 'value':  # A = I: no N x N matrix
            out = F.linear(y, attn.in_proj_weight[2 * d:], attn.in_proj_bias[2 * d:])
        else:
            b, n, _ = y.shape
            q, k, v = (t.reshape(b, n, heads, d // heads).transpose(1, 2)
                       for t in F.linear(y, attn.in_proj_weight, attn.in_proj_bias).chunk(3, dim=-1))
            out = attention_weights(self.attention, q, k, grid, self.gaussian_std) @ v
            out = out.transpose(1, 2).reshape(b, n, d)
        out = last.ls_1(attn.out_proj(out))
        if self.keep_residual:
            out = x + out
            out = out + last.ls_2(last.mlp(last.ln_2(out)))
        return out

    def proxy_block(self, last, x: Tensor, grid: tuple[int, int], proxy: Tensor) -> Tensor:
        """ProxyCLIP's last block: out_proj(A v), A the proxy attention of the VFM features ``proxy`` and v CLIP's
        patch values upsampled bilinearly from ``grid`` to the VFM's grid; no residual, no MLP. (B, h * w, W)."""
        attn = last.attn
        d = attn.embed_dim
        v = F.linear(last.ln_1(x)[:, 1:], attn.in_proj_weight[2 * d:], attn.in_proj_bias[2 * d:])
        v = v.transpose(1, 2).reshape(v.shape[0], d, *grid)
        v = F.interpolate(v, proxy.shape[2:], mode='bilinear', align_corners=False).flatten(2).transpose(1, 2)
        weights = proxy_attention(proxy, self.proxy_beta, self.proxy_gamma).to(v.dtype)
        return last.ls_1(attn.out_proj(weights @ v))

    @property
    def logit_scale(self) -> float:
        """CLIP's learned softmax temperature, exp(logit_scale) (100 for OpenAI's models)."""
        return float(self.model.logit_scale.exp())

    @torch.no_grad()
    def image_embeddings(self, images: Tensor) -> Tensor:
        """(B, E) normalised global embeddings of RGB ``images`` in [-1, 1], preprocessed as CLIP's own
        transform does: short side resized to the model's input size (bicubic), centre crop."""
        visual = self.model.visual
        size = visual.image_size if isinstance(visual.image_size, (tuple, list)) else (visual.image_size,) * 2
        self.image_passes += images.shape[0]
        x = self.normalize(images)
        scale = max(size[0] / x.shape[2], size[1] / x.shape[3])
        hw = (max(size[0], round(x.shape[2] * scale)), max(size[1], round(x.shape[3] * scale)))
        x = F.interpolate(x, hw, mode='bicubic', align_corners=False, antialias=True)
        top, left = (hw[0] - size[0]) // 2, (hw[1] - size[1]) // 2
        x = x[:, :, top:top + size[0], left:left + size[1]]
        return F.normalize(self.model.encode_image(x.to(visual.conv1.weight.dtype)).float(), dim=-1)

    @torch.no_grad()
    def class_embeddings(self, classes: Sequence[Sequence[str]], templates: Sequence[str],
                         batch_size: int = 256) -> Tensor:
        """(C, E): per class, the normalised mean over its synonyms and the templates of the normalised
        text embeddings. All texts of the vocabulary are encoded in batches of ``batch_size``."""
        device = next(self.model.parameters()).device
        texts = [t.format(name) for synonyms in classes for name in synonyms for t in templates]
        owner = torch.tensor([c for c, synonyms in enumerate(classes) for _ in synonyms for _ in templates])
        tokens = self.tokenizer(texts)
        emb = torch.cat([F.normalize(self.model.encode_text(chunk.to(device)).float(), dim=-1)
                         for chunk in tokens.split(batch_size)])
        sums = emb.new_zeros(len(classes), emb.shape[1]).index_add_(0, owner.to(device), emb)
        return F.normalize(sums, dim=-1)  # normalising the sum equals normalising the mean
