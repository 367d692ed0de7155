"""Metrics that mmseg lacks, and mmseg's IoUMetric keeping its per-class table."""
from .background_sweep import BackgroundScoreSweepMetric
from .hungarian import HungarianIoUMetric, confusion, matched_counts, segment_confusion
from .iou import IoUMetric
from .mask_embedding import MaskEmbeddingIoUMetric, class_concepts, traditional_concepts

__all__ = ['BackgroundScoreSweepMetric', 'HungarianIoUMetric', 'IoUMetric', 'MaskEmbeddingIoUMetric', 'confusion',
           'matched_counts', 'segment_confusion', 'class_concepts', 'traditional_concepts']
