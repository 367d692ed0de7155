"""Segment your own images with a training-free config, the way mmseg does (``MMSegInferencer``).

mmseg's ``init_model`` / ``inference_model`` work on our configs as they are (the segmentors accept the
``pretrained=None`` / ``train_cfg=None`` that ``init_model`` sets, and the annotation loader skips images
without labels). ``MMSegInferencer`` assumes a trained checkpoint and mmseg's loader; ``TrainingFreeInferencer``
is it without those assumptions: no checkpoint, our scope, the vocabulary as its classes.
"""
from __future__ import annotations

from typing import Optional, Sequence, Union

from mmengine.config import Config
from mmengine.dataset import Compose
from mmseg.apis import MMSegInferencer

from .models.backbones.stable_diffusion import load_lazy_backbones
from .models.segmentors.base import accepts_class_names, dataset_classes, generated_palette
from .models.utils.vocabulary import ClassNames, parse_class_names
from .registry import MODELS

# transforms that need labels or crop to a benchmark's evaluation region: not applied to a user's image
NOT_AT_INFERENCE = ('LoadSegAnnotations', 'LoadAnnotations', 'ResizeShortCenterCrop', 'CenterSquareCropResize',
                    'ResizeToSquare')
CLUSTER_METRICS = ('HungarianIoUMetric', 'MaskEmbeddingIoUMetric')


def is_unsupervised(cfg: Config) -> bool:
    """Whether the config's predictions are cluster / mask ids rather than classes."""
    evaluators = cfg.get('test_evaluator') or {}
    evaluators = evaluators if isinstance(evaluators, list) else [evaluators]
    return any(str(e.get('type', '')).split('.')[-1] in CLUSTER_METRICS for e in evaluators)


def takes_class_names(model_type: str) -> bool:
    """Whether the segmentor has a vocabulary (``class_names``); DiffSeg, for one, has none."""
    cls = MODELS.get(model_type)
    return cls is not None and accepts_class_names(cls)


class TrainingFreeInferencer(MMSegInferencer):
    """``MMSegInferencer`` for training-free configs.

    Args:
        model: a config file or ``Config``.
        classes: the vocabulary to segment: a list (``'cat'``, or synonyms ``['dog', 'puppy']``), a comma-separated
            string (``'cat, dog, potted plant'``) or a class-name file. Default: the config's ``class_names``, else
            its test dataset's classes.
        device: ``'cpu'``, ``'cuda:0'`` ... (default: CUDA when available).
        cfg_options: overrides, as ``--cfg-options`` gives them.
    """

    def __init__(self, model: Union[str, Config], classes: Union[ClassNames, None] = None,
                 device: Optional[str] = None, cfg_options: Optional[dict] = None, scope: str = 'mmseg_trainfree'):
        cfg = Config.fromfile(model) if isinstance(model, str) else model.copy()
        if cfg_options:
            cfg.merge_from_dict(cfg_options)
        if isinstance(classes, str) and ',' in classes and '\n' not in classes and not classes.endswith('.txt'):
            classes = [c.strip() for c in classes.split(',')]
        self.unsupervised = is_unsupervised(cfg)
        if takes_class_names(cfg.model.type):
            if classes is not None:
                cfg.model.class_names = parse_class_names(classes)
            elif cfg.model.get('class_names') is None:
                from_dataset = dataset_classes(cfg)
                if from_dataset is None:
                    raise ValueError('give `classes` (e.g. "cat, dog, potted plant"): the config sets no class_names '
                                     'and its test dataset names no classes')
                cfg.model.class_names = from_dataset
        elif classes is not None:
            raise ValueError(f'{cfg.model.type} takes no class names: it segments without a vocabulary')
        super().__init__(model=cfg, weights=None, device=device, scope=scope)
        load_lazy_backbones(self.model)  # the weights load here (a missing model fails now, paths from this cwd)
        if self.unsupervised or self.model.dataset_meta is None:  # cluster ids, not classes: neutral names
            self.model.dataset_meta = dict(classes=self.segment_names(256), palette=generated_palette(256))
        # MMSegInferencer.visualize draws with the model's dataset_meta
        self.visualizer.set_dataset_meta(list(self.model.dataset_meta['classes']), self.model.dataset_meta['palette'])

    def _load_weights_to_model(self, model, checkpoint: Optional[dict], cfg) -> None:
        """Frozen weights come from the config's model ids; a checkpoint is not expected (and not warned about)."""
        if checkpoint is not None:
            super()._load_weights_to_model(model, checkpoint, cfg)

    def _init_pipeline(self, cfg: Config) -> Compose:
        """The test pipeline without label loading and evaluation crops, reading images as mmseg's inferencer."""
        pipeline = [dict(t) for t in cfg.test_dataloader.dataset.pipeline if t.get('type') not in NOT_AT_INFERENCE]
        loaders = [i for i, t in enumerate(pipeline) if t.get('type') in ('LoadImage', 'LoadImageFromFile')]
        if not loaders:
            raise ValueError('the test pipeline has no image loader (LoadImage / LoadImageFromFile)')
        pipeline[loaders[0]] = dict(type='mmseg.InferencerLoader')
        return Compose(pipeline)

    @staticmethod
    def segment_names(n: int) -> list[str]:
        return [f'segment {i}' for i in range(n)]


def legend(names: Sequence[str], palette: Sequence[Sequence[int]], width: int, row_height: int = 22):
    """An RGB strip (rows of a colour swatch and a name) to put under an overlay."""
    import cv2
    import numpy as np
    per_row = max(1, width // 180)
    rows = -(-len(names) // per_row) if names else 0
    strip = np.full((rows * row_height + 6, width, 3), 255, np.uint8)
    for i, (name, colour) in enumerate(zip(names, palette)):
        y, x = 3 + (i // per_row) * row_height, 6 + (i % per_row) * (width // per_row)
        cv2.rectangle(strip, (x, y + 3), (x + 16, y + row_height - 5), tuple(int(c) for c in colour), -1)
        cv2.putText(strip, str(name)[:24], (x + 22, y + row_height - 7), cv2.FONT_HERSHEY_SIMPLEX, 0.45, (0, 0, 0), 1,
                    cv2.LINE_AA)
    return strip
