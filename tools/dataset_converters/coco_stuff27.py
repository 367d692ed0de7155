"""Write COCO-Stuff-27 label maps (27 coarse classes, 255 unlabelled) from COCO-Stuff-164k stuffthingmaps.

    python tools/dataset_converters/coco_stuff27.py data/coco_stuff164k/annotations/val2017

writes <name>_labelTrainIds27.png (label_source='converted'). COCOStuff27Dataset also reads mmseg's
*_labelTrainIds.png (default) or the release PNGs directly, mapping them on the fly.
"""
import argparse
import sys

from mmseg_trainfree.datasets.base import make_lut
from mmseg_trainfree.datasets.converters import convert_label_dir
from mmseg_trainfree.datasets.meta.coco import RAW182_TO_COARSE27


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument('label_dir', help='stuffthingmaps PNGs (raw COCO-Stuff ids 0..181, 255 unlabelled)')
    p.add_argument('-o', '--out-dir', help='default: beside the inputs')
    p.add_argument('--nproc', type=int, default=1)
    args = p.parse_args(argv)
    n = convert_label_dir(args.label_dir, args.out_dir or args.label_dir, make_lut(RAW182_TO_COARSE27), '.png',
                          '_labelTrainIds27.png', args.nproc)
    print(f'\nwrote {n} COCO-Stuff-27 label maps')
    return 0


if __name__ == '__main__':
    sys.exit(main())
