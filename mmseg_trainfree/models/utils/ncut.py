"""DiffCut's recursive two-way normalised cut (Couairon et al., NeurIPS 2024, Sec. 3.2; after Shi & Malik 2000): a
patch graph from features, split by the second generalised eigenvector of (D - W) y = lambda D y at the threshold of
least Ncut, recursively while the cut's Ncut stays below ``tau``."""
from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor


def diffcut_affinity(features: Tensor, alpha: float = 10.0) -> Tensor:
    """(N, N) affinity of (N, C) features: cosine similarities, min-max normalised over the matrix, to the power
    ``alpha`` (DiffCut's exponent, which sharpens the graph)."""
    f = F.normalize(features.float(), dim=1)
    w = f @ f.T
    w = (w - w.min()) / (w.max() - w.min()).clamp_min(1e-12)
    return w ** alpha


def ncut_value(affinity: Tensor, part: Tensor) -> Tensor:
    """Shi & Malik's Ncut of the bipartition ``part`` (bool, N) of the graph ``affinity``:
    cut(A, B) / assoc(A, V) + cut(A, B) / assoc(B, V)."""
    d = affinity.sum(1)
    cut = affinity[part][:, ~part].sum()
    return cut / d[part].sum() + cut / d[~part].sum()


def fiedler_vector(affinity: Tensor) -> Tensor:
    """The second smallest generalised eigenvector y of (D - W) y = lambda D y (via the symmetric normalised
    Laplacian), its sign fixed so that its largest-magnitude entry is positive."""
    d = affinity.sum(1).clamp_min(1e-12)
    inv_sqrt = d.rsqrt()
    laplacian = torch.eye(len(d), dtype=affinity.dtype, device=affinity.device) \
        - inv_sqrt[:, None] * affinity * inv_sqrt[None, :]
    _, vectors = torch.linalg.eigh(laplacian.double())
    y = (inv_sqrt.double() * vectors[:, 1]).to(affinity.dtype)
    return y * torch.sign(y[y.abs().argmax()])


def best_bipartition(affinity: Tensor, y: Tensor, num_thresholds: int = 100) -> tuple[Tensor, float]:
    """The split y > t of least Ncut over ``num_thresholds`` thresholds evenly spaced in [0.99 min y, 0.99 max y]
    (DiffCut's search), and its Ncut; (None, inf) when no threshold splits the nodes. All thresholds at once:
    cut = assoc(A, V) - assoc(A, A)."""
    thresholds = torch.linspace(y.min().item() * 0.99, y.max().item() * 0.99, num_thresholds, device=y.device)
    parts = (y[None] > thresholds[:, None]).to(affinity.dtype)  # (T, N)
    d = affinity.sum(1)
    assoc_a = parts @ d
    assoc_b = d.sum() - assoc_a
    cut = assoc_a - ((parts @ affinity) * parts).sum(1)
    values = cut / assoc_a + cut / assoc_b
    split = (parts.sum(1) > 0) & (parts.sum(1) < len(y))
    values = torch.where(split, values, torch.full_like(values, float('inf')))
    i = int(values.argmin())
    return (parts[i] > 0, float(values[i])) if split[i] else (None, float('inf'))


def recursive_ncut(affinity: Tensor, tau: float = 0.5, num_thresholds: int = 100) -> Tensor:
    """(N,) segment ids 0..K-1: the leaves of recursive two-way normalised cuts of ``affinity``. A node set is split
    at its best bipartition (:func:`best_bipartition` of its :func:`fiedler_vector`) when that cut's Ncut is below
    ``tau``, and both halves are cut again; otherwise it is a segment."""
    labels = torch.zeros(affinity.shape[0], dtype=torch.long, device=affinity.device)
    stack, next_label = [torch.arange(affinity.shape[0], device=affinity.device)], 0
    leaves = []
    while stack:
        nodes = stack.pop()
        if len(nodes) > 1:
            sub = affinity[nodes][:, nodes]
            part, value = best_bipartition(sub, fiedler_vector(sub), num_thresholds)
            if part is not None and value < tau:
                stack += [nodes[~part], nodes[part]]
                continue
        leaves.append(nodes)
    for nodes in sorted(leaves, key=lambda n: int(n.min())):  # ids in the order of each segment's first node
        labels[nodes] = next_label
        next_label += 1
    return labels
