"""Shared pieces of the methods: vocabularies, prompts, clustering."""
from .clustering import kmeans, normalized_affinity, spectral_clustering, spectral_embedding
from .prompts import PackedPrompt, pack_prompts
from .vocabulary import parse_class_names, read_class_name_file

__all__ = ['kmeans', 'normalized_affinity', 'spectral_clustering', 'spectral_embedding', 'PackedPrompt',
           'pack_prompts', 'parse_class_names', 'read_class_name_file']
