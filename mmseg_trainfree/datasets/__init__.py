"""Datasets and transforms that mmseg lacks, and the built-in toy benchmark."""
from .checks import check_config_datasets, check_dataset_paths
from .shapes import SHAPES_CLASSES, ShapesDataset, generate_shapes_dataset
from .transforms import LoadImage

__all__ = ['check_config_datasets', 'check_dataset_paths', 'SHAPES_CLASSES', 'ShapesDataset',
           'generate_shapes_dataset', 'LoadImage']
