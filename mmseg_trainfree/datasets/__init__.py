"""Datasets and transforms that mmseg lacks, and the built-in toy benchmark."""
from .ade import ADE20K847Dataset
from .base import RemappedSegDataset, make_lut
from .checks import check_config_datasets, check_dataset_paths
from .cityscapes import Cityscapes27Dataset
from .coco import COCO2014ObjectDataset, COCOObjectDataset, COCOStuff27Dataset
from .crops import CenterSquareCropResize, ResizeShortCenterCrop, ResizeTo, ResizeToSquare
from .pascal import PascalContext459Dataset, PascalVOC20Dataset
from .potsdam import Potsdam3Dataset
from .shapes import SHAPES_CLASSES, ShapesDataset, generate_shapes_dataset
from .transforms import LoadImage, LoadSegAnnotations, read_label_map

__all__ = ['ADE20K847Dataset', 'RemappedSegDataset', 'make_lut', 'check_config_datasets', 'check_dataset_paths',
           'Cityscapes27Dataset', 'COCO2014ObjectDataset', 'COCOObjectDataset', 'COCOStuff27Dataset',
           'CenterSquareCropResize', 'ResizeShortCenterCrop', 'ResizeTo', 'ResizeToSquare', 'PascalContext459Dataset',
           'PascalVOC20Dataset', 'Potsdam3Dataset', 'SHAPES_CLASSES', 'ShapesDataset', 'generate_shapes_dataset',
           'LoadImage', 'LoadSegAnnotations', 'read_label_map']
