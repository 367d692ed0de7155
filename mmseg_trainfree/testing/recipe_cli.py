"""The command line shared by the tools that train a fixture (``tools/train_tiny_{sd,clip,blip}.py``): every
scalar field of the recipe dataclass is an option, the model is written to ``OUT.partial`` and renamed to ``OUT``
when complete."""
from __future__ import annotations

import argparse
import dataclasses
import os
import os.path as osp
import shutil
import time
from typing import Callable, Optional, Sequence


def recipe_main(recipe_cls: type, train: Callable[[str, object], str], description: str, what: str,
                argv: Optional[Sequence[str]] = None) -> str:
    """Parse ``argv`` into ``recipe_cls``, run ``train(tmp_dir, recipe)`` and move the result to ``--out``."""
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument('--out', required=True, help='output folder; replaced if it exists')
    defaults = recipe_cls()
    for f in dataclasses.fields(recipe_cls):
        value = getattr(defaults, f.name)
        if isinstance(value, (int, float, str)) and not isinstance(value, bool):
            parser.add_argument('--' + f.name.replace('_', '-'), type=type(value), default=value,
                                help=f'(default: {value})')
    parser.add_argument('--threads', type=int, default=None, help="torch threads (default: torch's choice)")
    args = parser.parse_args(argv)
    if args.threads:
        import torch
        torch.set_num_threads(args.threads)
    recipe = recipe_cls(**{f.name: getattr(args, f.name) for f in dataclasses.fields(recipe_cls)
                           if hasattr(args, f.name)})
    tmp = args.out.rstrip('/') + '.partial'
    shutil.rmtree(tmp, ignore_errors=True)
    os.makedirs(tmp)
    start = time.time()
    train(tmp, recipe)
    if osp.isdir(args.out):
        shutil.rmtree(args.out)
    os.rename(tmp, args.out)
    print(f'{what} saved to {args.out} in {time.time() - start:.0f} s')
    return args.out
