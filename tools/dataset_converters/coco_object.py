"""Write COCO-Object label maps (background + 80 things) from COCO-Stuff-164k stuffthingmaps.

    python tools/dataset_converters/coco_object.py data/coco_stuff164k/annotations/val2017

writes <name>_instanceTrainIds.png beside each <name>.png (or under --out-dir): things 1..80 in COCO
order, every stuff and unlabelled pixel 0. COCOObjectDataset can also read the release PNGs directly
(label_source='stuffthingmaps').
"""
import argparse
import sys

from mmseg_trainfree.datasets.coco import coco_object_lut_raw
from mmseg_trainfree.datasets.converters import convert_label_dir


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument('label_dir', help='stuffthingmaps PNGs (raw COCO-Stuff ids 0..181, 255 unlabelled)')
    p.add_argument('-o', '--out-dir', help='default: beside the inputs')
    p.add_argument('--nproc', type=int, default=1)
    args = p.parse_args(argv)
    n = convert_label_dir(args.label_dir, args.out_dir or args.label_dir, coco_object_lut_raw(), '.png',
                          '_instanceTrainIds.png', args.nproc)
    print(f'\nwrote {n} COCO-Object label maps')
    return 0


if __name__ == '__main__':
    sys.exit(main())
