"""Convert PASCAL-Context trainval/*.mat into 459-class 16-bit label maps.

    python tools/dataset_converters/pascal_context_459.py data/VOCdevkit/VOC2010/trainval \
        -o data/VOCdevkit/VOC2010/SegmentationClassContext459 \
        --split-file data/VOCdevkit/VOC2010/ImageSets/SegmentationContext/val.txt
"""
import argparse
import sys

from mmseg_trainfree.datasets.converters import convert_pascal_context_459


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument('mat_dir', help='the extracted trainval.tar.gz: <id>.mat files with a LabelMap')
    p.add_argument('-o', '--out-dir', required=True)
    p.add_argument('--split-file', help="convert only these ids (e.g. mmseg's SegmentationContext/val.txt)")
    p.add_argument('--nproc', type=int, default=1)
    args = p.parse_args(argv)
    n = convert_pascal_context_459(args.mat_dir, args.out_dir, args.split_file, args.nproc)
    print(f'\nwrote {n} label maps to {args.out_dir}')
    return 0


if __name__ == '__main__':
    sys.exit(main())
