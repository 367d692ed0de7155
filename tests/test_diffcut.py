"""DiffCut: the recursive normalised cut against dense references, the many-to-one background of its protocol, the
SDXL-topology backbone against diffusers' own SDXL pipeline, and its configs through tools/test.py. Behaviour on the
trained tiny SD: tests/test_behaviour.py."""
import os.path as osp

import numpy as np
import pytest
import scipy.linalg
import torch
from conftest import REPO, load_test_tool

from mmseg_trainfree.evaluation.hungarian import matched_counts, merge_unmatched_segments, segment_confusion
from mmseg_trainfree.models import StableDiffusionXLBackbone
from mmseg_trainfree.models.segmentors.diffcut import concept_assignment, last_encoder_self_attention
from mmseg_trainfree.models.utils.ncut import best_bipartition, diffcut_affinity, fiedler_vector, recursive_ncut
from mmseg_trainfree.testing import random_stable_diffusion_xl, write_benchmark_fixture


def clustered_features(seed: int = 0, sizes=(12, 9, 7), dim: int = 6) -> torch.Tensor:
    g = torch.Generator().manual_seed(seed)
    centres = torch.randn(len(sizes), dim, generator=g) * 2
    return torch.cat([c + 0.4 * torch.randn(n, dim, generator=g) for c, n in zip(centres, sizes)])


def shi_malik_ncut(w: np.ndarray, x: np.ndarray) -> float:
    """Ncut from the indicator as Shi & Malik (and DiffCut's get_bipartition) write it:
    y = (1 + x) - b (1 - x), E = y^T (D - W) y / y^T D y, x in {-1, 1}, b = k / (1 - k)."""
    d = w.sum(1)
    k = d[x > 0].sum() / d.sum()
    y = (1 + x) - k / (1 - k) * (1 - x)
    return float(y @ (np.diag(d) - w) @ y / (y @ np.diag(d) @ y))


def test_bipartition_and_eigenvector_match_dense_references():
    w = diffcut_affinity(clustered_features(1), alpha=2.0).double()
    y = fiedler_vector(w)
    # the second generalised eigenvector of (D - W) y = lambda D y, up to scale and sign
    _, vectors = scipy.linalg.eigh(np.diag(w.sum(1).numpy()) - w.numpy(), np.diag(w.sum(1).numpy()))
    ref = vectors[:, 1] / np.abs(vectors[:, 1]).max()
    ours = y.numpy() / np.abs(y.numpy()).max()
    assert np.allclose(ours, ref, atol=1e-6) or np.allclose(ours, -ref, atol=1e-6)
    part, value = best_bipartition(w, y, num_thresholds=50)
    wn = w.numpy()
    thresholds = np.linspace(y.min().item() * 0.99, y.max().item() * 0.99, 50)
    values = [shi_malik_ncut(wn, np.where(y.numpy() > t, 1.0, -1.0)) for t in thresholds
              if 0 < (y.numpy() > t).sum() < len(wn)]
    assert value == pytest.approx(min(values), rel=1e-6)
    assert shi_malik_ncut(wn, np.where(part.numpy(), 1.0, -1.0)) == pytest.approx(value, rel=1e-6)


def dense_recursive_ncut(w: np.ndarray, tau: float, num_thresholds: int = 100) -> list[set]:
    """Recursive Ncut written with scipy's generalised eigensolver and a loop over thresholds: the leaves."""
    def cut(nodes):
        sub = w[np.ix_(nodes, nodes)]
        d = sub.sum(1)
        _, vectors = scipy.linalg.eigh(np.diag(d) - sub, np.diag(d))
        y = vectors[:, 1] * np.sign(vectors[np.abs(vectors[:, 1]).argmax(), 1])
        best, best_value = None, np.inf
        for t in np.linspace(y.min() * 0.99, y.max() * 0.99, num_thresholds):
            x = np.where(y > t, 1.0, -1.0)
            if 0 < (x > 0).sum() < len(x):
                v = shi_malik_ncut(sub, x)
                if v < best_value:
                    best, best_value = x > 0, v
        if best is None or best_value >= tau:
            return [set(nodes)]
        return cut([n for n, b in zip(nodes, best) if b]) + cut([n for n, b in zip(nodes, best) if not b])
    return cut(list(range(len(w))))


@pytest.mark.parametrize('tau,segments', [(0.5, 3), (1e-6, 1)])
def test_recursive_ncut_matches_a_dense_recursion(tau, segments):
    w = diffcut_affinity(clustered_features(2), alpha=10.0).double()
    labels = recursive_ncut(w, tau)
    leaves = {frozenset(np.flatnonzero(labels.numpy() == k).tolist()) for k in labels.unique().tolist()}
    assert leaves == {frozenset(s) for s in dense_recursive_ncut(w.numpy(), tau)}
    assert len(leaves) == segments
    assert leaves == {frozenset(range(0, 12)), frozenset(range(12, 21)), frozenset(range(21, 28))} or segments == 1


def test_concept_assignment_takes_the_nearest_segment_mean():
    feats = torch.zeros(2, 2, 2)
    feats[0, :, 0], feats[1, :, 1] = 1.0, 1.0  # left column points along x, right along y
    segments = torch.tensor([[0, 1], [0, 1]])
    labels = concept_assignment(feats, segments, (4, 4))
    assert labels[:, 0].eq(0).all() and labels[:, -1].eq(1).all()


def test_many_to_one_background_merges_unmatched_segments():
    # classes: 0 background, 1 cat, 2 dog; clusters: 0 cat, 1 and 2 background, 3 dog, 4 absent
    conf = np.array([[1, 50, 0], [30, 2, 0], [20, 0, 1], [0, 0, 40], [0, 0, 0]])
    merged, row_of = merge_unmatched_segments(conf, background=0)
    assert merged.tolist() == [[1, 50, 0], [0, 0, 40], [50, 2, 1]] and row_of.tolist() == [0, 2, 2, 1, 2]
    tp, fp, fn = matched_counts(segment_confusion(merged))
    assert tp.tolist() == [50, 50, 40]  # one-to-one matching would have kept only 30 background pixels
    assert matched_counts(segment_confusion(conf))[0].tolist() == [30, 50, 40]


@pytest.fixture(scope='module')
def tiny_sdxl(tmp_path_factory) -> str:
    return random_stable_diffusion_xl(root=str(tmp_path_factory.mktemp('sdxl')))


def test_sdxl_backbone_is_diffusers_sdxl_pipeline(tiny_sdxl):
    import diffusers
    backbone = StableDiffusionXLBackbone(tiny_sdxl)
    pipe = diffusers.StableDiffusionXLPipeline.from_pretrained(tiny_sdxl)
    text, pooled = backbone.encode_prompts(['a cat']), backbone.encode_pooled(['a cat'])
    ref_text, _, ref_pooled, _ = pipe.encode_prompt(['a cat'], device='cpu', do_classifier_free_guidance=False)
    latents = torch.randn(1, 4, 8, 12, generator=torch.Generator().manual_seed(0))
    time_ids = pipe._get_add_time_ids((64, 96), (0, 0), (64, 96), dtype=ref_text.dtype,
                                      text_encoder_projection_dim=pipe.text_encoder_2.config.projection_dim)
    ref = pipe.unet(latents, 50, encoder_hidden_states=ref_text,
                    added_cond_kwargs=dict(text_embeds=ref_pooled, time_ids=time_ids)).sample
    assert torch.allclose(text, ref_text) and torch.allclose(pooled, ref_pooled)
    assert torch.allclose(backbone.unet_forward(latents, 50, text, pooled), ref, atol=1e-5)
    with pytest.raises(ValueError, match='pooled'):
        backbone.unet_forward(latents, 50, text)  # an SD v1 method on an SDXL backbone
    assert last_encoder_self_attention(backbone.unet) == 'down_blocks.2.attentions.0.transformer_blocks.1.attn1'


@pytest.mark.parametrize('config,fixture', [('diffcut_voc.py', 'pascal_voc12'),
                                            ('diffcut_cocostuff27.py', 'coco_stuff27')])
def test_configs_run_through_tools_test_on_the_sdxl_topology(config, fixture, tiny_sdxl, tmp_path, monkeypatch):
    write_benchmark_fixture(fixture, str(tmp_path / 'data'))
    monkeypatch.chdir(tmp_path)
    out = tmp_path / 'out'
    metrics = load_test_tool().main([osp.join(REPO, 'configs', config), '--work-dir', str(tmp_path / 'wd'),
                                     '--out', str(out), '--cfg-options', f'model.backbone.model_id={tiny_sdxl}',
                                     'model.backbone.dtype=float32', 'model.image_size=[128,128]'])
    assert {'aAcc', 'mIoU', 'mAcc'} <= set(metrics) and 0 <= metrics['mIoU'] <= 100
    pngs = list(out.glob('*.png'))
    from PIL import Image
    assert pngs and all(np.array(Image.open(p)).shape == (128, 128) for p in pngs)  # DiffCut scores at 128 x 128
