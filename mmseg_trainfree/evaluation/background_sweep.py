"""mIoU over several background scores from one model pass (tools/sweep.py --field model.background_score).

Methods that score the background with a constant (DiffSegmenter, the report's CA_CLIP) predict background where
every class scores below it. The constant leaves the other channels unchanged, so each candidate value only
replaces the background channel of the same ``seg_logits`` before the argmax: one pass serves the whole curve.
"""
from __future__ import annotations

from typing import Optional, Sequence

import torch
from mmengine.evaluator import BaseMetric
from mmengine.logging import print_log
from mmseg.evaluation import IoUMetric

from ..registry import METRICS


@METRICS.register_module()
class BackgroundScoreSweepMetric(BaseMetric):
    """mIoU (and aAcc) at each background score of ``values``, as ``mIoU@<value>`` (the best also as ``mIoU``
    and ``best_background_score``). Needs samples with ``seg_logits`` whose ``background_index`` channel is the
    constant score (no CRF after it). ``protocol`` names what the best value means (e.g. weakly supervised
    segmentation's CAM protocol, which reports the best threshold on the scored split); it heads the logged
    table, and ``tools/collect_results.py`` prints it in its protocol column."""

    def __init__(self, values: Sequence[float], background_index: int = 0, ignore_index: int = 255,
                 protocol: Optional[str] = None, collect_device: str = 'cpu', prefix: Optional[str] = None):
        super().__init__(collect_device=collect_device, prefix=prefix)
        if not values:
            raise ValueError('BackgroundScoreSweepMetric: give at least one value')
        self.values = [float(v) for v in values]
        self.background_index, self.ignore_index = int(background_index), int(ignore_index)
        self.protocol = protocol

    def process(self, data_batch, data_samples: Sequence[dict]) -> None:
        for sample in data_samples:
            if 'seg_logits' not in sample:
                raise ValueError('BackgroundScoreSweepMetric needs seg_logits in the predictions')
            logits = sample['seg_logits']['data'].float()
            label = sample['gt_sem_seg']['data'].squeeze().to(logits.device)
            num = logits.shape[0]
            rows = []
            for value in self.values:
                swept = logits.clone()
                swept[self.background_index] = value
                rows.append(torch.stack(IoUMetric.intersect_and_union(swept.argmax(0), label, num,
                                                                      self.ignore_index)).cpu())
            self.results.append(torch.stack(rows))  # (values, 4, classes)

    def compute_metrics(self, results: list) -> dict:
        total = torch.stack(results).sum(0).double()  # (values, 4, classes)
        inter, union, label = total[:, 0], total[:, 1], total[:, 3]
        # as mmseg's IoUMetric: a class absent from the labels but predicted has IoU 0; NaN only with no union
        iou = torch.where(union > 0, inter / union.clamp(min=1), torch.full_like(inter, float('nan')))
        miou = [float(torch.nanmean(row)) * 100 for row in iou]
        acc = [float(inter[i].sum() / label[i].sum().clamp(min=1)) * 100 for i in range(len(self.values))]
        best = max(range(len(self.values)), key=lambda i: miou[i])
        lines = [f'{self.protocol}:'] if self.protocol else []
        lines += ['background score | mIoU | aAcc', '---|---|---']
        lines += [f'{v:g}{" (best)" if i == best else ""} | {m:.2f} | {a:.2f}'
                  for i, (v, m, a) in enumerate(zip(self.values, miou, acc))]
        print_log('\n'.join(lines), logger='current')
        out = {f'mIoU@{v:g}': round(m, 2) for v, m in zip(self.values, miou)}
        out.update({f'aAcc@{v:g}': round(a, 2) for v, a in zip(self.values, acc)})
        out.update(mIoU=round(miou[best], 2), best_background_score=self.values[best])
        return out
