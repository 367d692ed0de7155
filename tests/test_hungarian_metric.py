"""HungarianIoUMetric equals a brute-force search over all assignments, in both protocols, and a
two-process run equals one process."""
import itertools

import numpy as np
import pytest
import torch

from mmseg_trainfree.registry import METRICS

CLASSES = ('a', 'b', 'c', 'd')


def random_images(seed: int, n: int = 6, hw=(9, 11), clusters: int = 5, classes: int = 4):
    """Labels with ignored pixels; predictions correlated with the labels, so matchings are non-trivial."""
    rng = np.random.default_rng(seed)
    out = []
    for _ in range(n):
        label = rng.integers(0, classes, hw)
        label[rng.random(hw) < 0.1] = 255
        k = int(rng.integers(1, clusters + 1))
        pred = np.where(rng.random(hw) < 0.6, (label * 7 + seed) % k, rng.integers(0, k, hw))
        out.append((pred, label))
    return out


def brute_force(conf: np.ndarray):
    """Best one-to-one matching of rows (segments) to columns (classes) by enumeration; TP/FP/FN per class,
    and whether every optimal matching gives the same counts (ties between empty segments do)."""
    rows, cols = conf.shape
    best, outcomes = -1, set()
    for perm in itertools.permutations(range(max(rows, cols)), min(rows, cols)):
        pairs = list(zip(perm, range(cols))) if rows >= cols else list(zip(range(rows), perm))
        score = sum(conf[r, c] for r, c in pairs)
        if score < best:
            continue
        tp, fp = np.zeros(cols, np.int64), np.zeros(cols, np.int64)
        for r, c in pairs:
            tp[c], fp[c] = conf[r, c], conf[r].sum() - conf[r, c]
        outcome = (tuple(tp), tuple(fp))
        outcomes = {outcome} if score > best else outcomes | {outcome}
        best = score
    tp, fp = map(np.array, next(iter(outcomes)))
    return tp, fp, conf.sum(0) - tp, len(outcomes) == 1


def counts(pred, label, segments):
    conf = np.zeros((len(segments), len(CLASSES)), np.int64)
    for i, s in enumerate(segments):
        for c in range(len(CLASSES)):
            conf[i, c] = np.sum((pred == s) & (label == c))
    return conf


def miou(tp, fp, fn):
    with np.errstate(invalid='ignore', divide='ignore'):
        return round(float(np.nanmean(tp / (tp + fp + fn))) * 100, 2)


def run_metric(mode, images, rank=0, world=1):
    metric = METRICS.build(dict(type='HungarianIoUMetric', mode=mode))
    metric.dataset_meta = dict(classes=CLASSES)
    for pred, label in images[rank::world]:
        metric.process({}, [dict(pred_sem_seg=dict(data=torch.from_numpy(pred)[None]),
                                 gt_sem_seg=dict(data=torch.from_numpy(label)[None]))])
    return metric.evaluate(len(images))


@pytest.mark.parametrize('mode', ['dataset', 'per_image'])
def test_equals_brute_force(mode):
    checked = 0
    for seed in range(40):
        images = random_images(seed)
        if mode == 'dataset':
            segments = range(max(int(p.max()) for p, _ in images) + 1)
            conf = sum(counts(p, l, segments) for p, l in images)
            tp, fp, fn, unique = brute_force(conf)
        else:
            tp = fp = fn = 0
            unique = True
            for p, l in images:
                present = sorted(set(p[l != 255].tolist()))
                conf = counts(p, l, present)
                conf = np.concatenate([conf, np.zeros((max(len(CLASSES) - len(present), 0), len(CLASSES)), int)])
                t, f, n, u = brute_force(conf)
                tp, fp, fn, unique = tp + t, fp + f, fn + n, unique and u
        if not unique:  # ties: several optimal matchings may give different IoUs
            continue
        result = run_metric(mode, images)
        assert result['mIoU'] == miou(tp, fp, fn)
        labelled = sum(int((l != 255).sum()) for _, l in images)
        assert result['aAcc'] == round(tp.sum() / labelled * 100, 2)
        checked += 1
    assert checked >= 10


def test_per_image_is_more_lenient_and_perfect_clusters_score_100():
    rng = np.random.default_rng(0)
    images = []
    for i in range(4):
        label = rng.integers(0, 4, (8, 8))
        images.append(((label + i) % 4 + 10 * i, label))  # a permutation of the classes, other ids per image
    assert run_metric('per_image', images)['mIoU'] == 100.0
    assert run_metric('dataset', images)['mIoU'] < 100.0  # ids are not consistent across images


def test_constant_prediction_and_bad_inputs():
    label = np.array([[0, 1], [2, 3]])
    result = run_metric('per_image', [(np.zeros((2, 2), int), label)])
    assert result['mIoU'] == 6.25 and result['aAcc'] == 25.0  # one segment: one class at IoU 1/4
    with pytest.raises(ValueError, match='mode'):
        METRICS.build(dict(type='HungarianIoUMetric', mode='image'))
    with pytest.raises(ValueError, match='outside 0..3'):
        run_metric('dataset', [(np.zeros((2, 2), int), np.array([[0, 9], [1, 2]]))])


def _split_run(mode, rank, world):
    return run_metric(mode, random_images(3, n=7), rank, world)


@pytest.mark.parametrize('mode', ['dataset', 'per_image'])
def test_two_processes_equal_one(mode, tmp_path):
    from functools import partial

    from conftest import run_distributed
    result = run_distributed(partial(_split_run, mode), str(tmp_path / 'result.pt'))
    assert result == run_metric(mode, random_images(3, n=7))


def test_overlays_draw_clusters_as_the_classes_they_match():
    """EvalCropVisualizationHook's display of a cluster prediction: each cluster renamed to the class it matches
    in the image (per-image Hungarian, as scored), unmatched clusters 255 (not drawn)."""
    from mmengine.structures import PixelData
    from mmseg.structures import SegDataSample
    from mmseg_trainfree.engine.hooks import matched_for_display
    pred = torch.tensor([[5, 5, 7, 7, 9, 9, 11, 11]])  # clusters 5, 7, 9, 11
    gt = torch.tensor([[2, 2, 0, 0, 0, 255, 1, 0]])
    sample = SegDataSample()
    sample.pred_sem_seg, sample.gt_sem_seg = PixelData(data=pred[None]), PixelData(data=gt[None])
    shown = matched_for_display(sample, num_classes=3, ignore_index=255).pred_sem_seg.data[0, 0].tolist()
    # 5 -> 2, 7 -> 0 (2 pixels of 0 beat 9's 1 and 11's 1), 11 -> 1; 9 has no class left
    assert shown == [2, 2, 0, 0, 255, 255, 1, 1]
    assert sample.pred_sem_seg.data[0, 0].tolist() == [5, 5, 7, 7, 9, 9, 11, 11]  # the scored sample is unchanged


def test_more_clusters_than_classes_match_by_hand():
    """5 clusters, 3 classes, counted by hand: class a is cluster 4's (8 of its 10 pixels), b cluster 0's (7),
    c cluster 2's (9); clusters 1 and 3 stay unmatched. A cost matrix read transposed (classes as rows) matches
    other pairs."""
    from mmseg_trainfree.evaluation.hungarian import assignment, matched_counts, per_image_assignment
    label = np.repeat([0, 1, 2], 10)[None]
    pred = np.array([4] * 8 + [1] * 2 + [0] * 7 + [3] * 3 + [2] * 9 + [4])[None]
    conf = np.array([[0, 7, 0], [2, 0, 0], [0, 0, 9], [0, 3, 0], [8, 0, 1]])
    tp, fp, fn = matched_counts(conf)
    assert tp.tolist() == [8, 7, 9] and fp.tolist() == [1, 0, 0] and fn.tolist() == [2, 3, 1]
    assert assignment(conf).tolist() == per_image_assignment(conf).tolist() == [1, 255, 2, 255, 0]
    for mode in ('dataset', 'per_image'):
        metric = METRICS.build(dict(type='HungarianIoUMetric', mode=mode))
        metric.dataset_meta = dict(classes=('a', 'b', 'c'))
        metric.process({}, [dict(pred_sem_seg=dict(data=torch.from_numpy(pred)[None]),
                                 gt_sem_seg=dict(data=torch.from_numpy(label)[None]))])
        assert metric.evaluate(1)['mIoU'] == round((8 / 11 + 7 / 10 + 9 / 10) / 3 * 100, 2)
