"""Converters from the benchmarks' release formats to the files our datasets read (run by
``tools/dataset_converters/*.py``)."""
from .ade20k_847 import convert_ade20k_847
from .label_maps import convert_label_dir, label_dir_main
from .pascal_context_459 import convert_pascal_context_459

__all__ = ['convert_ade20k_847', 'convert_label_dir', 'convert_pascal_context_459', 'label_dir_main']
