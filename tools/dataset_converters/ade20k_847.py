"""Convert ADE20K_2021_17_01 into ADE-847 (16-bit labels).

    python tools/dataset_converters/ade20k_847.py data/ADE20K_2021_17_01 -o data/ade20k_847
"""
import argparse
import sys

from mmseg_trainfree.datasets.converters import convert_ade20k_847


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument('src_root', help='the extracted ADE20K_2021_17_01 folder (holds images/ADE/<split>)')
    p.add_argument('-o', '--out-dir', required=True, help='output root: images/<split>, annotations/<split>')
    p.add_argument('--split', default='validation', choices=['validation', 'training'])
    p.add_argument('--max-short', type=int, default=512, help='resize images whose short side is longer')
    p.add_argument('--nproc', type=int, default=1)
    args = p.parse_args(argv)
    n = convert_ade20k_847(args.src_root, args.out_dir, args.split, args.max_short, args.nproc)
    print(f'\nwrote {n} images and 16-bit label maps under {args.out_dir}')
    return 0


if __name__ == '__main__':
    sys.exit(main())
