"""Shared pieces of the methods: vocabularies, prompts, resizing."""
from .prompts import PackedPrompt, pack_prompts
from .vocabulary import parse_class_names, read_class_name_file

__all__ = ['PackedPrompt', 'pack_prompts', 'parse_class_names', 'read_class_name_file']
