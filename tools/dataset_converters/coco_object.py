"""Write COCO-Object label maps (background + 80 things) from COCO-Stuff-164k stuffthingmaps.

    python tools/dataset_converters/coco_object.py data/coco_stuff164k/annotations/val2017

writes <name>_instanceTrainIds.png beside each <name>.png (or under --out-dir): things 1..80 in COCO
order, every stuff and unlabelled pixel 0. COCOObjectDataset can also read the release PNGs directly
(label_source='stuffthingmaps').
"""
import sys

from mmseg_trainfree.datasets.coco import coco_object_lut_raw
from mmseg_trainfree.datasets.converters import label_dir_main

if __name__ == '__main__':
    sys.exit(label_dir_main(sys.argv[1:], __doc__, coco_object_lut_raw(), '_instanceTrainIds.png', 'COCO-Object'))
