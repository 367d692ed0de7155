"""Tiny random Stable Diffusion folders in the real diffusers on-disk layout, built offline.

The code under test loads them with the same ``from_pretrained`` calls it uses for
``CompVis/stable-diffusion-v1-4``. The UNet keeps SD v1's block topology (3 cross-attention down
blocks + 1 plain, a cross-attention mid block, 1 plain up block + 3 cross-attention up blocks
with 3 attentions each, 2 heads), so every layer name the papers use exists. The tokenizer is a
real CLIP BPE tokenizer made from the vocabulary file that mmseg and open_clip ship.
"""
from __future__ import annotations

import gzip
import json
import os
import os.path as osp
import shutil
import tempfile
from typing import Callable, Literal

import torch

BUILDER_VERSION = 1
# SD v1.4 / v1.5 ship a PNDMScheduler config; DDPM / DDIM schedulers load from it unchanged.
SD_SCHEDULER = dict(beta_start=0.00085, beta_end=0.012, beta_schedule='scaled_linear', num_train_timesteps=1000,
                    steps_offset=1, set_alpha_to_one=False, skip_prk_steps=True, prediction_type='epsilon')
VOCAB_SIZE = 49408


def cache_root() -> str:
    """Where built models are kept: ``$MMSEG_TRAINFREE_CACHE`` or ``~/.cache/mmseg_trainfree``."""
    return os.environ.get('MMSEG_TRAINFREE_CACHE', osp.join(osp.expanduser('~'), '.cache', 'mmseg_trainfree'))


def _bytes_to_unicode() -> dict[int, str]:
    # GPT-2 / CLIP byte-level alphabet: printable bytes map to themselves, the rest above 255.
    bs = list(range(ord('!'), ord('~') + 1)) + list(range(ord('¡'), ord('¬') + 1)) + list(range(ord('®'), ord('ÿ') + 1))
    cs = bs[:]
    n = 0
    for b in range(256):
        if b not in bs:
            bs.append(b)
            cs.append(256 + n)
            n += 1
    return dict(zip(bs, map(chr, cs)))


def find_bpe_vocab() -> str:
    """The CLIP BPE merges file shipped by mmseg (or open_clip)."""
    import importlib.util
    for pkg, rel in (('mmseg', 'utils/bpe_simple_vocab_16e6.txt.gz'), ('open_clip', 'bpe_simple_vocab_16e6.txt.gz')):
        spec = importlib.util.find_spec(pkg)
        if spec and spec.origin:
            path = osp.join(osp.dirname(spec.origin), rel)
            if osp.isfile(path):
                return path
    raise FileNotFoundError('CLIP BPE vocabulary (bpe_simple_vocab_16e6.txt.gz) not found in mmseg or open_clip')


def write_clip_tokenizer(out_dir: str, bpe_path: str | None = None) -> str:
    """Write a CLIP tokenizer folder (vocab.json, merges.txt, configs) equal to openai/clip-vit-large-patch14's."""
    lines = gzip.open(bpe_path or find_bpe_vocab()).read().decode('utf-8').split('\n')
    merges = [tuple(m.split()) for m in lines[1:49152 - 256 - 2 + 1]]
    alphabet = list(_bytes_to_unicode().values())
    vocab = alphabet + [a + '</w>' for a in alphabet] + [''.join(m) for m in merges]
    vocab += ['<|startoftext|>', '<|endoftext|>']
    assert len(vocab) == VOCAB_SIZE
    os.makedirs(out_dir, exist_ok=True)
    with open(osp.join(out_dir, 'vocab.json'), 'w', encoding='utf-8') as f:
        json.dump({tok: i for i, tok in enumerate(vocab)}, f, ensure_ascii=False)
    with open(osp.join(out_dir, 'merges.txt'), 'w', encoding='utf-8') as f:
        f.write('#version: 0.2\n' + '\n'.join(' '.join(m) for m in merges) + '\n')
    special = dict(bos_token='<|startoftext|>', eos_token='<|endoftext|>', unk_token='<|endoftext|>',
                   pad_token='<|endoftext|>')
    with open(osp.join(out_dir, 'tokenizer_config.json'), 'w') as f:
        json.dump(dict(special, model_max_length=77, do_lower_case=True, tokenizer_class='CLIPTokenizer',
                       clean_up_tokenization_spaces=False), f, indent=2)
    with open(osp.join(out_dir, 'special_tokens_map.json'), 'w') as f:
        json.dump(special, f, indent=2)
    return out_dir


def unet_config(size: Literal['tiny', 'full'] = 'tiny') -> dict:
    """UNet2DConditionModel config: SD v1 topology; ``full`` is SD v1.4 / v1.5 exactly."""
    cfg = dict(in_channels=4, out_channels=4, layers_per_block=2,
               down_block_types=('CrossAttnDownBlock2D',) * 3 + ('DownBlock2D',),
               up_block_types=('UpBlock2D',) + ('CrossAttnUpBlock2D',) * 3)
    if size == 'full':
        return dict(cfg, sample_size=64, block_out_channels=(320, 640, 1280, 1280), cross_attention_dim=768,
                    attention_head_dim=8, norm_num_groups=32)
    return dict(cfg, sample_size=16, block_out_channels=(16, 16, 32, 32), cross_attention_dim=32,
                attention_head_dim=2, norm_num_groups=8)


def vae_config(size: Literal['tiny', 'full'] = 'tiny') -> dict:
    cfg = dict(in_channels=3, out_channels=3, latent_channels=4, down_block_types=('DownEncoderBlock2D',) * 4,
               up_block_types=('UpDecoderBlock2D',) * 4, scaling_factor=0.18215)
    if size == 'full':
        return dict(cfg, block_out_channels=(128, 256, 512, 512), layers_per_block=2, norm_num_groups=32,
                    sample_size=512)
    return dict(cfg, block_out_channels=(8, 8, 16, 16), layers_per_block=1, norm_num_groups=4, sample_size=128)


def text_encoder_config(size: Literal['tiny', 'full'] = 'tiny') -> dict:
    cfg = dict(vocab_size=VOCAB_SIZE, max_position_embeddings=77, bos_token_id=49406, eos_token_id=49407,
               pad_token_id=49407, hidden_act='quick_gelu')
    if size == 'full':
        return dict(cfg, hidden_size=768, intermediate_size=3072, num_hidden_layers=12, num_attention_heads=12,
                    projection_dim=768)
    return dict(cfg, hidden_size=32, intermediate_size=64, num_hidden_layers=2, num_attention_heads=4,
                projection_dim=32)


def _model_index() -> dict:
    return {'_class_name': 'StableDiffusionPipeline', '_diffusers_version': '0.42.1',
            'feature_extractor': [None, None], 'safety_checker': [None, None], 'requires_safety_checker': False,
            'scheduler': ['diffusers', 'PNDMScheduler'], 'text_encoder': ['transformers', 'CLIPTextModel'],
            'tokenizer': ['transformers', 'CLIPTokenizer'], 'unet': ['diffusers', 'UNet2DConditionModel'],
            'vae': ['diffusers', 'AutoencoderKL']}


def write_stable_diffusion(out_dir: str, size: Literal['tiny', 'full'] = 'tiny', seed: int = 0,
                           dtype: torch.dtype = torch.float32) -> str:
    """Build a random SD v1-layout pipeline folder (unet/ vae/ text_encoder/ tokenizer/ scheduler/)."""
    from diffusers import AutoencoderKL, PNDMScheduler, UNet2DConditionModel
    from transformers import CLIPTextConfig, CLIPTextModel

    os.makedirs(out_dir, exist_ok=True)
    builders = dict(unet=lambda: UNet2DConditionModel(**unet_config(size)),
                    vae=lambda: AutoencoderKL(**vae_config(size)),
                    text_encoder=lambda: CLIPTextModel(CLIPTextConfig(**text_encoder_config(size))))
    for i, (name, build) in enumerate(builders.items()):
        torch.manual_seed(seed + i)
        model = build()
        (model if dtype == torch.float32 else model.to(dtype)).save_pretrained(osp.join(out_dir, name))
    PNDMScheduler(**SD_SCHEDULER).save_pretrained(osp.join(out_dir, 'scheduler'))
    write_clip_tokenizer(osp.join(out_dir, 'tokenizer'))
    with open(osp.join(out_dir, 'model_index.json'), 'w') as f:
        json.dump(_model_index(), f, indent=2)
    return out_dir


def build_once(path: str, marker: str, write: Callable[[str], object]) -> str:
    """``path``, written by ``write(tmp_dir)`` on first use and renamed into place atomically, so that
    parallel workers never see a half-written model; ``marker`` is a file that exists once it is complete."""
    if osp.isfile(osp.join(path, marker)):
        return path
    root = osp.dirname(path)
    os.makedirs(root, exist_ok=True)
    tmp = tempfile.mkdtemp(prefix='.building-', dir=root)
    try:
        write(tmp)
        try:
            os.rename(tmp, path)
        except OSError:  # another process finished first
            if not osp.isfile(osp.join(path, marker)):
                raise
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return path


def random_stable_diffusion(size: Literal['tiny', 'full'] = 'tiny', seed: int = 0, root: str | None = None) -> str:
    """Path of a cached random SD folder, built on first use (atomically, safe for parallel workers).

    ``full`` has SD v1.5's exact architecture (about 1.1 B parameters, saved in fp16: 2 GB) for
    benchmarks; ``tiny`` has a few hundred thousand parameters for tests and the demo.
    """
    path = osp.join(root or cache_root(), f'random-sd-v1-{size}-seed{seed}-v{BUILDER_VERSION}')
    dtype = torch.float16 if size == 'full' else torch.float32
    return build_once(path, 'model_index.json', lambda tmp: write_stable_diffusion(tmp, size, seed, dtype))


def sdxl_unet_config(size: Literal['tiny', 'full'] = 'tiny') -> dict:
    """UNet2DConditionModel config of the SDXL topology (three levels, no attention at the first, 2 and 10
    transformer layers, text-time added conditioning on the pooled text embedding); ``full`` is SDXL base's."""
    cfg = dict(in_channels=4, out_channels=4, layers_per_block=2,
               down_block_types=('DownBlock2D', 'CrossAttnDownBlock2D', 'CrossAttnDownBlock2D'),
               up_block_types=('CrossAttnUpBlock2D', 'CrossAttnUpBlock2D', 'UpBlock2D'),
               addition_embed_type='text_time', use_linear_projection=True)
    if size == 'full':
        return dict(cfg, sample_size=128, block_out_channels=(320, 640, 1280), cross_attention_dim=2048,
                    attention_head_dim=(5, 10, 20), transformer_layers_per_block=(1, 2, 10),
                    addition_time_embed_dim=256, projection_class_embeddings_input_dim=2816, norm_num_groups=32)
    return dict(cfg, sample_size=16, layers_per_block=1, block_out_channels=(16, 32, 32), cross_attention_dim=64,
                attention_head_dim=(2, 2, 4), transformer_layers_per_block=(1, 1, 2), addition_time_embed_dim=8,
                projection_class_embeddings_input_dim=6 * 8 + 32, norm_num_groups=8)


def sdxl_text_encoder_configs(size: Literal['tiny', 'full'] = 'tiny') -> tuple[dict, dict]:
    """The two text encoders of SDXL: CLIP ViT-L's (hidden states) and OpenCLIP bigG's (hidden states and a
    projected pooled embedding); their penultimate hidden states are concatenated (``cross_attention_dim``)."""
    base = dict(vocab_size=VOCAB_SIZE, max_position_embeddings=77, bos_token_id=49406, eos_token_id=49407,
                pad_token_id=49407)
    if size == 'full':
        return (dict(base, hidden_act='quick_gelu', hidden_size=768, intermediate_size=3072, num_hidden_layers=12,
                     num_attention_heads=12, projection_dim=768),
                dict(base, hidden_act='gelu', hidden_size=1280, intermediate_size=5120, num_hidden_layers=32,
                     num_attention_heads=20, projection_dim=1280))
    return (dict(base, hidden_act='quick_gelu', hidden_size=32, intermediate_size=64, num_hidden_layers=2,
                 num_attention_heads=4, projection_dim=32),
            dict(base, hidden_act='gelu', hidden_size=32, intermediate_size=64, num_hidden_layers=2,
                 num_attention_heads=4, projection_dim=32))


def write_stable_diffusion_xl(out_dir: str, size: Literal['tiny', 'full'] = 'tiny', seed: int = 0,
                              dtype: torch.dtype = torch.float32) -> str:
    """Build a random SDXL-layout pipeline folder (unet/ vae/ text_encoder/ text_encoder_2/ tokenizer/
    tokenizer_2/ scheduler/), as ``StableDiffusionXLPipeline.from_pretrained`` reads it."""
    from diffusers import AutoencoderKL, EulerDiscreteScheduler, UNet2DConditionModel
    from transformers import CLIPTextConfig, CLIPTextModel, CLIPTextModelWithProjection

    os.makedirs(out_dir, exist_ok=True)
    te1, te2 = sdxl_text_encoder_configs(size)
    builders = dict(unet=lambda: UNet2DConditionModel(**sdxl_unet_config(size)),
                    vae=lambda: AutoencoderKL(**dict(vae_config(size), scaling_factor=0.13025)),
                    text_encoder=lambda: CLIPTextModel(CLIPTextConfig(**te1)),
                    text_encoder_2=lambda: CLIPTextModelWithProjection(CLIPTextConfig(**te2)))
    for i, (name, build) in enumerate(builders.items()):
        torch.manual_seed(seed + i)
        model = build()
        (model if dtype == torch.float32 else model.to(dtype)).save_pretrained(osp.join(out_dir, name))
    sdxl_scheduler = dict(SD_SCHEDULER, timestep_spacing='leading', interpolation_type='linear')
    for key in ('skip_prk_steps', 'set_alpha_to_one'):
        sdxl_scheduler.pop(key)
    EulerDiscreteScheduler(**sdxl_scheduler).save_pretrained(osp.join(out_dir, 'scheduler'))
    write_clip_tokenizer(osp.join(out_dir, 'tokenizer'))
    write_clip_tokenizer(osp.join(out_dir, 'tokenizer_2'))
    index = {'_class_name': 'StableDiffusionXLPipeline', '_diffusers_version': '0.42.1',
             'force_zeros_for_empty_prompt': True, 'scheduler': ['diffusers', 'EulerDiscreteScheduler'],
             'text_encoder': ['transformers', 'CLIPTextModel'],
             'text_encoder_2': ['transformers', 'CLIPTextModelWithProjection'],
             'tokenizer': ['transformers', 'CLIPTokenizer'], 'tokenizer_2': ['transformers', 'CLIPTokenizer'],
             'unet': ['diffusers', 'UNet2DConditionModel'], 'vae': ['diffusers', 'AutoencoderKL'],
             'image_encoder': [None, None], 'feature_extractor': [None, None]}
    with open(osp.join(out_dir, 'model_index.json'), 'w') as f:
        json.dump(index, f, indent=2)
    return out_dir


def random_stable_diffusion_xl(size: Literal['tiny', 'full'] = 'tiny', seed: int = 0,
                               root: str | None = None) -> str:
    """Path of a cached random SDXL-topology folder (``full``: SDXL base's architecture, 2.6 B UNet parameters,
    saved in fp16; ``tiny``: a few hundred thousand parameters), built on first use."""
    path = osp.join(root or cache_root(), f'random-sdxl-{size}-seed{seed}-v{BUILDER_VERSION}')
    dtype = torch.float16 if size == 'full' else torch.float32
    return build_once(path, 'model_index.json', lambda tmp: write_stable_diffusion_xl(tmp, size, seed, dtype))


TINY_CLIP_NAME = 'mmseg-trainfree-tiny-clip'
TINY_CLIP_CONFIG = dict(embed_dim=32, quick_gelu=True,
                        vision_cfg=dict(image_size=32, layers=2, width=64, patch_size=8, head_width=32),
                        text_cfg=dict(context_length=77, vocab_size=49408, width=32, heads=2, layers=1))
TINY_CLIP_CHECKPOINT = 'open_clip_pytorch_model.bin'


def write_open_clip(out_dir: str, seed: int = 0) -> str:
    """A tiny random open_clip model: its model config ``<TINY_CLIP_NAME>.json`` and checkpoint."""
    import open_clip
    with open(osp.join(out_dir, f'{TINY_CLIP_NAME}.json'), 'w') as f:
        json.dump(TINY_CLIP_CONFIG, f)
    torch.manual_seed(seed)
    torch.save(open_clip.CLIP(**TINY_CLIP_CONFIG).state_dict(), osp.join(out_dir, TINY_CLIP_CHECKPOINT))
    return out_dir


def random_open_clip(seed: int = 0, root: str | None = None) -> tuple[str, str, str]:
    """A cached tiny random open_clip model: (model_name, checkpoint file, model config folder).

    Loaded by the real code path: ``open_clip.add_model_config(folder)`` then
    ``create_model(model_name, pretrained=checkpoint)``; the tokenizer is open_clip's bundled CLIP BPE.
    """
    path = osp.join(root or cache_root(), f'random-open-clip-tiny-seed{seed}-v{BUILDER_VERSION}')
    build_once(path, TINY_CLIP_CHECKPOINT, lambda tmp: write_open_clip(tmp, seed))
    return TINY_CLIP_NAME, osp.join(path, TINY_CLIP_CHECKPOINT), path


# A vision foundation model (ProxyCLIP's proxy): timm's DINO ViT-B/8 architecture, shrunk
TINY_VFM_NAME = 'vit_base_patch8_224'
TINY_VFM_KWARGS = dict(embed_dim=32, depth=2, num_heads=2, img_size=64)
TINY_VFM_CHECKPOINT = 'model.safetensors'


def random_timm_vit(seed: int = 0, root: str | None = None) -> dict:
    """``TimmViTBackbone`` fields of a cached tiny random timm ViT (8-px patches) loaded by the real code path:
    ``timm.create_model(model_name, pretrained=True, pretrained_cfg_overlay=dict(file=checkpoint))``."""
    path = osp.join(root or cache_root(), f'random-timm-vit-tiny-seed{seed}-v{BUILDER_VERSION}')

    def write(out_dir: str) -> None:
        import timm
        from safetensors.torch import save_file
        torch.manual_seed(seed)
        model = timm.create_model(TINY_VFM_NAME, pretrained=False, num_classes=0, **TINY_VFM_KWARGS)
        save_file({k: v.contiguous() for k, v in model.state_dict().items()}, osp.join(out_dir, TINY_VFM_CHECKPOINT))

    build_once(path, TINY_VFM_CHECKPOINT, write)
    return dict(model_name=TINY_VFM_NAME, checkpoint=osp.join(path, TINY_VFM_CHECKPOINT),
                model_kwargs=dict(TINY_VFM_KWARGS))


# BLIP captioner (DiffSegmenter's prompts and category filtering)
BLIP_SPECIAL = ['[PAD]', '[UNK]', '[CLS]', '[SEP]', '[MASK]']
BLIP_WORDS = ('a an the of in on at with and by near photograph photography picture image there is are two '
              'sitting standing next to front top background person people man woman child cat dog horse sheep '
              'cow bird car bus train boat bicycle motorbike aeroplane airplane bottle chair table dining potted '
              'plant sofa tv monitor grass sky road tree wall building water floor ground field street').split()


def blip_vocab(size: Literal['tiny', 'full'] = 'tiny') -> list[str]:
    """A WordPiece vocabulary: BERT's special tokens, letters and word pieces (so every word tokenises),
    some caption words, padded with ``[unused*]`` to BERT's 30522 for ``full``, then BLIP's ``[DEC]``."""
    import string
    pieces = list(string.ascii_lowercase + string.digits + string.punctuation)
    vocab = list(dict.fromkeys(BLIP_SPECIAL + pieces + ['##' + c for c in string.ascii_lowercase + string.digits]
                               + BLIP_WORDS))
    if size == 'full':
        vocab += [f'[unused{i}]' for i in range(30522 - len(vocab))]
    return vocab + ['[DEC]']


def blip_special_tokens(vocab_size: int) -> dict:
    """The decoder's token ids in a :func:`blip_vocab`-style vocabulary: [DEC] last, [PAD] 0, [SEP] 3."""
    return dict(bos_token_id=vocab_size - 1, pad_token_id=0, sep_token_id=3, eos_token_id=3)


def blip_config(vocab_size: int, size: Literal['tiny', 'full'] = 'tiny') -> dict:
    """``BlipConfig`` fields: ``full`` is Salesforce/blip-image-captioning-large's architecture (ViT-L/16 at
    384 px, a BERT-base decoder), ``tiny`` a 2-layer model at 32 px."""
    special = blip_special_tokens(vocab_size)
    if size == 'full':
        return dict(text_config=dict(vocab_size=vocab_size, encoder_hidden_size=1024, **special),
                    vision_config=dict(hidden_size=1024, intermediate_size=4096, num_hidden_layers=24,
                                       num_attention_heads=16, image_size=384, patch_size=16), projection_dim=512)
    return dict(text_config=dict(vocab_size=vocab_size, hidden_size=32, num_hidden_layers=2, num_attention_heads=2,
                                 intermediate_size=64, max_position_embeddings=64, encoder_hidden_size=32, **special),
                vision_config=dict(hidden_size=32, intermediate_size=64, num_hidden_layers=2, num_attention_heads=2,
                                   image_size=32, patch_size=8), projection_dim=32)


def write_blip(out_dir: str, size: Literal['tiny', 'full'] = 'tiny', seed: int = 0,
               dtype: torch.dtype = torch.float32) -> str:
    """A random ``BlipForConditionalGeneration`` and its ``BlipProcessor`` in the hub's on-disk layout."""
    from transformers import BlipConfig, BlipForConditionalGeneration
    vocab = blip_vocab(size)
    write_blip_processor(out_dir, vocab, 384 if size == 'full' else 32)
    torch.manual_seed(seed)
    model = BlipForConditionalGeneration(BlipConfig(**blip_config(len(vocab), size)))
    model.to(dtype).save_pretrained(out_dir)
    return out_dir


def write_blip_processor(out_dir: str, vocab: list[str], side: int):
    """Save (and return) a ``BlipProcessor``: a BERT WordPiece tokenizer over ``vocab`` with [DEC] as BLIP's
    decoder start token (skipped in decoding), and images resized to ``side`` with BLIP's CLIP normalisation."""
    from transformers import BertTokenizer, BlipImageProcessor, BlipProcessor

    from ..models.backbones.open_clip import OPENAI_MEAN, OPENAI_STD
    tokenizer = BertTokenizer(vocab={w: i for i, w in enumerate(vocab)}, do_lower_case=True)
    tokenizer.add_special_tokens({'bos_token': '[DEC]'})
    image_processor = BlipImageProcessor(size=dict(height=side, width=side), image_mean=list(OPENAI_MEAN),
                                         image_std=list(OPENAI_STD))
    processor = BlipProcessor(image_processor, tokenizer)
    processor.save_pretrained(out_dir)
    return processor


def random_blip(size: Literal['tiny', 'full'] = 'tiny', seed: int = 0, root: str | None = None) -> str:
    """Path of a cached random BLIP captioning folder (``from_pretrained`` layout), built on first use."""
    path = osp.join(root or cache_root(), f'random-blip-{size}-seed{seed}-v{BUILDER_VERSION}')
    dtype = torch.float16 if size == 'full' else torch.float32
    return build_once(path, 'config.json', lambda tmp: write_blip(tmp, size, seed, dtype))


TRAINED_SD_DIR = 'tiny-sd-shapes'


def shipped_asset(dir_name: str, marker: str, what: str, tool: str, root: str | None = None) -> str:
    """Path of a trained fixture shipped in ``assets/<dir_name>`` of a source checkout (or ``root``), with a
    clear error naming the tool that rebuilds it when ``marker`` is missing."""
    if root is None:
        root = osp.join(osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__)))), 'assets')
    path = osp.join(root, dir_name)
    if not osp.isfile(osp.join(path, marker)):
        raise FileNotFoundError(f'the trained {what} is not at {path} (it ships in a source checkout); '
                                f'rebuild it with: python tools/{tool}.py --out {path}')
    return path


def trained_stable_diffusion(root: str | None = None) -> str:
    """Path of the shipped tiny Stable Diffusion trained on shapes (``assets/tiny-sd-shapes`` of a source
    checkout, or ``root``): the oracle of the behavioural tests and the demo (see :mod:`.tiny_training`)."""
    return shipped_asset(TRAINED_SD_DIR, 'model_index.json', 'tiny Stable Diffusion', 'train_tiny_sd', root)
