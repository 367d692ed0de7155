"""Unsupervised MaskDiffusion (Kawano & Aoki 2024, Sec. 3.3, Table 3): cluster the internal features of one UNet
pass with an empty prompt, then use the clusters in place of the cross-attention maps of Eq. 5."""
from __future__ import annotations

from typing import Optional, Sequence

import torch
import torch.nn.functional as F
from torch import Tensor

from ...registry import MODELS
from ..attention import FeatureRecorder
from ..utils.clustering import EIGEN_SOLVERS, kmeans, spectral_clustering
from .base import require_whole_mode
from .diffusion_base import DEFAULT_FEATURE_LAYERS, DiffusionFeatureSegmentor
from .maskdiffusion import assign_classes, class_prototypes, finest_grid, internal_features

CLUSTERINGS = ('spectral', 'kmeans')


@MODELS.register_module()
class UnsupervisedMaskDiffusion(DiffusionFeatureSegmentor):
    """Per-image clusters of Stable Diffusion internal features; predictions are cluster ids, evaluated
    with ``HungarianIoUMetric``.

    Arguments besides :class:`DiffusionFeatureSegmentor`'s.

    Args:
        num_clusters: clusters per image.
        clustering: ``'spectral'`` (Unsupervised MaskDiffusion: cosine similarity map h (Eq. 7), graph
            Laplacian, its smallest eigenvectors, k-means on them) or ``'kmeans'`` (Table 3's k-means
            on SD internal features baseline).
        cluster_size: (h, w) f is resized to before clustering (paper: 100 x 100).
        prompt: the text condition (paper: the empty string).
        eigen_solver: ``'lobpcg'`` (only the needed eigenvectors) or ``'eigh'`` (dense, exact).
        refine: replace the cross-attention map of Eq. 5 by the binary clusters and assign each pixel to
            the nearest prototype by cosine (Eq. 6), as the paper does; False returns the clusters as they are.
    """

    def __init__(self, backbone: dict, data_preprocessor: Optional[dict] = None, num_clusters: int = 10,
                 clustering: str = 'spectral', cluster_size: Sequence[int] = (100, 100), prompt: str = '',
                 eigen_solver: str = 'lobpcg', kmeans_iters: int = 50, refine: bool = True,
                 image_size: Optional[Sequence[int]] = (512, 512), timestep: int = 1, add_noise: bool = True,
                 seed: int = 0, feature_layers: Sequence[str] = DEFAULT_FEATURE_LAYERS,
                 test_cfg: Optional[dict] = None, init_cfg=None):
        require_whole_mode(test_cfg, 'UnsupervisedMaskDiffusion clusters each input on its own')
        if not feature_layers:
            raise ValueError('UnsupervisedMaskDiffusion needs at least one feature layer')
        if clustering not in CLUSTERINGS:
            raise ValueError(f'clustering must be one of {CLUSTERINGS}, got {clustering!r}')
        if eigen_solver not in EIGEN_SOLVERS:
            raise ValueError(f'eigen_solver must be one of {EIGEN_SOLVERS}, got {eigen_solver!r}')
        if num_clusters < 1 or num_clusters > cluster_size[0] * cluster_size[1]:
            raise ValueError(f'num_clusters must be in 1..{cluster_size[0] * cluster_size[1]} (cluster_size '
                             f'{tuple(cluster_size)}), got {num_clusters}')
        super().__init__(backbone, data_preprocessor, None, image_size, timestep, add_noise, seed, feature_layers,
                         test_cfg, init_cfg)
        self.num_clusters, self.clustering = int(num_clusters), clustering
        self.cluster_size, self.prompt = tuple(cluster_size), prompt
        self.eigen_solver, self.kmeans_iters, self.refine = eigen_solver, kmeans_iters, refine
        self.freeze()

    @property
    def num_classes(self) -> int:
        return self.num_clusters

    def set_vocabulary(self, classes) -> None:
        """Clusters need no vocabulary; the dataset's classes are only used by the metric."""

    def internal_feature_map(self, inputs: Tensor) -> Tensor:
        """f: (B, D, h, w), L2-normalised per pixel, at the resolution of the largest feature layer; cached per
        image (``feature_cache``): what K, the clustering and its size do not change."""
        def compute(x: Tensor) -> dict[str, Tensor]:
            latents = self.noisy_latents(self.resize_input(x))
            text = self.backbone.encode_prompts([self.prompt]).expand(latents.shape[0], -1, -1)
            with FeatureRecorder(self.backbone.unet, self.feature_layers) as feats:
                self.backbone.unet_forward(latents, self.timestep, text)
            maps = [feats[n][0] for n in self.feature_layers]
            return dict(features=internal_features(maps, finest_grid(maps)))

        settings = dict(size=self.model_input_size(*inputs.shape[2:]), timestep=self.timestep,
                        add_noise=self.add_noise, seed=self.seed, prompt=self.prompt, layers=self.feature_layers)
        return self.cached_per_image('features', inputs, settings, compute)['features']

    def cluster(self, features: Tensor) -> Tensor:
        """Cluster ids (h, w) of one image's features (D, h, w)."""
        d, h, w = features.shape
        rows = features.reshape(d, h * w).T
        if self.clustering == 'spectral':
            labels = spectral_clustering(rows, self.num_clusters, self.eigen_solver, self.seed, self.kmeans_iters)
        else:
            labels = kmeans(rows, self.num_clusters, self.kmeans_iters, self.seed)[0]
        return labels.view(h, w)

    def encode_decode(self, inputs: Tensor, batch_img_metas: list[dict]) -> Tensor:
        features = F.interpolate(self.internal_feature_map(inputs), self.cluster_size, mode='bilinear',
                                 align_corners=False)
        features = F.normalize(features, dim=1)
        masks = torch.stack([F.one_hot(self.cluster(f), self.num_clusters).permute(2, 0, 1) for f in features])
        masks = masks.to(features.dtype)
        logits = assign_classes(features, class_prototypes(features, masks)) if self.refine else masks
        return F.interpolate(logits, inputs.shape[2:], mode='bilinear', align_corners=False)
