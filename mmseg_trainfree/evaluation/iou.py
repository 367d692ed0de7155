"""mmseg's IoUMetric, keeping its per-class IoU and accuracy for the results file (``per_class``).

Registered as ``IoUMetric`` in this package's scope, so every config's ``dict(type='IoUMetric')`` gets it; it
computes and prints exactly what mmseg's does (``mmseg.IoUMetric`` still names the original)."""
from __future__ import annotations

import numpy as np
from mmseg.evaluation import IoUMetric as MMSegIoUMetric

from ..registry import METRICS


def per_class_table(classes, tp, fp, fn) -> dict[str, dict[str, float]]:
    """{'IoU': {class: percent}, 'Acc': {...}} from per-class counts; NaN (no pixels) becomes None."""
    tp, fp, fn = (np.asarray(x, np.float64) for x in (tp, fp, fn))
    with np.errstate(divide='ignore', invalid='ignore'):
        iou, acc = tp / (tp + fp + fn) * 100, tp / (tp + fn) * 100
    as_json = (lambda v: None if not np.isfinite(v) else round(float(v), 2))
    return {'IoU': {c: as_json(v) for c, v in zip(classes, iou)}, 'Acc': {c: as_json(v) for c, v in zip(classes, acc)}}


@METRICS.register_module(name='IoUMetric')
class IoUMetric(MMSegIoUMetric):
    """mmseg's ``IoUMetric``; after ``compute_metrics``, ``per_class`` holds the per-class IoU and accuracy."""

    per_class: dict | None = None

    def compute_metrics(self, results: list) -> dict[str, float]:
        metrics = super().compute_metrics(results)
        if results and not self.format_only:
            inter, _, pred, label = (np.sum([np.asarray(r[i]) for r in results], axis=0) for i in range(4))
            self.per_class = per_class_table(self.dataset_meta['classes'], inter, pred - inter, label - inter)
        return metrics
