"""Write the demo's data: the built-in shapes dataset and a tiny random Stable Diffusion folder.

    python tools/prepare_demo.py [--root data/demo] [--num-images 8]
"""
import argparse
import os.path as osp
import shutil
import sys

sys.path.insert(0, osp.dirname(osp.dirname(osp.abspath(__file__))))

from mmseg_trainfree.datasets import generate_shapes_dataset  # noqa: E402
from mmseg_trainfree.testing import random_stable_diffusion  # noqa: E402


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--root', default='data/demo')
    parser.add_argument('--num-images', type=int, default=8)
    parser.add_argument('--seed', type=int, default=0)
    args = parser.parse_args(argv)
    generate_shapes_dataset(osp.join(args.root, 'shapes'), args.num_images, seed=args.seed)
    model_dir = osp.join(args.root, 'tiny-sd')
    if not osp.isdir(model_dir):
        shutil.copytree(random_stable_diffusion('tiny', seed=args.seed), model_dir)
    print(f'demo data in {args.root}: shapes/ ({args.num_images} images), tiny-sd/ (random Stable Diffusion)')


if __name__ == '__main__':
    main()
