"""mIoU over several background scores from one model pass (tools/sweep.py --field model.background_score).

Methods that score the background with a constant (DiffSegmenter, the report's CA_CLIP) predict background where
every class scores below it. The constant leaves the other channels unchanged, so each candidate value only
replaces the background channel of the same ``seg_logits`` before the argmax: one pass serves the whole curve.
"""
from __future__ import annotations

import os.path as osp
import shutil
from typing import Optional, Sequence

import numpy as np
import torch
from mmengine.evaluator import BaseMetric
from mmengine.logging import print_log
from mmseg.evaluation import IoUMetric
from PIL import Image

from ..registry import METRICS
from .outputs import PENDING, LabelOutputs, write_png


@METRICS.register_module()
class BackgroundScoreSweepMetric(LabelOutputs, BaseMetric):
    """mIoU (and aAcc) at each background score of ``values``, as ``mIoU@<value>`` (the best also as ``mIoU``
    and ``best_background_score``). Needs samples with ``seg_logits`` whose ``background_index`` channel is the
    constant score (no CRF after it). ``protocol`` names what the best value means (e.g. weakly supervised
    segmentation's CAM protocol, which reports the best threshold on the scored split); it heads the logged
    table, and ``tools/collect_results.py`` prints it in its protocol column. ``output_dir`` (``tools/test.py
    --out``): one PNG of class ids per image at the best value, written once that value is known."""

    def __init__(self, values: Sequence[float], background_index: int = 0, ignore_index: int = 255,
                 protocol: Optional[str] = None, collect_device: str = 'cpu', prefix: Optional[str] = None,
                 output_dir: Optional[str] = None, format_only: bool = False):
        super().__init__(collect_device=collect_device, prefix=prefix)
        self._init_outputs(output_dir, format_only)
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
            counts = torch.stack(rows)  # (values, 4, classes)
            if self.output_dir:  # the best other class and its score: the prediction at any background value
                name = self.record_sample(sample)
                others = logits.clone()
                others[self.background_index] = float('-inf')
                best, index = others.max(0)
                self.write_pending(name, index.cpu().numpy())
                np.save(osp.join(self.output_dir, PENDING, name[:-4] + '.npy'), best.cpu().numpy())
                counts = (counts, name)
            self.results.append(counts)

    def compute_metrics(self, results: list) -> dict:
        names = [r[1] for r in results if isinstance(r, tuple)]
        total = torch.stack([r[0] if isinstance(r, tuple) else r for r in results]).sum(0).double()
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
        if names:
            self.write_at(self.values[best], names)
        out = {f'mIoU@{v:g}': round(m, 2) for v, m in zip(self.values, miou)}
        out.update({f'aAcc@{v:g}': round(a, 2) for v, a in zip(self.values, acc)})
        out.update(mIoU=round(miou[best], 2), best_background_score=self.values[best])
        return out

    def write_at(self, value: float, names: list[str]) -> None:
        """``DIR/<image>.png`` at background score ``value``, as the argmax of the swept logits would give it (a tie
        goes to the lower class index, as torch's argmax)."""
        pending, b = osp.join(self.output_dir, PENDING), self.background_index
        for name in names:
            index = np.array(Image.open(osp.join(pending, name))).astype(np.int64)
            best = np.load(osp.join(pending, name[:-4] + '.npy'))
            background = (value > best) | ((value == best) & (b < index))
            write_png(osp.join(self.output_dir, name), np.where(background, b, index))
        shutil.rmtree(pending, ignore_errors=True)
