"""Train the tiny Stable Diffusion fixture on captioned shapes images (the recipe:
mmseg_trainfree.testing.tiny_training) and save it as a diffusers folder.

    python tools/train_tiny_sd.py --out assets/tiny-sd-shapes [--unet-steps 1200] [--seed 0]

Deterministic for a seed and step budget; about 13 minutes on 2 CPU cores with the defaults.
"""
import argparse
import dataclasses
import os
import os.path as osp
import shutil
import sys
import time

sys.path.insert(0, osp.dirname(osp.dirname(osp.abspath(__file__))))

from mmseg_trainfree.testing.tiny_training import TinySDRecipe, train_tiny_stable_diffusion  # noqa: E402


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--out', required=True, help='output folder (diffusers layout); replaced if it exists')
    defaults = TinySDRecipe()
    for f in dataclasses.fields(TinySDRecipe):
        value = getattr(defaults, f.name)
        if isinstance(value, (int, float, str)) and not isinstance(value, bool):
            parser.add_argument('--' + f.name.replace('_', '-'), type=type(value), default=value,
                                help=f'(default: {value})')
    parser.add_argument('--threads', type=int, default=None, help='torch threads (default: torch\'s choice)')
    args = parser.parse_args(argv)
    if args.threads:
        import torch
        torch.set_num_threads(args.threads)
    recipe = TinySDRecipe(**{f.name: getattr(args, f.name) for f in dataclasses.fields(TinySDRecipe)
                             if hasattr(args, f.name)})
    tmp = args.out.rstrip('/') + '.partial'
    shutil.rmtree(tmp, ignore_errors=True)
    start = time.time()
    train_tiny_stable_diffusion(tmp, recipe)
    if osp.isdir(args.out):
        shutil.rmtree(args.out)
    os.rename(tmp, args.out)
    print(f'trained tiny Stable Diffusion saved to {args.out} in {time.time() - start:.0f} s')


if __name__ == '__main__':
    main()
