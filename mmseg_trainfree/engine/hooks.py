"""Hooks that connect the test loop to training-free models."""
from __future__ import annotations

import os.path as osp
from typing import Optional

import cv2
import mmcv
import numpy as np
import torch
from mmengine import fileio
from mmengine.hooks import Hook
from mmengine.model import is_model_wrapper
from mmengine.structures import PixelData
from mmseg.engine.hooks import SegVisualizationHook
from mmseg.structures import SegDataSample

from ..datasets.crops import apply_eval_crop
from ..evaluation.hungarian import HungarianIoUMetric, confusion, per_image_assignment
from ..models.utils.feature_cache import FeatureCache
from ..registry import HOOKS


def matched_for_display(sample: SegDataSample, num_classes: int, ignore_index: int) -> SegDataSample:
    """A copy of a cluster prediction whose clusters are renamed to the classes they match in this image
    (DiffSeg's per-image Hungarian matching against the ground truth; unmatched clusters 255, not drawn)."""
    pred = sample.pred_sem_seg.data[0]
    gt = sample.gt_sem_seg.data[0].to(pred.device)
    lut = torch.from_numpy(per_image_assignment(confusion(pred, gt, num_classes, ignore_index)))
    shown = sample.clone()
    shown.set_data({'pred_sem_seg': PixelData(data=lut[pred.long().cpu()][None].to(pred.device))})
    return shown


@HOOKS.register_module()
class FeatureCacheHook(Hook):
    """Give the model a :class:`FeatureCache` before testing (``tools/test.py --cache-dir``, or the config's
    top-level ``feature_cache``) and log its use after."""

    priority = 'VERY_HIGH'

    def __init__(self, root: str, max_size: int | str = '50GB', policy: str = 'lru'):
        self.cache = FeatureCache(root, max_size, policy)  # a bad size or policy fails before the model loads

    def before_test(self, runner) -> None:
        model = runner.model.module if is_model_wrapper(runner.model) else runner.model
        if not hasattr(model, 'set_feature_cache'):
            raise TypeError(f'feature_cache: {type(model).__name__} has no set_feature_cache (a training-free '
                            'segmentor of mmseg_trainfree has)')
        model.set_feature_cache(self.cache)
        runner.logger.info(f'feature cache: {self.cache.root} ({self.cache.stats()["size_mb"]:.1f} MiB of '
                           f'{self.cache.max_size / 2 ** 30:.1f} GiB, policy {self.cache.policy})')

    def after_test(self, runner) -> None:
        runner.logger.info('feature cache: ' + ', '.join(f'{k} {v}' for k, v in self.cache.stats().items()))


@HOOKS.register_module()
class VocabularyHook(Hook):
    """Before testing, give the model the dataset's class names unless its config set ``class_names``.

    If the config did set them, their number must equal the dataset's, or every class id would be
    evaluated against the wrong ground truth.
    """

    priority = 'VERY_HIGH'

    def before_test(self, runner) -> None:
        model = runner.model.module if is_model_wrapper(runner.model) else runner.model
        if not hasattr(model, 'set_vocabulary'):
            return
        classes = runner.test_dataloader.dataset.metainfo.get('classes')
        if model.vocabulary_from_config:
            outputs = getattr(model, 'num_output_classes', model.num_classes)
            if classes is not None and len(classes) != outputs:
                raise ValueError(f'model.class_names lists {model.num_classes} classes'
                                 + (f' scored as {outputs}' if outputs != model.num_classes else '')
                                 + f' but the test dataset has {len(classes)} '
                                 f'({type(runner.test_dataloader.dataset).__name__}); they must match one to one, '
                                 'in order')
            return
        if not classes:
            raise ValueError('the test dataset has no metainfo["classes"]; set model.class_names in the config')
        model.set_vocabulary(list(classes))


@HOOKS.register_module()
class EvalCropVisualizationHook(SegVisualizationHook):
    """mmseg's ``SegVisualizationHook`` for pipelines that evaluate at a crop (the unsupervised protocols):
    the image is cut the way the sample's ``eval_crop`` says before predictions and ground truth are
    drawn over it; without ``eval_crop`` it behaves as mmseg's hook.

    Cluster predictions (configs scored by ``HungarianIoUMetric`` or ``MaskEmbeddingIoUMetric``) hold cluster
    ids, not classes: each image's clusters are drawn as the classes they match in that image (per-image
    Hungarian matching against its ground truth, as DiffSeg scores), unmatched ones are left undrawn. Under a
    dataset-level protocol this display matching is per image, not the one that was scored.

    Arguments besides mmseg's.

    Args:
        min_side: images whose short side is smaller are enlarged by an integer factor (the image
            bicubic, the label maps nearest) before drawing, so that the class names mmseg writes (sized
            relative to the image) stay readable on small images; None draws at the evaluated size.
    """

    def __init__(self, *args, min_side: Optional[int] = None, **kwargs):
        super().__init__(*args, **kwargs)
        self.min_side = min_side

    def _after_iter(self, runner, batch_idx: int, data_batch: dict, outputs, mode: str = 'val') -> None:
        if self.draw is False or mode == 'train' or not self.every_n_inner_iters(batch_idx, self.interval):
            return
        for output in outputs:
            img = mmcv.imfrombytes(fileio.get(output.img_path, backend_args=self.backend_args), channel_order='rgb')
            crop = output.metainfo.get('eval_crop')
            if crop is not None:
                img = apply_eval_crop(img, crop)
            elif img.shape[:2] != tuple(output.ori_shape):
                raise ValueError(f'{output.img_path}: the image is {img.shape[:2]} but the sample was evaluated at '
                                 f'{tuple(output.ori_shape)}; pack the crop with PackSegInputs(meta_keys=(..., '
                                 "'eval_crop'))")
            metric = self._cluster_metric(runner)
            if metric is not None and 'gt_sem_seg' in output:
                output = matched_for_display(output, metric.num_classes, metric.ignore_index)
            img, output = self._enlarge(img, output)
            self._visualizer.add_datasample(f'{mode}_{osp.basename(output.img_path)}', img, data_sample=output,
                                            show=self.show, wait_time=self.wait_time, step=runner.iter)

    @staticmethod
    def _cluster_metric(runner) -> Optional[HungarianIoUMetric]:
        """The test evaluator's cluster metric, if the predictions are cluster ids."""
        evaluator = getattr(runner, 'test_evaluator', None)
        return next((m for m in getattr(evaluator, 'metrics', []) if isinstance(m, HungarianIoUMetric)), None)

    def _enlarge(self, img: np.ndarray, sample: SegDataSample) -> tuple[np.ndarray, SegDataSample]:
        """The image and a copy of the sample with its label maps enlarged to at least ``min_side``."""
        factor = 0 if self.min_side is None else -(-self.min_side // min(img.shape[:2]))
        if factor <= 1:
            return img, sample
        img = cv2.resize(img, None, fx=factor, fy=factor, interpolation=cv2.INTER_CUBIC)
        sample = sample.clone()
        for key in ('gt_sem_seg', 'pred_sem_seg'):
            if key in sample:
                data = sample.get(key).data
                sample.set_data({key: PixelData(data=data.repeat_interleave(factor, -2).repeat_interleave(factor, -1))})
        return img, sample
