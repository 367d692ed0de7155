"""Metrics that mmseg lacks."""
from .background_sweep import BackgroundScoreSweepMetric
from .hungarian import HungarianIoUMetric, confusion, matched_counts, segment_confusion
from .mask_embedding import MaskEmbeddingIoUMetric, class_concepts, traditional_concepts

__all__ = ['BackgroundScoreSweepMetric', 'HungarianIoUMetric', 'confusion', 'matched_counts', 'segment_confusion',
           'MaskEmbeddingIoUMetric', 'class_concepts', 'traditional_concepts']
