"""Frozen Stable Diffusion (v1.x / v2.x, and the SDXL topology: SDXL, SSD-1B): VAE, text encoder(s), UNet and noise
schedule from one model id."""
from __future__ import annotations

import os
from collections import OrderedDict
from typing import Callable, Optional, Sequence

import torch
from mmengine.model import BaseModule
from torch import Tensor

from ...registry import MODELS
from .hub import ModelNotAvailableError, load_pretrained, resolve_dtype  # noqa: F401 (re-exported)


def load_component(cls, model_id: str, subfolder: str, **kwargs):
    """``cls.from_pretrained(model_id, subfolder=...)`` with one clear error for a missing model."""
    return load_pretrained(cls, model_id, 'the diffusers Stable Diffusion layout (unet/, vae/, text_encoder/, '
                           'tokenizer/, scheduler/)', 'model.backbone.model_id', subfolder=subfolder, **kwargs)


SINGLE_FILE_SUFFIXES = ('.safetensors', '.ckpt', '.pt', '.pth', '.bin')


def is_single_file(model_id: str) -> bool:
    """A single-file checkpoint rather than a hub id or a diffusers folder."""
    return model_id.lower().endswith(SINGLE_FILE_SUFFIXES) or os.path.isfile(model_id)


def load_single_file(path: str, config: Optional[str], dtype: torch.dtype, local_files_only: bool,
                     pipeline: str = 'StableDiffusionPipeline'):
    """``<pipeline>.from_single_file``, with clear errors for a missing file and a pickle that
    would need code execution (diffusers reads ``.ckpt`` with ``torch.load(weights_only=True)``)."""
    import pickle

    import diffusers
    if not os.path.isfile(path):
        raise ModelNotAvailableError(f'single-file checkpoint {path!r} does not exist (model.backbone.model_id; '
                                     f'relative paths start from {os.getcwd()})')
    kwargs = dict(torch_dtype=dtype, local_files_only=local_files_only)
    if config is not None:
        kwargs['config'] = config
    try:
        return getattr(diffusers, pipeline).from_single_file(path, **kwargs)
    except (pickle.UnpicklingError, OSError, ValueError) as e:
        cause = e  # diffusers re-raises torch's refusal as an OSError: find it in the chain
        while cause is not None and not isinstance(cause, pickle.UnpicklingError):
            cause = cause.__cause__ or cause.__context__
        if cause is None:
            raise
        raise ValueError(f'{path} is a pickle checkpoint that would run code to load: torch.load(weights_only=True) '
                         f'refused it ({str(cause).splitlines()[0]}). Use its .safetensors version, or convert it '
                         'once where you trust it (diffusers StableDiffusionPipeline.from_single_file(...)'
                         '.save_pretrained(folder)) and give the folder') from e


@MODELS.register_module()
class StableDiffusionBackbone(BaseModule):
    """Frozen SD v1.x components and the few operations the training-free methods need.

    Args:
        model_id: hub id or local folder in the diffusers layout.
        revision: hub revision (branch, tag or commit).
        dtype: ``'float32'``, ``'float16'``, ``'bfloat16'`` or ``'auto'`` (fp16 on CUDA).
        device: move the components there at build time (default: wherever the runner puts the model).
        local_files_only: never reach the hub (default: ``$HF_HUB_OFFLINE``).
        scheduler: diffusers scheduler class loaded from the ``scheduler/`` folder.
        components: which of unet, vae, text_encoder, tokenizer to load (the scheduler always loads).
        variant / use_safetensors: passed to ``from_pretrained`` of the weights (``variant='fp16'`` reads the
            ``*.fp16.safetensors`` files of a hub repository; ``use_safetensors=True`` refuses pickle weights).
        single_file_config: for a single-file checkpoint (``model_id`` a ``.safetensors`` / ``.ckpt`` file, as
            A1111 / ComfyUI users have them): a diffusers model id or folder whose configs describe it (e.g.
            ``stable-diffusion-v1-5/stable-diffusion-v1-5``); None lets diffusers infer it (needs the hub).
            Pickle ``.ckpt`` files are read with ``weights_only`` (no code runs) or refused.
        channels_last: UNet and VAE weights and inputs in channels-last memory format (faster convolutions on
            recent GPUs and CPUs; results equal up to float rounding).
        compile_unet: ``torch.compile`` the UNet's forward: True (inductor, the default backend) or a dict of
            ``torch.compile`` arguments (e.g. ``dict(mode='max-autotune')``). The attention hooks still apply
            (each set of hooks is traced once). Results equal up to float rounding.
        lazy: build without weights; they load on the first use of a component or before the test loop
            (:meth:`load_weights`), so that a runner given the weights as its checkpoint (mmseg's own
            ``tools/test.py CONFIG sd-v1-5.safetensors``) never reads ``model_id`` first. The configs set it.
        prompt_cache_size: text-encoder outputs kept (least recently used first out). Fixed vocabularies need a
            few entries; per-image prompts (BLIP-augmented) would otherwise grow the cache with every image
            (about 2 GB over VOC train-aug). 0 switches the cache off.
    """

    PIPELINE = 'StableDiffusionPipeline'  # the diffusers pipeline of a single-file checkpoint
    SECOND_TEXT_ENCODER = False

    def __init__(self, model_id: str, revision: Optional[str] = None, dtype: str = 'float32',
                 device: Optional[str] = None, local_files_only: Optional[bool] = None,
                 scheduler: str = 'DDPMScheduler',
                 components: Sequence[str] = ('unet', 'vae', 'text_encoder', 'tokenizer'),
                 prompt_cache_size: int = 64, variant: Optional[str] = None,
                 use_safetensors: Optional[bool] = None, single_file_config: Optional[str] = None,
                 channels_last: bool = False, compile_unet: bool | dict = False, lazy: bool = False,
                 init_cfg=None):
        super().__init__(init_cfg)
        import diffusers

        self.model_id = model_id
        self.dtype = resolve_dtype(dtype)
        if local_files_only is None:
            local_files_only = os.environ.get('HF_HUB_OFFLINE', '0') not in ('0', '', 'false')
        known = ('unet', 'vae', 'text_encoder', 'tokenizer') + (('text_encoder_2', 'tokenizer_2')
                                                                 if self.SECOND_TEXT_ENCODER else ())
        unknown = set(components) - set(known)
        if unknown:
            raise ValueError(f'{type(self).__name__}: unknown components {sorted(unknown)}; '
                             f'choose from {list(known)}')
        if not hasattr(diffusers, scheduler):
            raise ValueError(f'StableDiffusionBackbone: unknown scheduler {scheduler!r} (a diffusers class name)')
        if prompt_cache_size < 0:
            raise ValueError(f'StableDiffusionBackbone.prompt_cache_size must be >= 0, got {prompt_cache_size}')
        self.single_file_config = single_file_config
        self._settings = dict(revision=revision, local_files_only=local_files_only, scheduler=scheduler,
                              components=tuple(components), known=known,
                              weights={k: v for k, v in dict(variant=variant, use_safetensors=use_safetensors).items()
                                       if v is not None})
        self.channels_last = bool(channels_last)
        self.compile_unet = compile_unet
        object.__setattr__(self, '_compiled_unet', None)  # not a submodule: the UNet's weights stay listed once
        object.__setattr__(self, '_after_load', [])  # callbacks of the segmentor (see after_load)
        # where the runner or the user moved the backbone before its weights loaded (lazy): they go there
        self.register_buffer('_weights_device', torch.empty(0), persistent=False)
        self.loaded = False
        self.prompt_cache_size = int(prompt_cache_size)
        self._prompt_cache: OrderedDict[tuple, Tensor] = OrderedDict()
        self.unet_evaluations = 0  # batch elements through the UNet, for tools/benchmark.py
        self.unet_calls = 0  # UNet forward calls (batches)
        if device is not None:
            self.to(device)
        if not lazy:
            self.load_weights()

    def load_weights(self, model_id: Optional[str] = None, single_file_config: Optional[str] = None) -> None:
        """Load the components from ``model_id`` (default: the configured one), replacing any loaded before.

        With ``lazy=True`` the backbone is built without weights and this runs on the first use of a component, or
        before the test loop (``DiffusionWeightsHook``, which also takes mmseg's ``CHECKPOINT`` argument as the
        weights); the components then go to the device the backbone was moved to meanwhile.
        """
        import diffusers
        import transformers

        if model_id is not None:
            self.model_id = model_id
        if single_file_config is not None:
            self.single_file_config = single_file_config
        cfg = self._settings
        kw = dict(revision=cfg['revision'], local_files_only=cfg['local_files_only'])
        loaders = dict(unet=(diffusers.UNet2DConditionModel, dict(torch_dtype=self.dtype)),
                       vae=(diffusers.AutoencoderKL, dict(torch_dtype=self.dtype)),
                       text_encoder=(transformers.CLIPTextModel, dict(dtype=self.dtype)),
                       tokenizer=(transformers.CLIPTokenizer, {}),
                       text_encoder_2=(transformers.CLIPTextModelWithProjection, dict(dtype=self.dtype)),
                       tokenizer_2=(transformers.CLIPTokenizer, {}))
        components, scheduler = cfg['components'], cfg['scheduler']
        if is_single_file(self.model_id):
            pipe = load_single_file(self.model_id, self.single_file_config, self.dtype, cfg['local_files_only'],
                                    self.PIPELINE)
            for name in cfg['known']:
                setattr(self, name, getattr(pipe, name) if name in components else None)
            self.scheduler = getattr(diffusers, scheduler).from_config(pipe.scheduler.config)
        else:
            for name in cfg['known']:
                cls, extra = loaders[name]
                extra = dict(extra, **cfg['weights']) if not name.startswith('tokenizer') else extra
                setattr(self, name,
                        load_component(cls, self.model_id, name, **kw, **extra) if name in components else None)
            self.scheduler = load_component(getattr(diffusers, scheduler), self.model_id, 'scheduler', **kw)
        self.loaded = True
        self.requires_grad_(False)
        self.eval()
        self.to(self._weights_device.device)  # where the backbone was moved before its weights loaded
        if self.channels_last:
            for part in (self.unet, self.vae):
                if part is not None:
                    part.to(memory_format=torch.channels_last)
        compiled = None
        if self.compile_unet and self.unet is not None:
            compiled = torch.compile(self.unet, **({} if self.compile_unet is True else dict(self.compile_unet)))
        object.__setattr__(self, '_compiled_unet', compiled)
        self._prompt_cache.clear()
        for callback in self._after_load:
            callback(self)

    def after_load(self, callback: Callable[['StableDiffusionBackbone'], None]) -> None:
        """Run ``callback(backbone)`` once the weights are loaded, and after each reload (now if loaded): what a
        segmentor changes in the components (e.g. EmerDiff's VAE dtype) without loading them at build time."""
        self._after_load.append(callback)
        if self.loaded:
            callback(self)

    def __getattr__(self, name: str):
        try:
            return super().__getattr__(name)
        except AttributeError:
            # a component asked for before the weights of a lazy backbone loaded: load them now
            if self.__dict__.get('loaded') is False and name in self.__dict__['_settings']['known'] + ('scheduler',):
                self.load_weights()
                return super().__getattr__(name) if name in self._modules else self.__dict__[name]
            raise

    def train(self, mode: bool = True):
        """Always in eval mode: nothing here is trained."""
        return super().train(False)

    @property
    def device(self) -> torch.device:
        param = next(self.parameters(), None)
        return param.device if param is not None else self._weights_device.device

    @property
    def latent_factor(self) -> int:
        """Pixels per latent cell (8 for SD)."""
        return 2 ** (len(self.vae.config.block_out_channels) - 1)

    # Images and latents
    def encode_images(self, images: Tensor, generator: Optional[torch.Generator] = None,
                      sample: bool = False) -> Tensor:
        """RGB images in [-1, 1], (B, 3, H, W) -> scaled latents (B, 4, H/8, W/8).

        The posterior mean (no sampling noise) unless ``sample``; times ``vae.config.scaling_factor``.
        """
        if images.shape[1] != 3:
            raise ValueError(f'encode_images expects RGB (B, 3, H, W) in [-1, 1], got shape {tuple(images.shape)}')
        dist = self.vae.encode(images.to(self.device, self.vae.dtype)).latent_dist
        latents = dist.sample(generator) if sample else dist.mean
        return latents * self.vae.config.scaling_factor

    def decode_latents(self, latents: Tensor) -> Tensor:
        """Scaled latents -> RGB images in [-1, 1]."""
        return self.vae.decode(latents.to(self.vae.dtype) / self.vae.config.scaling_factor).sample

    def add_noise(self, latents: Tensor, timestep: int, generator: Optional[torch.Generator] = None,
                  noise: Optional[Tensor] = None) -> Tensor:
        """x_t = sqrt(abar_t) x_0 + sqrt(1 - abar_t) eps, eps from ``generator`` (on the CPU, so that
        the same seed gives the same noise on every device)."""
        if noise is None:
            noise = torch.randn(latents.shape, generator=generator, dtype=torch.float32).to(latents)
        t = torch.full((latents.shape[0],), int(timestep), dtype=torch.long, device=latents.device)
        return self.scheduler.add_noise(latents, noise, t)

    # Prompts
    def tokenize(self, prompts: Sequence[str], pad: bool = True) -> Tensor:
        """Token ids (N, 77): start token, text, end token, padded and truncated to the model length; with
        ``pad=False`` padded only to the longest prompt (one prompt: no padding token at all)."""
        return self.tokenizer(list(prompts), padding='max_length' if pad else 'longest',
                              max_length=self.tokenizer.model_max_length, truncation=True,
                              return_tensors='pt').input_ids

    def encode_token_ids(self, input_ids: Tensor, batch_size: int = 64) -> Tensor:
        """Text-encoder hidden states (N, 77, D) for token ids, in batches; cached per id sequence (LRU)."""
        out = []
        cache = self._prompt_cache
        for chunk in input_ids.split(batch_size):
            key = tuple(map(tuple, chunk.tolist()))
            if key in cache:
                cache.move_to_end(key)
                out.append(cache[key])
                continue
            hidden = self.text_encoder(chunk.to(self.device))[0].to(self.unet.dtype)
            out.append(hidden)
            if self.prompt_cache_size:
                cache[key] = hidden
                while len(cache) > self.prompt_cache_size:
                    cache.popitem(last=False)
        return torch.cat(out)

    def encode_prompts(self, prompts: Sequence[str], batch_size: int = 64, pad: bool = True) -> Tensor:
        """Prompt strings -> text-encoder hidden states (N, 77, D); (N, L, D) with ``pad=False``, L the longest
        prompt's token count (cross-attention then spreads over the prompt's own tokens only)."""
        return self.encode_token_ids(self.tokenize(prompts, pad), batch_size)

    # UNet
    def unet_forward(self, latents: Tensor, timestep: int | Tensor, text_embeddings: Tensor) -> Tensor:
        """Predicted noise for ``latents`` (B, 4, h, w) with ``text_embeddings`` (B or 1, 77, D)."""
        if text_embeddings.shape[0] == 1 and latents.shape[0] > 1:
            text_embeddings = text_embeddings.expand(latents.shape[0], -1, -1)
        self.unet_evaluations += latents.shape[0]
        self.unet_calls += 1
        latents = latents.to(self.unet.dtype)
        if self.channels_last:
            latents = latents.contiguous(memory_format=torch.channels_last)
        unet = self._compiled_unet if self._compiled_unet is not None else self.unet
        return unet(latents, timestep, encoder_hidden_states=text_embeddings).sample

    def forward(self, latents: Tensor, timestep: int | Tensor, text_embeddings: Tensor) -> Tensor:
        return self.unet_forward(latents, timestep, text_embeddings)


@MODELS.register_module()
class StableDiffusionXLBackbone(StableDiffusionBackbone):
    """Frozen SDXL-topology components (SDXL, SSD-1B, Segmind-Vega): two text encoders, whose penultimate hidden
    states are concatenated for cross-attention, and a UNet with SDXL's added conditioning on the pooled embedding
    of the second encoder and the time ids (original size, crop corner, target size). Arguments as
    :class:`StableDiffusionBackbone`'s; ``model_id`` is a hub id or folder in the ``StableDiffusionXLPipeline``
    layout, or a single file (read with ``StableDiffusionXLPipeline.from_single_file``).

    :meth:`unet_forward` needs ``pooled``, the prompts' :meth:`encode_pooled`: methods written for SD v1 / v2 (which
    call it without) are refused with that message.
    """

    PIPELINE = 'StableDiffusionXLPipeline'
    SECOND_TEXT_ENCODER = True

    def __init__(self, model_id: str, components: Sequence[str] = ('unet', 'vae', 'text_encoder', 'tokenizer',
                                                                   'text_encoder_2', 'tokenizer_2'), **kwargs):
        super().__init__(model_id, components=components, **kwargs)

    def encode_token_ids(self, input_ids: Tensor, batch_size: int = 64) -> Tensor:
        raise NotImplementedError('StableDiffusionXLBackbone encodes prompts with two tokenizers: use encode_prompts')

    def _encode(self, prompts: Sequence[str], pad: bool) -> tuple[Tensor, Tensor]:
        """(hidden states (N, L, D1 + D2), pooled (N, P)) as SDXL's pipeline computes them: each encoder's
        penultimate hidden states, concatenated; the second encoder's projected pooled output. Cached per prompt."""
        key = (tuple(prompts), pad)
        if key in self._prompt_cache:
            self._prompt_cache.move_to_end(key)
            return self._prompt_cache[key]
        hidden = []
        for tokenizer, encoder in ((self.tokenizer, self.text_encoder), (self.tokenizer_2, self.text_encoder_2)):
            ids = tokenizer(list(prompts), padding='max_length' if pad else 'longest',
                            max_length=tokenizer.model_max_length, truncation=True, return_tensors='pt').input_ids
            out = encoder(ids.to(self.device), output_hidden_states=True)
            hidden.append(out.hidden_states[-2])
        result = torch.cat(hidden, -1).to(self.unet.dtype), out.text_embeds.to(self.unet.dtype)
        if self.prompt_cache_size:
            self._prompt_cache[key] = result
            while len(self._prompt_cache) > self.prompt_cache_size:
                self._prompt_cache.popitem(last=False)
        return result

    def encode_prompts(self, prompts: Sequence[str], batch_size: int = 64, pad: bool = True) -> Tensor:
        """Prompt strings -> the concatenated hidden states (N, 77, D1 + D2)."""
        return torch.cat([self._encode(prompts[i:i + batch_size], pad)[0] for i in range(0, len(prompts), batch_size)])

    def encode_pooled(self, prompts: Sequence[str], batch_size: int = 64) -> Tensor:
        """Prompt strings -> the second encoder's pooled, projected embeddings (N, P) (SDXL's ``text_embeds``)."""
        return torch.cat([self._encode(prompts[i:i + batch_size], True)[1] for i in range(0, len(prompts), batch_size)])

    def unet_forward(self, latents: Tensor, timestep: int | Tensor, text_embeddings: Tensor,
                     pooled: Optional[Tensor] = None) -> Tensor:
        """Predicted noise for ``latents`` with ``text_embeddings`` and the prompts' ``pooled`` embeddings; the time
        ids say the image was neither resized nor cropped (original size = target size = the latent's pixels)."""
        if pooled is None:
            raise ValueError('StableDiffusionXLBackbone.unet_forward needs the pooled prompt embedding '
                             '(pooled=backbone.encode_pooled(prompts)): this method supports SD v1 / v2 backbones only')
        b = latents.shape[0]
        if text_embeddings.shape[0] == 1 and b > 1:
            text_embeddings = text_embeddings.expand(b, -1, -1)
        pooled = pooled.expand(b, -1) if pooled.shape[0] == 1 else pooled
        h, w = (s * self.latent_factor for s in latents.shape[2:])
        time_ids = torch.tensor([[h, w, 0, 0, h, w]], dtype=self.unet.dtype, device=latents.device).expand(b, -1)
        self.unet_evaluations += b
        self.unet_calls += 1
        latents = latents.to(self.unet.dtype)
        if self.channels_last:
            latents = latents.contiguous(memory_format=torch.channels_last)
        unet = self._compiled_unet if self._compiled_unet is not None else self.unet
        return unet(latents, timestep, encoder_hidden_states=text_embeddings,
                    added_cond_kwargs=dict(text_embeds=pooled.to(self.unet.dtype), time_ids=time_ids)).sample

    def forward(self, latents: Tensor, timestep: int | Tensor, text_embeddings: Tensor,
                pooled: Optional[Tensor] = None) -> Tensor:
        return self.unet_forward(latents, timestep, text_embeddings, pooled)


def load_lazy_backbones(model: torch.nn.Module) -> list[str]:
    """Load the weights of every lazy Stable Diffusion backbone in ``model`` (itself included) not loaded yet, e.g.
    before timing it or hashing its weights; their names."""
    names = []
    for name, module in model.named_modules():
        if isinstance(module, StableDiffusionBackbone) and not module.loaded:
            module.load_weights()
            names.append(name)
    return names
