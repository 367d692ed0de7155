"""Hooks that connect the test loop to training-free models."""
from __future__ import annotations

import os.path as osp

import mmcv
from mmengine import fileio
from mmengine.hooks import Hook
from mmengine.model import is_model_wrapper
from mmseg.engine.hooks import SegVisualizationHook

from ..datasets.crops import apply_eval_crop
from ..registry import HOOKS


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
    drawn over it; without ``eval_crop`` it behaves as mmseg's hook."""

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
            self._visualizer.add_datasample(f'{mode}_{osp.basename(output.img_path)}', img, data_sample=output,
                                            show=self.show, wait_time=self.wait_time, step=runner.iter)
