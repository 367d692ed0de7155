"""Unsupervised mIoU: predictions are cluster ids, matched to classes by the Hungarian algorithm.

Two protocols, not comparable with each other (say which one a number uses):

- ``mode='dataset'`` (IIC / PiCIE / STEGO): one cluster x class confusion matrix over the whole
  dataset and one assignment. Meaningful only when cluster ids are consistent across images.
- ``mode='per_image'`` (DiffSeg): an assignment per image on a classes x max(classes, segments) matrix;
  true positives, false positives (matched segments only) and false negatives are summed over the
  dataset. Pixels of unmatched segments count as misses of their true class.
  With ``background_index`` (DiffCut's rule for VOC, Context and COCO-Object), the segments are first matched to
  the object classes present in the image, every other segment merges into one, and that matrix is matched.

Each image contributes only small sufficient statistics (its confusion matrix, or per-class
TP / FP / FN), which is what distributed runs gather.
"""
from __future__ import annotations

from collections import OrderedDict
from typing import Optional, Sequence

import numpy as np
import torch
from mmengine.evaluator import BaseMetric
from mmengine.logging import MMLogger, print_log
from prettytable import PrettyTable
from scipy.optimize import linear_sum_assignment

from ..registry import METRICS
from .iou import per_class_table
from .outputs import LabelOutputs

MODES = ('dataset', 'per_image')


def confusion(pred: torch.Tensor, label: torch.Tensor, num_classes: int, ignore_index: int) -> np.ndarray:
    """(clusters, classes) pixel counts over labelled pixels; rows are cluster ids 0..max(pred)."""
    keep = label != ignore_index
    pred, label = pred[keep].long(), label[keep].long()
    if label.numel() and (label.min() < 0 or label.max() >= num_classes):
        raise ValueError(f'ground truth holds ids outside 0..{num_classes - 1} that are not ignore_index '
                         f'{ignore_index}: {sorted(set(label.unique().tolist()) - set(range(num_classes)))[:5]}')
    if pred.numel() and pred.min() < 0:
        raise ValueError('cluster ids must be non-negative')
    k = int(pred.max()) + 1 if pred.numel() else 1
    counts = torch.bincount(pred * num_classes + label, minlength=k * num_classes)
    return counts.view(k, num_classes).cpu().numpy().astype(np.int64)


def matched_counts(conf: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Hungarian match of the rows (clusters) of a (clusters, classes) matrix to its columns, maximising
    matched pixels; per class TP, FP (other pixels of its matched cluster) and FN (all its other pixels)."""
    num_classes = conf.shape[1]
    clusters, classes = linear_sum_assignment(conf, maximize=True)
    tp, fp = np.zeros(num_classes, np.int64), np.zeros(num_classes, np.int64)
    tp[classes] = conf[clusters, classes]
    fp[classes] = conf[clusters].sum(1) - tp[classes]
    fn = conf.sum(0) - tp
    return tp, fp, fn


def assignment(conf: np.ndarray) -> np.ndarray:
    """The class each row (cluster) of a (clusters, classes) matrix is matched to, 255 for unmatched rows."""
    lut = np.full(conf.shape[0], 255, np.int64)
    rows, classes = linear_sum_assignment(conf, maximize=True)
    lut[rows] = classes
    return lut


def per_image_assignment(conf: np.ndarray) -> np.ndarray:
    """DiffSeg's per-image matching as a cluster -> class table (255: unmatched or absent cluster)."""
    present = np.flatnonzero(conf.sum(1) > 0)
    segments = assignment(segment_confusion(conf))
    lut = np.full(conf.shape[0], 255, np.int64)
    lut[present] = segments[:len(present)]
    return lut


def segment_confusion(conf: np.ndarray) -> np.ndarray:
    """Keep the clusters that occur in the image and pad with empty segments to at least as many
    segments as classes: the DiffSeg matrix (transposed), (max(classes, segments), classes)."""
    present = conf[conf.sum(1) > 0]
    pad = max(conf.shape[1] - len(present), 0)
    return np.concatenate([present, np.zeros((pad, conf.shape[1]), np.int64)])


def merge_unmatched_segments(conf: np.ndarray, background: int) -> tuple[np.ndarray, np.ndarray]:
    """DiffCut's many-to-one background: match the clusters that occur to the object classes (all but
    ``background``); keep the clusters matched to an object class present in the image and merge all others into
    one last row. Returns the merged (rows, classes) matrix and each cluster's row in it."""
    objects = [c for c in range(conf.shape[1]) if c != background]
    present = np.flatnonzero(conf.sum(1) > 0)
    rows, cols = linear_sum_assignment(segment_confusion(conf[:, objects]), maximize=True)
    class_pixels = conf[:, objects].sum(0)
    kept = [present[r] for r, c in zip(rows, cols) if r < len(present) and class_pixels[c] > 0]
    row_of = np.full(conf.shape[0], len(kept), np.int64)
    row_of[kept] = np.arange(len(kept))
    merged = np.zeros((len(kept) + 1, conf.shape[1]), np.int64)
    np.add.at(merged, row_of, conf)
    return merged, row_of


@METRICS.register_module()
class HungarianIoUMetric(LabelOutputs, BaseMetric):
    """mIoU, per-class IoU / accuracy and pixel accuracy of cluster predictions after Hungarian matching.

    Args:
        mode: ``'dataset'`` (one matching over the dataset) or ``'per_image'`` (DiffSeg's protocol).
        background_index: per image, DiffCut's many-to-one background (:func:`merge_unmatched_segments`) for this
            class; None: every class is matched one-to-one.
        ignore_index: label value that is not evaluated (65535 for the 16-bit benchmarks).
        output_dir: ``tools/test.py --out``: one PNG of matched class ids per image (:mod:`.outputs`).
    """

    default_prefix: Optional[str] = None

    def __init__(self, mode: str = 'dataset', ignore_index: int = 255, collect_device: str = 'cpu',
                 prefix: Optional[str] = None, output_dir: Optional[str] = None, format_only: bool = False,
                 background_index: Optional[int] = None):
        super().__init__(collect_device=collect_device, prefix=prefix)
        if mode not in MODES:
            raise ValueError(f'HungarianIoUMetric mode must be one of {MODES}, got {mode!r}')
        if background_index is not None and mode != 'per_image':
            raise ValueError("HungarianIoUMetric.background_index (DiffCut's many-to-one background) needs "
                             "mode='per_image'")
        self.mode, self.ignore_index, self.background_index = mode, ignore_index, background_index
        self._init_outputs(output_dir, format_only)

    @property
    def protocol_name(self) -> str:
        merged = ', unmatched segments merged into the background' if self.background_index is not None else ''
        return f'Hungarian matching, {self.mode} protocol{merged}'

    @property
    def num_classes(self) -> int:
        classes = (self.dataset_meta or {}).get('classes')
        if not classes:
            raise ValueError('HungarianIoUMetric needs dataset_meta["classes"] (set by the runner from the dataset)')
        return len(classes)

    def process(self, data_batch: dict, data_samples: Sequence[dict]) -> None:
        for sample in data_samples:
            pred = sample['pred_sem_seg']['data'].squeeze(0)
            label = sample['gt_sem_seg']['data'].squeeze(0).to(pred.device)
            if pred.shape != label.shape:
                raise ValueError(f'prediction {tuple(pred.shape)} and ground truth {tuple(label.shape)} differ in '
                                 f'size ({sample.get("img_path")})')
            conf = confusion(pred, label, self.num_classes, self.ignore_index)
            name = self.record_sample(sample) if self.output_dir else None
            if self.mode == 'dataset':
                self.results.append(conf if name is None else (conf, name))
                if name is not None:
                    self.write_pending(name, pred.cpu().numpy())
            else:
                row_of = None
                if self.background_index is not None:
                    conf, row_of = merge_unmatched_segments(conf, self.background_index)
                self.results.append(np.stack(matched_counts(segment_confusion(conf))))
                if name is not None:
                    lut = per_image_assignment(conf)
                    self.write_classes(name, pred.cpu().numpy(), lut if row_of is None else lut[row_of])

    def compute_metrics(self, results: list) -> dict[str, float]:
        if self.mode == 'dataset':
            names = [r[1] for r in results if isinstance(r, tuple)]
            confs = [r[0] if isinstance(r, tuple) else r for r in results]
            rows = max(r.shape[0] for r in confs)
            total = np.zeros((rows, self.num_classes), np.int64)
            for r in confs:
                total[:r.shape[0]] += r
            tp, fp, fn = matched_counts(total)
            if names:
                lut = assignment(total)
                self.resolve_pending({name: lut for name in names})
        else:
            tp, fp, fn = np.sum(results, axis=0)
        return self.summarize(tp, fp, fn)

    def summarize(self, tp: np.ndarray, fp: np.ndarray, fn: np.ndarray) -> dict[str, float]:
        """mmseg-style metrics (percent) and the per-class table in the log."""
        with np.errstate(divide='ignore', invalid='ignore'):
            iou = tp / (tp + fp + fn)
            acc = tp / (tp + fn)
        labelled = (tp + fn).sum()
        metrics = OrderedDict(aAcc=round(float(tp.sum() / max(labelled, 1)) * 100, 2),
                              mIoU=round(float(np.nanmean(iou)) * 100, 2) if np.isfinite(iou).any() else float('nan'),
                              mAcc=round(float(np.nanmean(acc)) * 100, 2) if np.isfinite(acc).any() else float('nan'))
        self.per_class = per_class_table(self.dataset_meta['classes'], tp, fp, fn)  # for results.json
        table = PrettyTable()
        table.add_column('Class', list(self.dataset_meta['classes']))
        table.add_column('IoU', np.round(iou * 100, 2).tolist())
        table.add_column('Acc', np.round(acc * 100, 2).tolist())
        logger = MMLogger.get_current_instance()
        print_log(f'per class results ({self.protocol_name}):', logger)
        print_log('\n' + table.get_string(), logger=logger)
        return dict(metrics)
