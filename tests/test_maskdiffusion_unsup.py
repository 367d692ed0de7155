"""Unsupervised MaskDiffusion and its k-means baseline: clustering pieces, configuration errors, and an end
to end run on the shapes dataset scored by the Hungarian metric against constant and random predictions."""
import numpy as np
import pytest
import torch
from scipy.optimize import linear_sum_assignment

from mmseg_trainfree.datasets import generate_shapes_dataset
from mmseg_trainfree.models.utils import kmeans, spectral_clustering, spectral_embedding
from mmseg_trainfree.registry import DATASETS, METRICS, MODELS


def blobs(seed=0, n=60, k=3, d=16):
    g = torch.Generator().manual_seed(seed)
    centres = torch.randn(k, d, generator=g) * 3
    labels = torch.arange(k).repeat_interleave(n)
    return centres[labels] + 0.5 * torch.randn(k * n, d, generator=g), labels


def same_partition(a, b) -> bool:
    conf = np.zeros((int(a.max()) + 1, int(b.max()) + 1))
    np.add.at(conf, (a.numpy(), b.numpy()), 1)
    rows, cols = linear_sum_assignment(conf, maximize=True)
    return conf[rows, cols].sum() == len(a)


def test_kmeans_and_spectral_recover_blobs():
    x, truth = blobs()
    assert same_partition(kmeans(x, 3, seed=1)[0], truth)
    assert same_partition(spectral_clustering(x, 3), truth)
    assert torch.equal(kmeans(x, 3, seed=4)[0], kmeans(x, 3, seed=4)[0])  # seeded
    with pytest.raises(ValueError, match='k=0'):
        kmeans(x, 0)


def test_lobpcg_spans_the_eigh_subspace():
    x, _ = blobs(1, n=80, k=4)
    a, b = spectral_embedding(x, 4, 'lobpcg'), spectral_embedding(x, 4, 'eigh')
    qa, qb = torch.linalg.qr(a)[0], torch.linalg.qr(b)[0]
    assert torch.linalg.svdvals(qa.T @ qb).min() > 0.999  # the same 4-dimensional subspace


def unsup_cfg(model_id, **kw):
    cfg = dict(type='UnsupervisedMaskDiffusion', backbone=dict(type='StableDiffusionBackbone', model_id=model_id),
               data_preprocessor=dict(type='SegDataPreProcessor', mean=[127.5] * 3, std=[127.5] * 3, bgr_to_rgb=True),
               image_size=(128, 128), cluster_size=(32, 32), num_clusters=2)
    cfg.update(kw)
    return cfg


def hungarian_miou(dataset, predictions) -> float:
    metric = METRICS.build(dict(type='HungarianIoUMetric', mode='per_image'))
    metric.dataset_meta = dataset.metainfo
    for i, pred in enumerate(predictions):
        metric.process({}, [dict(pred_sem_seg=dict(data=pred[None]),
                                 gt_sem_seg=dict(data=dataset[i]['data_samples'].gt_sem_seg.data))])
    return metric.evaluate(len(predictions))['mIoU']


def test_beats_constant_and_random_predictions(tiny_sd, tmp_path):
    root = generate_shapes_dataset(str(tmp_path), num_images=8, size=(96, 128))
    ds = DATASETS.build(dict(type='ShapesDataset', data_root=root,
                             data_prefix=dict(img_path='img_dir/val', seg_map_path='ann_dir/val'),
                             pipeline=[dict(type='LoadImage'), dict(type='LoadSegAnnotations'),
                                       dict(type='PackSegInputs')]))
    model = MODELS.build(unsup_cfg(tiny_sd))
    preds = []
    for i in range(len(ds)):
        data = model.data_preprocessor(dict(inputs=[ds[i]['inputs']], data_samples=[ds[i]['data_samples']]))
        [out] = model.predict(data['inputs'], data['data_samples'])
        assert set(out.pred_sem_seg.data.unique().tolist()) <= {0, 1}
        preds.append(out.pred_sem_seg.data[0])
    hw = preds[0].shape
    g = torch.Generator().manual_seed(0)
    constant = hungarian_miou(ds, [torch.zeros(hw, dtype=torch.long)] * len(ds))
    random = hungarian_miou(ds, [torch.randint(0, 2, hw, generator=g) for _ in range(len(ds))])
    ours = hungarian_miou(ds, preds)
    print(f'unsupervised MaskDiffusion {ours}, constant {constant}, random {random}')
    assert ours > max(constant, random) + 3


@pytest.mark.parametrize('kw', [dict(clustering='kmeans'), dict(refine=False), dict(eigen_solver='eigh')])
def test_variants_give_cluster_ids(tiny_sd, kw):
    model = MODELS.build(unsup_cfg(tiny_sd, num_clusters=3, **kw))
    x = torch.rand(1, 3, 40, 56) * 2 - 1
    [out] = model.predict(x)
    assert out.pred_sem_seg.data.shape == (1, 40, 56) and out.seg_logits.data.shape == (3, 40, 56)
    assert set(out.pred_sem_seg.data.unique().tolist()) <= {0, 1, 2}
    model.set_vocabulary(['a', 'b'])  # the dataset's classes do not change the number of clusters
    assert model.num_classes == 3


@pytest.mark.parametrize('kw,match', [(dict(test_cfg=dict(mode='slide', crop_size=(64, 64), stride=(32, 32))), 'whole'),
                                      (dict(clustering='dbscan'), 'clustering'),
                                      (dict(eigen_solver='arpack'), 'eigen_solver'),
                                      (dict(num_clusters=0), 'num_clusters')])
def test_bad_configuration_is_named(tiny_sd, kw, match):
    with pytest.raises(ValueError, match=match):
        MODELS.build(unsup_cfg(tiny_sd, **kw))
