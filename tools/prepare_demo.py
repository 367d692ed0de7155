"""Write the demo's data: the built-in shapes dataset (128 x 128, held out from the trained model's
training images by its seed).

    python tools/prepare_demo.py [--root data/demo] [--num-images 8]

The demo's model is the tiny Stable Diffusion trained on shapes that ships in assets/tiny-sd-shapes
(tools/train_tiny_sd.py rebuilds it).
"""
import argparse
import os.path as osp
import sys

sys.path.insert(0, osp.dirname(osp.dirname(osp.abspath(__file__))))

from mmseg_trainfree.datasets import generate_shapes_dataset  # noqa: E402

VAL_SEED = 1000  # the trained model saw images of seed 0


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--root', default='data/demo')
    parser.add_argument('--num-images', type=int, default=8)
    parser.add_argument('--size', type=int, default=128, help='image side in pixels (the model trained at 128)')
    parser.add_argument('--seed', type=int, default=VAL_SEED)
    args = parser.parse_args(argv)
    generate_shapes_dataset(osp.join(args.root, 'shapes'), args.num_images, (args.size, args.size), seed=args.seed)
    print(f'demo data in {args.root}: shapes/ ({args.num_images} images of {args.size} x {args.size}, '
          f'seed {args.seed})')


if __name__ == '__main__':
    main()
