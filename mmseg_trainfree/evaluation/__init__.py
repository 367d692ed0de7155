"""Metrics that mmseg lacks."""
from .hungarian import HungarianIoUMetric, confusion, matched_counts, segment_confusion

__all__ = ['HungarianIoUMetric', 'confusion', 'matched_counts', 'segment_confusion']
