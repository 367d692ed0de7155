"""Write COCO-Stuff-27 label maps (27 coarse classes, 255 unlabelled) from COCO-Stuff-164k stuffthingmaps.

    python tools/dataset_converters/coco_stuff27.py data/coco_stuff164k/annotations/val2017

writes <name>_labelTrainIds27.png (label_source='converted'). COCOStuff27Dataset also reads mmseg's
*_labelTrainIds.png (default) or the release PNGs directly, mapping them on the fly.
"""
import sys

from mmseg_trainfree.datasets.base import make_lut
from mmseg_trainfree.datasets.meta.coco import RAW182_TO_COARSE27
from mmseg_trainfree.datasets.converters import label_dir_main

if __name__ == '__main__':
    sys.exit(label_dir_main(sys.argv[1:], __doc__, make_lut(RAW182_TO_COARSE27), '_labelTrainIds27.png',
                            'COCO-Stuff-27'))
