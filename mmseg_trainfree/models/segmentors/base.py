"""The base of every training-free segmentor: frozen modules, vocabulary, whole / slide inference."""
from __future__ import annotations

import functools
import inspect
import itertools

from abc import abstractmethod
from typing import Callable, Optional

import torch
import torch.nn.functional as F
from mmengine.structures import PixelData
from mmseg.models.segmentors import BaseSegmentor
from mmseg.utils import OptConfigType, SampleList
from torch import Tensor

from ..backbones.stable_diffusion import load_lazy_backbones
from ..utils.class_groups import ClassGroups, load_class_groups, reduce_to_groups
from ..utils.feature_cache import FeatureCache, weights_digest
from ..utils.vocabulary import ClassNames, parse_class_names

# The score of a class that is not a candidate of the image (weakly supervised labels, category filtering):
# below every min-max normalised score.
NON_CANDIDATE_SCORE = -1.0


def generated_palette(n: int, seed: int = 0) -> list[list[int]]:
    """``n`` distinct, reproducible RGB colours (golden-ratio hues, alternating brightness)."""
    import colorsys
    colours = []
    for i in range(n):
        h = (seed * 0.1 + i * 0.618033988749895) % 1.0
        r, g, b = colorsys.hsv_to_rgb(h, 0.65 + 0.35 * (i % 2), 0.95 - 0.25 * ((i // 2) % 2))
        colours.append([round(r * 255), round(g * 255), round(b * 255)])
    return colours


def require_whole_mode(test_cfg: Optional[dict], why: str) -> None:
    """Methods whose output is per input (clusters, masks) cannot stitch slide crops: refuse slide mode."""
    if (test_cfg or {}).get('mode', 'whole') != 'whole':
        raise ValueError(f"{why}, so slide crops would not agree: use test_cfg=dict(mode='whole')")


def attach_image_labels(metas: list[dict], data_samples: SampleList, num_labels: int, method: str) -> list[dict]:
    """Weakly supervised methods: each meta gets ``image_labels``, the classes of its sample's ground truth
    (values of ``gt_sem_seg`` in 0..num_labels-1; ignore values are outside)."""
    if data_samples is None or any('gt_sem_seg' not in s for s in data_samples):
        raise ValueError(f'{method} takes image-level labels from the ground truth: the test pipeline must load '
                         'annotations (LoadSegAnnotations), so that samples carry gt_sem_seg')
    for meta, sample in zip(metas, data_samples):
        meta['image_labels'] = [c for c in sample.gt_sem_seg.data.unique().tolist() if 0 <= c < num_labels]
    return metas


def dataset_classes(cfg) -> Optional[list[str]]:
    """The class names of a config's test dataset (its ``metainfo`` or the dataset type's METAINFO), as
    ``VocabularyHook`` would give them; None when it names none."""
    from ...registry import DATASETS
    dataset = (cfg.get('test_dataloader') or {}).get('dataset') or {}
    dataset = dataset.get('datasets', [dataset])[0] if dataset.get('type') == 'ConcatDataset' else dataset
    classes = (dataset.get('metainfo') or {}).get('classes')
    if classes is None and dataset.get('type'):
        cls = DATASETS.get(dataset['type'])
        classes = getattr(cls, 'METAINFO', {}).get('classes') if cls is not None else None
    return [str(c).strip() for c in classes] if classes else None


def accepts_class_names(cls: type) -> bool:
    """Whether a segmentor class has a vocabulary (a ``class_names`` field); DiffSeg, for one, has none."""
    return 'class_names' in inspect.signature(cls.__init__).parameters


class TrainingFreeSegmentor(BaseSegmentor):
    """A ``BaseSegmentor`` with no trainable parameters.

    Subclasses implement :meth:`encode_decode`: per-class logits (B, C, H, W) at the size of the
    inputs they get (the whole image, or one crop in slide mode).

    Args:
        data_preprocessor: mmseg ``SegDataPreProcessor`` config; its mean / std define the input range
            the method expects (e.g. [-1, 1] RGB for Stable Diffusion).
        class_names: the vocabulary: a class-name file (one class a line, comma-separated synonyms)
            or a list. If None, the dataset's ``metainfo['classes']`` is used (set by
            ``VocabularyHook`` before testing, or by :meth:`set_vocabulary`).
        test_cfg: ``mode='whole'`` or ``mode='slide'`` with ``crop_size`` and ``stride`` (h, w);
            overlapping crops are averaged.
    """

    def __init_subclass__(cls, **kwargs):
        """mmseg's ``init_model`` and ``MMSegInferencer`` set ``model.pretrained = None`` and ``model.train_cfg =
        None`` on every config: each segmentor's ``__init__`` accepts those two as None (and refuses a value)."""
        super().__init_subclass__(**kwargs)
        init = cls.__dict__.get('__init__')
        if init is None or getattr(init, '_accepts_mmseg_fields', False):
            return

        @functools.wraps(init)
        def __init__(self, *args, pretrained=None, train_cfg=None, **kw):
            if pretrained is not None or train_cfg is not None:
                raise ValueError(f'{cls.__name__} is training-free: it takes no `pretrained` checkpoint and no '
                                 '`train_cfg`; frozen weights come from the model ids in its config')
            init(self, *args, **kw)

        __init__._accepts_mmseg_fields = True
        cls.__init__ = __init__

    def __init__(self, data_preprocessor: OptConfigType = None, class_names: Optional[ClassNames] = None,
                 test_cfg: OptConfigType = None, init_cfg: OptConfigType = None):
        super().__init__(data_preprocessor=data_preprocessor, init_cfg=init_cfg)
        self.test_cfg = dict(mode='whole') if test_cfg is None else dict(test_cfg)
        self._check_test_cfg(self.test_cfg)
        self.align_corners = False
        self.class_names: Optional[list[list[str]]] = None
        self.dataset_meta: Optional[dict] = None  # classes and palette once there is a vocabulary
        self.vocabulary_from_config = class_names is not None
        if class_names is not None:
            self.set_vocabulary(class_names)

    @staticmethod
    def _check_test_cfg(cfg: dict) -> None:
        mode = cfg.get('mode', 'whole')
        if mode not in ('whole', 'slide'):
            raise ValueError(f"test_cfg.mode must be 'whole' or 'slide', got {mode!r}")
        if mode == 'slide':
            for key in ('crop_size', 'stride'):
                if key not in cfg or len(cfg[key]) != 2 or min(cfg[key]) <= 0:
                    raise ValueError(f'test_cfg.{key} must be (h, w) with positive sizes for slide mode, '
                                     f'got {cfg.get(key)!r}')

    def freeze(self) -> None:
        """No gradients, eval mode; call at the end of a subclass's ``__init__``."""
        self.requires_grad_(False)
        self.eval()

    def train(self, mode: bool = True):
        return super().train(False)

    # Vocabulary
    @property
    def cfg(self):
        """The config mmseg's ``init_model`` stores on the model after building it."""
        return self.__dict__.get('_config')

    @cfg.setter
    def cfg(self, config) -> None:
        """``init_model(config)`` without ``class_names``: the vocabulary is the config's test dataset's classes, as
        ``VocabularyHook`` gives them under ``tools/test.py`` (segmentors without a vocabulary are left alone)."""
        self.__dict__['_config'] = config
        if self.class_names is None and accepts_class_names(type(self)):
            classes = dataset_classes(config)
            if classes:
                self.set_vocabulary(classes)

    def set_vocabulary(self, classes: ClassNames) -> None:
        """Set the class names (list of synonyms per class); subclasses drop their cached prompts."""
        self.class_names = parse_class_names(classes)
        # what mmseg's inferencer and visualiser read: the first name of each class and a palette
        names = [n[0] for n in self.class_names]
        self.dataset_meta = dict(classes=tuple(names), palette=generated_palette(len(names)))
        self.on_vocabulary_change()

    def on_vocabulary_change(self) -> None:
        pass

    @property
    def num_classes(self) -> int:
        if self.class_names is None:
            raise RuntimeError(f'{type(self).__name__} has no vocabulary: set `class_names` in the model config, '
                               'or test with a dataset whose metainfo has `classes` (VocabularyHook).')
        return len(self.class_names)

    class_groups: Optional[list[int]] = None

    def set_class_groups(self, groups: Optional[ClassGroups]) -> None:
        """Predict over the vocabulary (fine classes) and score over coarse ones: ``inference`` reduces the
        logits to one channel per coarse class, the max of its fine classes (see ``utils.class_groups``)."""
        self.class_groups = load_class_groups(groups) if groups is not None else None

    @property
    def num_output_classes(self) -> int:
        """Channels of ``seg_logits``: the vocabulary, or its coarse classes when ``class_groups`` is set."""
        return max(self.class_groups) + 1 if self.class_groups is not None else self.num_classes

    # Feature cache
    feature_cache: Optional[FeatureCache] = None
    _weights_digest: Optional[str] = None

    def set_feature_cache(self, cache: Optional[FeatureCache | dict]) -> None:
        """Share the expensive per-image parts of this model's computation through ``cache`` (a
        :class:`FeatureCache` or its arguments); None switches it off."""
        self.feature_cache = FeatureCache(**cache) if isinstance(cache, dict) else cache

    def weights_device(self) -> torch.device:
        """The device of the frozen weights (of a lazy backbone's device buffer when its weights are not loaded)."""
        return next(itertools.chain(self.parameters(), self.buffers())).device

    def cached_modules(self) -> list:
        """The frozen modules whose weights the cached parts depend on (the Stable Diffusion backbone)."""
        return [getattr(self, 'backbone', None)]

    def cache_key(self, part: str, **settings) -> dict:
        """The key of one cached ``part``: this method, a digest of the weights (computed once) and ``settings``,
        everything else the part depends on."""
        if self._weights_digest is None:
            modules = self.cached_modules()
            for module in modules:  # a lazy backbone's digest is of its weights, never of the empty module
                if module is not None:
                    load_lazy_backbones(module)
            self._weights_digest = weights_digest(modules)
        scheduler = getattr(getattr(self, 'backbone', None), 'scheduler', None)  # the noise schedule
        if scheduler is not None:  # its values and class; not diffusers' bookkeeping (_use_default_values is a
            # set written as a list, in an order that changes with the process's hash seed)
            settings = dict(settings, scheduler={k: v for k, v in scheduler.config.items()
                                                 if not k.startswith('_') or k == '_class_name'})
        return dict(method=type(self).__name__, part=part, weights=self._weights_digest, **settings)

    def cached(self, part: str, settings: dict, compute: Callable[[], dict[str, Tensor]]) -> dict[str, Tensor]:
        """``compute()``, or its tensors from the feature cache when one is set."""
        if self.feature_cache is None:
            return compute()
        device = self.weights_device()
        return self.feature_cache.get_or_compute(self.cache_key(part, **settings), compute, device)

    def cached_rows(self, part: str, row_settings: list[dict],
                    compute: Callable[[list[int]], dict[str, Tensor]]) -> dict[str, Tensor]:
        """Tensors with one row per entry of ``row_settings``, each row cached under its own settings;
        ``compute(rows)`` gets the indices of the rows not in the cache and returns theirs, in that order."""
        cache = self.feature_cache
        if cache is None:
            return compute(list(range(len(row_settings))))
        device = self.weights_device()
        keys = [self.cache_key(part, **settings) for settings in row_settings]
        rows = [cache.load(k, device) for k in keys]
        missing = [i for i, r in enumerate(rows) if r is None]
        cache.hits += len(rows) - len(missing)
        cache.misses += len(missing)
        if missing:
            computed = compute(missing)
            for j, i in enumerate(missing):
                rows[i] = {name: value[j] for name, value in computed.items()}
                cache.store(keys[i], rows[i])
            if len(missing) == len(rows):
                return computed
        return {name: torch.stack([r[name] for r in rows]) for name in rows[0]}

    def cached_per_image(self, part: str, inputs: Tensor, settings: dict,
                         compute: Callable[[Tensor], dict[str, Tensor]]) -> dict[str, Tensor]:
        """``compute(inputs)`` (tensors with one row per image), each image's row cached under the image tensor
        and ``settings``; only the images not in the cache are computed (as one batch)."""
        return self.cached_rows(part, [dict(settings, input=x) for x in inputs], lambda rows: compute(inputs[rows]))

    # Training is not a thing here
    def loss(self, inputs: Tensor, data_samples: SampleList) -> dict:
        raise RuntimeError(f'{type(self).__name__} is training-free: it has no trainable parameters and no loss. '
                           'Evaluate it with tools/test.py; configs need no train_dataloader / train_cfg.')

    def extract_feat(self, inputs: Tensor):
        raise NotImplementedError(f'{type(self).__name__} computes features inside encode_decode')

    @abstractmethod
    def encode_decode(self, inputs: Tensor, batch_img_metas: list[dict]) -> Tensor:
        """Per-class logits (B, C, H, W) at the size of ``inputs``."""

    # Inference
    def _forward(self, inputs: Tensor, data_samples: SampleList = None) -> Tensor:
        return self.inference(inputs, self._metas(inputs, data_samples))

    @staticmethod
    def _metas(inputs: Tensor, data_samples: SampleList = None) -> list[dict]:
        if data_samples is not None:
            return [s.metainfo for s in data_samples]
        shape = tuple(inputs.shape[2:])
        return [dict(ori_shape=shape, img_shape=shape, pad_shape=shape, padding_size=[0, 0, 0, 0])
                for _ in range(inputs.shape[0])]

    @torch.no_grad()
    def predict(self, inputs: Tensor, data_samples: SampleList = None) -> SampleList:
        seg_logits = self.inference(inputs, self._metas(inputs, data_samples))
        if seg_logits.shape[1] == 1:  # mmseg thresholds one channel with a decode head we do not have
            seg_logits = torch.cat([seg_logits, torch.full_like(seg_logits, float('-inf'))], 1)
            samples = self.postprocess_result(seg_logits, data_samples)
            for s in samples:
                s.seg_logits = PixelData(data=s.seg_logits.data[:1])
            return samples
        return self.postprocess_result(seg_logits, data_samples)

    def inference(self, inputs: Tensor, batch_img_metas: list[dict]) -> Tensor:
        if self.test_cfg.get('mode', 'whole') == 'slide':
            logits = self.slide_inference(inputs, batch_img_metas)[0]
        else:
            logits = self.encode_decode(inputs, batch_img_metas)
        if self.class_groups is None:
            return logits
        if len(self.class_groups) != self.num_classes:
            raise ValueError(f'class_groups maps {len(self.class_groups)} fine classes but the vocabulary has '
                             f'{self.num_classes}')
        return reduce_to_groups(logits, self.class_groups)

    def slide_inference(self, inputs: Tensor, batch_img_metas: list[dict]) -> tuple[Tensor, Tensor]:
        """Logits averaged over overlapping crops, and the per-pixel crop count.

        Crops are ``crop_size`` windows every ``stride``; the last row and column are shifted back to
        end at the border, so every pixel is covered; an image smaller than a crop is one crop.
        """
        (h_stride, w_stride), (h_crop, w_crop) = self.test_cfg['stride'], self.test_cfg['crop_size']
        b, _, h_img, w_img = inputs.shape
        h_grids = max(h_img - h_crop + h_stride - 1, 0) // h_stride + 1
        w_grids = max(w_img - w_crop + w_stride - 1, 0) // w_stride + 1
        logits, count = None, inputs.new_zeros((b, 1, h_img, w_img))
        for hi in range(h_grids):
            for wi in range(w_grids):
                y2, x2 = min(hi * h_stride + h_crop, h_img), min(wi * w_stride + w_crop, w_img)
                y1, x1 = max(y2 - h_crop, 0), max(x2 - w_crop, 0)
                crop = inputs[:, :, y1:y2, x1:x2]
                metas = [dict(m, img_shape=tuple(crop.shape[2:]), crop_box=(y1, y2, x1, x2)) for m in batch_img_metas]
                crop_logits = self.encode_decode(crop, metas)
                if logits is None:
                    logits = inputs.new_zeros((b, crop_logits.shape[1], h_img, w_img))
                logits += F.pad(crop_logits.to(logits.dtype), (x1, w_img - x2, y1, h_img - y2))
                count[:, :, y1:y2, x1:x2] += 1
        return logits / count, count
