"""EmerDiff's unsupervised evaluation (Namekata et al., ICLR 2024, Sec. 4.3, App. B): every pixel takes the
embedding of its mask; pixels are labelled with the nearest *concept* embedding.

- ``protocol='modified'`` (Table 2): the concept of class c is the mean pixel embedding over all pixels of
  ground-truth class c in the dataset; mIoU of the nearest-concept labels.
- ``protocol='traditional'`` (Table 1): as many concepts as classes, found by k-means over the dataset's
  pixel embeddings (mask embeddings weighted by their pixel counts; on unit vectors under the cosine
  distance, several seeded initialisations), then one Hungarian matching of concepts to classes over the
  dataset.

Per image only the K mask embeddings, the K x C mask-by-class pixel counts (int32, only the classes the image
holds) and the K mask sizes are kept: exact, small and what distributed runs gather.
"""
from __future__ import annotations

from typing import Optional, Sequence

import numpy as np
import torch
import torch.nn.functional as F

from ..models.utils.clustering import kmeans
from ..registry import METRICS
from .hungarian import HungarianIoUMetric, assignment, confusion, matched_counts

PROTOCOLS = ('modified', 'traditional')
DISTANCES = ('cosine', 'euclidean')


def sparse_counts(counts: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """A (K, C) mask-by-class count matrix as (the class columns with pixels, their counts (K, n)), int32:
    an image holds few of a benchmark's classes (PASCAL-Context-459: dense int64 would be 110 KB an image)."""
    cols = np.flatnonzero(counts.any(0)).astype(np.int32)
    return cols, counts[:, cols].astype(np.int32)


def class_concepts(embeddings: list[np.ndarray], counts: list, num_classes: int | None = None
                   ) -> tuple[np.ndarray, np.ndarray]:
    """Mean pixel embedding of each class (C, D) and whether the class has pixels (C,); ``counts`` are dense
    (K, C) matrices or :func:`sparse_counts` pairs (then ``num_classes`` is needed)."""
    if num_classes is None:
        num_classes = counts[0].shape[1]
    sums = np.zeros((num_classes, embeddings[0].shape[1]))
    pixels = np.zeros(num_classes, np.int64)
    for e, c in zip(embeddings, counts):
        cols, c = c if isinstance(c, tuple) else (np.arange(num_classes), c)
        sums[cols] += c.T.astype(np.float64) @ e.astype(np.float64)
        pixels[cols] += c.sum(0)
    return sums / np.maximum(pixels, 1)[:, None], pixels > 0


def traditional_concepts(embeddings: list[np.ndarray], sizes: list[np.ndarray], k: int, seed: int = 0,
                         iters: int = 100, distance: str = 'euclidean', n_init: int = 1) -> np.ndarray:
    """k-means centres (k, D) of the pixel embeddings: the mask embeddings weighted by their pixel counts.
    With ``distance='cosine'`` the embeddings are L2-normalised first (spherical k-means, so that the
    clustering and the nearest-concept assignment measure the same thing); the lowest-inertia of ``n_init``
    seeded initialisations is kept."""
    x = torch.from_numpy(np.concatenate(embeddings)).float()
    if distance == 'cosine':
        x = F.normalize(x, dim=1)
    w = torch.from_numpy(np.concatenate(sizes)).float()
    keep = w > 0
    return kmeans(x[keep], min(k, int(keep.sum())), iters, seed, weights=w[keep],
                  n_init=n_init)[1].double().numpy()


def nearest(embeddings: np.ndarray, concepts: np.ndarray, distance: str) -> np.ndarray:
    """Index of the nearest concept of each embedding."""
    e, c = torch.from_numpy(embeddings).double(), torch.from_numpy(concepts).double()
    if distance == 'cosine':
        return (F.normalize(e, dim=1) @ F.normalize(c, dim=1).T).argmax(1).numpy()
    return torch.cdist(e, c).argmin(1).numpy()


@METRICS.register_module()
class MaskEmbeddingIoUMetric(HungarianIoUMetric):
    """mIoU of mask predictions (``pred_sem_seg`` = mask ids) whose samples carry ``mask_embeddings``.

    Args:
        protocol: ``'modified'`` or ``'traditional'`` (see the module docstring).
        distance: how "nearest concept" is measured: ``'cosine'`` (default) or ``'euclidean'``, in both
            protocols; the traditional protocol's k-means then runs on unit vectors (cosine) or raw ones.
        seed / kmeans_iters / kmeans_inits: of the traditional protocol's k-means; the initialisation of
            lowest inertia among ``kmeans_inits`` seeded ones (seed, seed + 1, ...) is kept.
        output_dir: ``tools/test.py --out``: one PNG per image of the class each pixel's mask is given.
    """

    def __init__(self, protocol: str = 'modified', distance: str = 'cosine', ignore_index: int = 255,
                 seed: int = 0, kmeans_iters: int = 100, kmeans_inits: int = 10, collect_device: str = 'cpu',
                 prefix: Optional[str] = None, output_dir: Optional[str] = None, format_only: bool = False):
        if protocol not in PROTOCOLS:
            raise ValueError(f'protocol must be one of {PROTOCOLS}, got {protocol!r}')
        if distance not in DISTANCES:
            raise ValueError(f'distance must be one of {DISTANCES}, got {distance!r}')
        super().__init__('dataset', ignore_index, collect_device, prefix, output_dir, format_only)
        if kmeans_inits < 1:
            raise ValueError(f'kmeans_inits must be >= 1, got {kmeans_inits}')
        self.protocol, self.distance, self.seed, self.kmeans_iters = protocol, distance, seed, kmeans_iters
        self.kmeans_inits = kmeans_inits

    @property
    def protocol_name(self) -> str:
        return f'EmerDiff {self.protocol} protocol, mask embeddings'

    def process(self, data_batch: dict, data_samples: Sequence[dict]) -> None:
        for sample in data_samples:
            if 'mask_embeddings' not in sample:
                raise KeyError('MaskEmbeddingIoUMetric needs data samples with `mask_embeddings` (EmerDiff sets '
                               'them); for plain cluster ids use HungarianIoUMetric')
            embeddings = sample['mask_embeddings'].detach().float().cpu().numpy()
            pred = sample['pred_sem_seg']['data'].squeeze(0).cpu()
            label = sample['gt_sem_seg']['data'].squeeze(0).cpu()
            k = embeddings.shape[0]
            if int(pred.max()) >= k:
                raise ValueError(f'mask id {int(pred.max())} but only {k} mask embeddings ({sample.get("img_path")})')
            counts = np.zeros((k, self.num_classes), np.int64)
            conf = confusion(pred, label, self.num_classes, self.ignore_index)
            counts[:conf.shape[0]] = conf
            sizes = torch.bincount(pred.flatten().long(), minlength=k).numpy().astype(np.int32)
            name = None
            if self.output_dir:
                name = self.record_sample(sample)
                self.write_pending(name, pred.numpy())
            self.results.append((embeddings, sparse_counts(counts), sizes, name))

    def compute_metrics(self, results: list) -> dict[str, float]:
        embeddings, counts, sizes, names = (list(r) for r in zip(*results))
        mask_classes = []  # per image: the class of each mask (written with --out)
        if self.protocol == 'modified':
            concepts, valid = class_concepts(embeddings, counts, self.num_classes)
            index = np.flatnonzero(valid)
            conf = np.zeros((self.num_classes, self.num_classes), np.int64)
            for e, (cols, c) in zip(embeddings, counts):
                mask_classes.append(index[nearest(e, concepts[index], self.distance)])
                np.add.at(conf, (mask_classes[-1][:, None], cols[None]), c)
            tp = np.diag(conf).copy()
            fp, fn = conf.sum(1) - tp, conf.sum(0) - tp
        else:
            centres = traditional_concepts(embeddings, sizes, self.num_classes, self.seed, self.kmeans_iters,
                                           self.distance, self.kmeans_inits)
            conf = np.zeros((len(centres), self.num_classes), np.int64)
            concept_of_mask = [nearest(e, centres, self.distance) for e in embeddings]
            for m, (cols, c) in zip(concept_of_mask, counts):
                np.add.at(conf, (m[:, None], cols[None]), c)
            tp, fp, fn = matched_counts(conf)
            if any(names):
                lut = assignment(conf)
                mask_classes = [lut[m] for m in concept_of_mask]
        if any(names):
            self.resolve_pending({n: m for n, m in zip(names, mask_classes) if n})
        return self.summarize(tp, fp, fn)
