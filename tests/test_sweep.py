"""tools/sweep.py: one config over several values of one field, on the trained tiny model's shapes split."""
import os.path as osp

import pytest
from conftest import REPO, load_test_tool, load_tool

from mmseg_trainfree.datasets import generate_shapes_dataset
from mmseg_trainfree.engine.sweep import metrics_table, parse_value
from mmseg_trainfree.testing import trained_stable_diffusion


def test_values_are_python_literals_or_strings():
    assert parse_value('3') == 3 and parse_value('0.5') == 0.5 and parse_value('False') is False
    assert parse_value('[0.5,0.5]') == [0.5, 0.5] and parse_value('softmax') == 'softmax'


def test_table_marks_the_best_value_and_names_a_missing_metric():
    rows = [(3, dict(mIoU=50.0, aAcc=70.0)), (4, dict(mIoU=60.0, aAcc=65.0))]
    table = metrics_table('model.num_clusters', rows, 'mIoU').splitlines()
    assert table[0] == '| model.num_clusters | mIoU | aAcc |'
    assert table[2] == '| 3 | 50.00 | 70.00 |' and table[3] == '| 4 (best) | 60.00 | 65.00 |'
    with pytest.raises(KeyError, match='mAcc'):
        metrics_table('model.num_clusters', rows, 'mAcc')


def train_split_options(tmp_path, num_images: int, seed: int) -> list[str]:
    """--cfg-options pointing a shapes config at a fresh train split, on the trained tiny model."""
    root = generate_shapes_dataset(str(tmp_path / 'train'), num_images=num_images, size=(128, 128), seed=seed,
                                   split='train')
    return [f'model.backbone.model_id={trained_stable_diffusion()}', f'test_dataloader.dataset.data_root={root}',
            'test_dataloader.dataset.data_prefix.img_path=img_dir/train',
            'test_dataloader.dataset.data_prefix.seg_map_path=ann_dir/train']


def test_sweep_runs_each_value_as_tools_test_does(tmp_path, capsys):
    options = train_split_options(tmp_path, num_images=4, seed=7)
    config = osp.join(REPO, 'configs/kmeans_sd_unsup_shapes.py')
    rows, table = load_tool('sweep').main([config, '--work-dir', str(tmp_path / 'sweep'), '--field',
                                          'model.num_clusters', '--values', '2', '4', '--cfg-options', *options])
    assert [v for v, _ in rows] == [2, 4] and rows[0][1]['mIoU'] != rows[1][1]['mIoU']
    assert table in capsys.readouterr().out and (tmp_path / 'sweep' / 'model.num_clusters=4').is_dir()
    direct = load_test_tool().main([config, '--work-dir', str(tmp_path / 'direct'), '--cfg-options', *options,
                                    'model.num_clusters=4'])
    assert direct['mIoU'] == rows[1][1]['mIoU']


def test_background_score_sweep_is_one_pass_and_equals_each_run(tmp_path, capsys):
    """--field model.background_score scores every value from one model pass; each value's mIoU equals a
    tools/test.py run with that background score (DiffSegmenter on the trained model's train split)."""
    options = train_split_options(tmp_path, num_images=3, seed=8)
    config = osp.join(REPO, 'configs/diffsegmenter_shapes.py')
    rows, table = load_tool('sweep').main([config, '--work-dir', str(tmp_path / 'sweep'), '--field',
                                          'model.background_score', '--values', '0.2', '0.6', '0.95',
                                          '--cfg-options', *options])
    assert [v for v, _ in rows] == [0.2, 0.6, 0.95] and len({r['mIoU'] for _, r in rows}) == 3
    assert table in capsys.readouterr().out
    for value, metrics in (rows[0], rows[2]):
        direct = load_test_tool().main([config, '--work-dir', str(tmp_path / f'direct{value}'), '--cfg-options',
                                        *options, f'model.background_score={value}'])
        assert direct['mIoU'] == pytest.approx(metrics['mIoU'], abs=0.01)
    with pytest.raises(ValueError, match='no background class'):
        load_tool('sweep').main([config, '--field', 'model.background_score', '--values', '0.5',
                                 '--cfg-options', *options, 'model.background_index=None'])


def test_background_sweep_scores_a_predicted_absent_class_as_mmseg_does():
    """A class predicted but absent from the labels has IoU 0 in mmseg's IoUMetric (its union is not empty), not
    NaN: the sweep must agree, or it picks another best value than tools/test.py would score."""
    import torch
    from mmseg.evaluation import IoUMetric

    from mmseg_trainfree.evaluation.background_sweep import BackgroundScoreSweepMetric
    label = torch.tensor([[0, 0, 1, 1]] * 4)
    logits = torch.zeros(3, 4, 4)
    logits[1, :, 2:] = 0.9  # class 1 right where it is
    logits[2, 0, :2] = 0.8  # class 2 predicted on background pixels, never labelled
    sample = dict(seg_logits=dict(data=logits), gt_sem_seg=dict(data=label[None]))
    sweep = BackgroundScoreSweepMetric(values=[0.5])
    sweep.process({}, [sample])
    reference = IoUMetric(iou_metrics=['mIoU'])
    reference.dataset_meta = dict(classes=('background', 'a', 'b'))
    swept = logits.clone()
    swept[0] = 0.5
    reference.process({}, [dict(sample, pred_sem_seg=dict(data=swept.argmax(0)[None]))])
    expected = reference.compute_metrics(reference.results)['mIoU']
    assert expected == pytest.approx((6 / 8 + 1 + 0) / 3 * 100, abs=0.01)
    assert sweep.compute_metrics(sweep.results)['mIoU'] == pytest.approx(expected, abs=0.01)


def test_weakly_supervised_rows_are_scored_by_the_cam_protocol(capsys):
    """DiffSegmenter's *_wsss_train* configs (Tables 2 and 4) score as the official evaluation_voc12.py does (issue 23,
    item 8): every background threshold 0.30 ... 0.74 in one pass, the best as mIoU, labelled as the CAM protocol
    in the log and in collect_results' protocol column; no CRF, which would break the constant background."""
    import glob

    import torch
    from mmengine.config import Config

    from mmseg_trainfree.evaluation.background_sweep import BackgroundScoreSweepMetric
    configs = sorted(glob.glob(osp.join(REPO, 'configs/diffsegmenter_voc_wsss_train*.py')))
    assert len(configs) == 8
    collect = load_tool('collect_results')
    for path in configs:
        cfg = Config.fromfile(path)
        evaluator = cfg.test_evaluator
        assert evaluator.type == 'BackgroundScoreSweepMetric' and cfg.model.get('crf') is None, path
        assert evaluator['values'] == [i / 100 for i in range(30, 75)], path
        assert 'CAM protocol' in collect.protocol(evaluator.to_dict())
    metric = BackgroundScoreSweepMetric(**{k: v for k, v in evaluator.items() if k != 'type'})
    label = torch.tensor([[0, 0, 1, 1]] * 4)
    logits = torch.zeros(2, 4, 4)
    logits[1, :, 2:] = 0.9
    logits[1, :, 1] = 0.55  # class 1 one column too wide: a threshold of 0.55 or more removes the error
    metric.process({}, [dict(seg_logits=dict(data=logits), gt_sem_seg=dict(data=label[None]))])
    out = metric.compute_metrics(metric.results)
    assert out['mIoU'] == 100 and out['best_background_score'] == 0.55 and out['mIoU@0.54'] < 100
    captured = capsys.readouterr()
    assert 'CAM protocol' in captured.out + captured.err


def test_the_cam_protocol_runs_through_tools_test(tiny_sd, tiny_blip, tmp_path):
    """The weakly supervised config itself through tools/test.py on the VOC train fixture: the curve and the best
    threshold come back (the config replaces mmseg's IoUMetric, it does not merge into it)."""
    from mmseg_trainfree.testing import write_benchmark_fixture
    write_benchmark_fixture('pascal_voc12_train', str(tmp_path / 'data'))
    metrics = load_test_tool().main([
        osp.join(REPO, 'configs/diffsegmenter_voc_wsss_train.py'), '--work-dir', str(tmp_path / 'work'),
        '--cfg-options', f'model.backbone.model_id={tiny_sd}', f'model.captioner.model_id={tiny_blip}',
        f'test_dataloader.dataset.data_root={tmp_path}/data/VOCdevkit/VOC2012', 'model.image_size=[64,64]',
        'model.captioner.max_new_tokens=4', 'model.timestep=[100]', '--out', str(tmp_path / 'out')])
    curve = {k: v for k, v in metrics.items() if k.startswith('mIoU@')}
    assert len(curve) == 45 and metrics['mIoU'] == max(curve.values())
    assert metrics[f"mIoU@{metrics['best_background_score']:g}"] == metrics['mIoU']
    # --out: the class-id PNGs at the best threshold, which mmseg's mIoU over them reproduces
    import numpy as np
    from PIL import Image
    pred = np.array(Image.open(tmp_path / 'out' / '2007_000032.png')).astype(np.int64)
    gt = np.array(Image.open(tmp_path / 'data/VOCdevkit/VOC2012/SegmentationClass/2007_000032.png')).astype(np.int64)
    keep = gt != 255
    ious = [((pred == c) & (gt == c) & keep).sum() / (((pred == c) | (gt == c)) & keep).sum()
            for c in range(21) if (((pred == c) | (gt == c)) & keep).any()]
    assert float(np.mean(ious)) * 100 == pytest.approx(metrics['mIoU'], abs=0.01)
    assert not (tmp_path / 'out' / '.pending').exists()
