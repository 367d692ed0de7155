"""Clustering on the GPU in torch: k-means (k-means++ seeding) and spectral clustering (Ng, Jordan &
Weiss 2001) on a cosine affinity, used by the unsupervised segmentors."""
from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor

EIGEN_SOLVERS = ('lobpcg', 'eigh')


def _nearest(x: Tensor, centres: Tensor) -> Tensor:
    """Index of the nearest centre (Euclidean) of each row: argmax of 2 x.c - |c|^2, one pass over x."""
    return (x @ centres.T * 2 - centres.pow(2).sum(1)).argmax(1)


def _squared_distance(x: Tensor, sq: Tensor, centre: Tensor) -> Tensor:
    """|x_i - c|^2 of every row, given sq = |x_i|^2."""
    return (sq - 2 * x @ centre + centre.pow(2).sum()).clamp_min(0)


def kmeans(x: Tensor, k: int, iters: int = 50, seed: int = 0, tol: float = 1e-6,
           weights: Tensor | None = None, n_init: int = 1) -> tuple[Tensor, Tensor]:
    """Lloyd's k-means on the rows of ``x`` (N, D) with k-means++ seeding; deterministic for a seed.

    ``weights`` (N,) count each row that many times (e.g. mask embeddings weighted by their pixel
    counts equal k-means over the pixels). ``n_init`` runs as many initialisations (seeds ``seed``,
    ``seed + 1``, ...) and keeps the one of lowest (weighted) inertia. Returns (labels (N,), centres (k, D)).
    A cluster that empties keeps its previous centre.
    """
    if n_init < 1:
        raise ValueError(f'k-means needs n_init >= 1, got {n_init}')
    best, best_inertia = None, float('inf')
    for i in range(n_init):
        labels, centres = _kmeans_once(x, k, iters, seed + i, tol, weights)
        inertia = float(kmeans_inertia(x, labels, centres, weights))
        if inertia < best_inertia:
            best, best_inertia = (labels, centres), inertia
    return best


def kmeans_inertia(x: Tensor, labels: Tensor, centres: Tensor, weights: Tensor | None = None) -> Tensor:
    """Sum over rows of (weight x) squared distance to the assigned centre."""
    sq = (x.float() - centres[labels]).pow(2).sum(1)
    return (sq if weights is None else sq * weights.to(sq)).sum()


def _kmeans_once(x: Tensor, k: int, iters: int, seed: int, tol: float,
                 weights: Tensor | None) -> tuple[Tensor, Tensor]:
    """One k-means++ initialisation and Lloyd's iterations (see :func:`kmeans`)."""
    n = x.shape[0]
    if not 1 <= k <= n:
        raise ValueError(f'k-means needs 1 <= k <= number of points ({n}), got k={k}')
    x = x.float()
    w = torch.ones(n, device=x.device) if weights is None else weights.to(x.device).float()
    gen = torch.Generator(device='cpu').manual_seed(seed)
    sq = x.pow(2).sum(1)
    first = torch.multinomial(w.cpu().double() / w.sum().item(), 1, generator=gen)
    centres = x[first.to(x.device)]
    dist = _squared_distance(x, sq, centres[0])
    for _ in range(1, k):
        probs = (dist * w).cpu().double()
        idx = torch.multinomial(probs / probs.sum(), 1, generator=gen) if probs.sum() > 0 else \
            torch.randint(n, (1,), generator=gen)
        centres = torch.cat([centres, x[idx.to(x.device)]])
        dist = torch.minimum(dist, _squared_distance(x, sq, centres[-1]))
    labels = _nearest(x, centres)
    for _ in range(iters):
        sums = torch.zeros_like(centres).index_add_(0, labels, x * w.unsqueeze(1))
        sizes = torch.bincount(labels, weights=w, minlength=k).unsqueeze(1)
        new = torch.where(sizes > 0, sums / sizes.clamp_min(1e-12), centres)
        shift = (new - centres).pow(2).sum()
        centres = new
        labels = _nearest(x, centres)
        if shift <= tol:
            break
    return labels, centres


def normalized_affinity(features: Tensor, eps: float = 1e-8) -> Tensor:
    """D^-1/2 W D^-1/2 with W = max(0, cosine similarity) of the rows of ``features`` (N, D).

    Built in place: one N x N matrix is held (10^4 pixels: 400 MB in fp32).
    """
    f = F.normalize(features.float(), dim=1)
    w = f @ f.T
    w.clamp_(min=0)
    d = w.sum(1).clamp_min(eps).rsqrt()
    w.mul_(d.unsqueeze(1)).mul_(d.unsqueeze(0))
    return w


def spectral_embedding(features: Tensor, k: int, solver: str = 'lobpcg', seed: int = 0,
                       lobpcg_iters: int = 200) -> Tensor:
    """Rows of the k eigenvectors of the normalised graph Laplacian I - D^-1/2 W D^-1/2 with the smallest
    eigenvalues (the largest of D^-1/2 W D^-1/2), each row L2-normalised (NJW). (N, k).

    ``solver='lobpcg'`` finds only those k vectors (no second N x N matrix); ``'eigh'`` is the exact
    dense solver (holds all N eigenvectors).
    """
    if solver not in EIGEN_SOLVERS:
        raise ValueError(f'eigen solver must be one of {EIGEN_SOLVERS}, got {solver!r}')
    m = normalized_affinity(features)
    n = m.shape[0]
    if solver == 'eigh' or n < 3 * k + 1:
        vectors = torch.linalg.eigh(m)[1][:, -k:]
    else:
        gen = torch.Generator(device='cpu').manual_seed(seed)
        start = torch.randn(n, k, generator=gen).to(m)
        vectors = torch.lobpcg(m, k=k, X=start, largest=True, niter=lobpcg_iters, tol=1e-5)[1]
    return F.normalize(vectors, dim=1)


def spectral_clustering(features: Tensor, k: int, solver: str = 'lobpcg', seed: int = 0,
                        kmeans_iters: int = 50) -> Tensor:
    """Cluster labels (N,) of the rows of ``features`` (N, D): spectral embedding, then k-means on it."""
    return kmeans(spectral_embedding(features, k, solver, seed), k, kmeans_iters, seed)[0]
