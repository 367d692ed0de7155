"""Measure a training-free segmentor: latency, UNet evaluations (batch rows) and calls per image, CLIP image
encoder passes per image, modulated branch-steps per image (EmerDiff), captions and candidate classes per image
(DiffSegmenter), peak memory.

    python tools/benchmark.py CONFIG [--model-size tiny|full|config] [--num-images 3] [--image-size 512 512]
    python tools/benchmark.py CONFIG --variant K=V ... --variant K=V ... [--cache-dir DIR]

An ablation sweep is one ``--variant`` (config overrides) per row, all on the same images; with ``--cache-dir``
the rows share a feature cache, so the UNet rows a variant costs are those its cached parts could not serve.

``--model-size full`` builds (once, cached) a Stable Diffusion folder with SD v1.5's exact architecture and
random weights, so the cost of the real model is measured without downloading it; likewise a random BLIP
with BLIP-large's architecture for a captioner, and open_clip's (timm's) architecture of the config with random
weights for a CLIP (a vision foundation model); ``config`` uses the model ids of the config (real weights). Peak memory is CUDA's max allocated on a GPU, the process's peak
RSS otherwise. On CPU, wall-clock time is indicative only; counts and memory are exact.
"""
import argparse
import json
import os.path as osp
import resource
import sys
import time

sys.path.insert(0, osp.dirname(osp.dirname(osp.abspath(__file__))))

import mmseg_trainfree  # noqa: E402
import torch  # noqa: E402
from mmengine.config import Config  # noqa: E402

from mmseg_trainfree.engine.cli import DictAction  # noqa: E402  (keeps spaces inside values)
from mmseg_trainfree.models.backbones.stable_diffusion import load_lazy_backbones  # noqa: E402
from mmseg_trainfree.registry import DATASETS, MODELS  # noqa: E402
from mmseg_trainfree.testing import (random_blip, random_open_clip, random_stable_diffusion,  # noqa: E402
                                     random_stable_diffusion_xl, random_timm_vit)


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description='Benchmark a training-free segmentor')
    parser.add_argument('config')
    parser.add_argument('--model-size', choices=['tiny', 'full', 'config'], default='tiny',
                        help='random tiny SD, random full-size SD v1.5 architecture, or the config\'s model id')
    parser.add_argument('--num-images', type=int, default=3)
    parser.add_argument('--warmup', type=int, default=1)
    parser.add_argument('--image-size', type=int, nargs=2, default=None, metavar=('H', 'W'),
                        help='input size (default: 512 512, or 64 96 with --model-size tiny)')
    parser.add_argument('--device', default='cuda' if torch.cuda.is_available() else 'cpu')
    parser.add_argument('--out', help='write the results as json here')
    parser.add_argument('--cfg-options', nargs='+', action=DictAction)
    parser.add_argument('--variant', nargs='+', action='append', metavar='KEY=VALUE',
                        help='one row of an ablation sweep: config overrides on top of --cfg-options (repeat the flag)')
    parser.add_argument('--cache-dir', help='a feature cache folder shared by the variants (see tools/test.py)')
    parser.add_argument('--cache-size', default='50GB', help='bound of the --cache-dir folder')
    return parser.parse_args(argv)


def parse_variant(items: list) -> dict:
    """``['model.k=1', 'model.w=[0.5,0.5]']`` -> the dict ``--cfg-options`` would make."""
    parser = argparse.ArgumentParser(prog='--variant')
    parser.add_argument('options', nargs='+', action=DictAction)
    return parser.parse_args(items).options


def dataset_classes(cfg: Config) -> list:
    ds = cfg.test_dataloader.dataset
    return list(ds.get('metainfo', {}).get('classes') or DATASETS.get(ds.type).METAINFO['classes'])


def peak_memory_mb(device: str) -> float:
    if device.startswith('cuda'):
        return torch.cuda.max_memory_allocated() / 2 ** 20
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # Linux: KiB


def use_random_models(node, model_size: str) -> None:
    """Point every pretrained component of a model config at a random model of ``model_size``, in place."""
    if isinstance(node, (list, tuple)):
        for item in node:
            use_random_models(item, model_size)
        return
    if not isinstance(node, dict):
        return
    kind = node.get('type')
    if kind == 'StableDiffusionBackbone':
        node.update(model_id=random_stable_diffusion(model_size), local_files_only=True)
    elif kind == 'StableDiffusionXLBackbone':  # full: SDXL base's architecture (SSD-1B is a smaller distillation)
        node.update(model_id=random_stable_diffusion_xl(model_size), local_files_only=True)
    elif kind == 'BlipCaptioner':
        node.update(model_id=random_blip(model_size), local_files_only=True)
    elif kind in ('OpenCLIPBackbone', 'GEMBackbone'):
        if model_size == 'tiny':
            name, checkpoint, config_dir = random_open_clip()
            node.update(model_name=name, pretrained=checkpoint, model_config_dir=config_dir)
            if kind == 'GEMBackbone':  # the tiny ViT: 32 px, 2 blocks
                node.update(image_size=(32, 32), gem_depth=2)
        else:
            node.update(pretrained=None)  # open_clip's architecture, random weights
    elif kind == 'TimmViTBackbone':
        if model_size == 'tiny':
            node.update(random_timm_vit(), pretrained=True)
        else:
            node.update(pretrained=False, checkpoint=None)  # the VFM's architecture, random weights
    for value in node.values():
        use_random_models(value, model_size)


def build_model(cfg: Config, model_size: str, device: str):
    if model_size != 'config':
        use_random_models(cfg.model, model_size)
    model = MODELS.build(cfg.model).to(device)
    load_lazy_backbones(model)  # weights in memory before anything is timed
    if not model.vocabulary_from_config:
        model.set_vocabulary(dataset_classes(cfg))
    return model


@torch.no_grad()
def benchmark(model, image_size, num_images: int, warmup: int, device: str) -> dict:
    g = torch.Generator().manual_seed(0)
    images = [torch.rand(1, 3, *image_size, generator=g) * 2 - 1 for _ in range(num_images + warmup)]
    # weakly supervised methods (AggSD, DiffSegmenter with image labels) get every class: their worst case
    meta = [dict(ori_shape=tuple(image_size), img_shape=tuple(image_size),
                 image_labels=list(range(getattr(model, 'num_output_classes', model.num_classes))))]
    sync = torch.cuda.synchronize if device.startswith('cuda') else (lambda: None)
    for x in images[:warmup]:
        model.inference(x.to(device), meta)
    if device.startswith('cuda'):
        torch.cuda.reset_peak_memory_stats()
    sd = getattr(model, 'backbone', None)
    clips = [m for m in model.modules() if hasattr(m, 'image_passes')]
    evals0, calls0, times = (sd.unet_evaluations, sd.unet_calls, []) if sd is not None else (0, 0, [])
    clip0 = sum(m.image_passes for m in clips)
    branch0 = getattr(model, 'branch_steps', 0)
    captioner = getattr(model, 'captioner', None)
    captions0 = (captioner.num_captions, captioner.num_generate_calls) if captioner is not None else (0, 0)
    candidates0 = getattr(model, 'candidates_seen', 0)
    for x in images[warmup:]:
        sync()
        t0 = time.perf_counter()
        model.inference(x.to(device), meta)
        sync()
        times.append(time.perf_counter() - t0)
    t = torch.tensor(times)
    return dict(images=num_images, image_size=list(image_size), classes=model.num_classes,
                latency_s_mean=round(t.mean().item(), 4), latency_s_std=round(t.std().item() if num_images > 1 else 0., 4),
                unet_evaluations_per_image=((sd.unet_evaluations - evals0) / num_images) if sd is not None else 0,
                unet_calls_per_image=((sd.unet_calls - calls0) / num_images) if sd is not None else 0,
                clip_image_passes_per_image=(sum(m.image_passes for m in clips) - clip0) / num_images,
                branch_steps_per_image=(getattr(model, 'branch_steps', 0) - branch0) / num_images,
                **(dict(candidates_per_image=(model.candidates_seen - candidates0) / num_images)
                   if hasattr(model, 'candidates_seen') else {}),
                **(dict(captions_per_image=(captioner.num_captions - captions0[0]) / num_images,
                        caption_calls_per_image=(captioner.num_generate_calls - captions0[1]) / num_images)
                   if captioner is not None else {}),
                peak_memory_mb=round(peak_memory_mb(device), 1))


def speed_options(model) -> dict:
    """The backbone's speed options (channels_last, torch.compile), as columns of the result."""
    sd = getattr(model, 'backbone', None)
    if sd is None or not hasattr(sd, 'channels_last'):
        return {}
    return dict(channels_last=sd.channels_last, compiled=sd._compiled_unet is not None)


def run_one(args, overrides: dict, image_size) -> dict:
    cfg = Config.fromfile(args.config)
    for options in (args.cfg_options, overrides):
        if options:
            cfg.merge_from_dict(options)
    model = build_model(cfg, args.model_size, args.device)
    cache = None
    if args.cache_dir:
        from mmseg_trainfree.models.utils.feature_cache import FeatureCache
        cache = FeatureCache(args.cache_dir, args.cache_size)
        model.set_feature_cache(cache)
    result = dict(config=osp.basename(args.config), method=type(model).__name__, model_size=args.model_size,
                  device=args.device, dtype=str(next(model.parameters()).dtype).replace('torch.', ''),
                  test_mode=model.test_cfg.get('mode', 'whole'), **speed_options(model),
                  **benchmark(model, image_size, args.num_images, args.warmup, args.device))
    if cache is not None:
        result.update(cache_hits=cache.hits, cache_misses=cache.misses, cache_mb=cache.stats()['size_mb'])
    return result


def markdown_table(rows: list) -> str:
    columns = list(dict.fromkeys(k for row in rows for k in row))
    lines = ['| ' + ' | '.join(columns) + ' |', '|' + '---|' * len(columns)]
    lines += ['| ' + ' | '.join(str(row.get(c, '')) for c in columns) + ' |' for row in rows]
    return '\n'.join(lines)


def main(argv=None):
    args = parse_args(argv)
    mmseg_trainfree.register_all_modules()
    image_size = args.image_size or ((64, 96) if args.model_size == 'tiny' else (512, 512))
    if not args.variant:
        result = run_one(args, {}, image_size)
        print(markdown_table([result]))
        if args.out:
            with open(args.out, 'w') as f:
                json.dump(result, f, indent=2)
        return result
    rows = []
    for items in args.variant:
        rows.append(dict(variant=' '.join(items), **run_one(args, parse_variant(items), image_size)))
    total = sum(r['unet_evaluations_per_image'] for r in rows)
    print(markdown_table(rows))
    print(f'\nsweep of {len(rows)} variants: {total:g} UNet rows per image in all'
          + (f' (feature cache {args.cache_dir})' if args.cache_dir else ' (no feature cache)'))
    if args.out:
        with open(args.out, 'w') as f:
            json.dump(dict(variants=rows, unet_evaluations_per_image=total), f, indent=2)
    return rows


if __name__ == '__main__':
    main()
