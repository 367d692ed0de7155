"""Shared pieces of the methods: vocabularies, prompts, clustering, caption matching, dense CRF."""
from .caption_matching import classes_in_caption
from .clustering import kmeans, normalized_affinity, spectral_clustering, spectral_embedding
from .dense_crf import DenseCRF
from .prompts import PackedPrompt, pack_prompts
from .vocabulary import parse_class_names, read_class_name_file

__all__ = ['classes_in_caption', 'kmeans', 'normalized_affinity', 'spectral_clustering', 'spectral_embedding',
           'DenseCRF', 'PackedPrompt', 'pack_prompts', 'parse_class_names', 'read_class_name_file']
