"""Run one config over several values of one field and print the metrics of each as a table, to choose a
value (K, a threshold, lambda ...) on a split other than the one you report on.

    python tools/sweep.py configs/kmeans_sd_unsup_cocostuff27.py --field model.num_clusters --values 10 15 20 27 \
        --cfg-options test_dataloader.dataset.data_prefix.img_path=images/train2017 \
                      test_dataloader.dataset.data_prefix.seg_map_path=annotations/train2017

Each value is a Python literal (``0.5``, ``[0.5,0.5,0.5]``, ``False``) or a string; it is set like
``--cfg-options FIELD=VALUE`` and the config runs through the same code as tools/test.py, one run per value
(logs and metrics under WORK_DIR/FIELD=VALUE).

``--field model.background_score`` (DiffSegmenter's background threshold) runs the model once: the constant
only replaces the background channel of the logits, so BackgroundScoreSweepMetric scores every value from one
pass with the dataset's mIoU. Choose it on a train split, e.g. VOC train (1,464 images):

    python tools/sweep.py configs/diffsegmenter_voc.py --field model.background_score \
        --values 0.3 0.35 0.4 0.45 0.5 0.55 0.6 0.65 0.7 0.74 \
        --cfg-options test_dataloader.dataset.ann_file=ImageSets/Segmentation/train.txt
"""
import os.path as osp
import sys

sys.path.insert(0, osp.dirname(osp.dirname(osp.abspath(__file__))))  # run from a source checkout too

import mmseg_trainfree  # noqa: E402,F401  (shims and registries before the config is parsed)
from mmengine.runner import Runner  # noqa: E402
from mmseg_trainfree.engine.cli import build_config, parse_args, test_arg_parser  # noqa: E402
from mmseg_trainfree.engine.sweep import metrics_table, parse_value  # noqa: E402


def main(argv=None):
    parser = test_arg_parser('Run a config over several values of one field and tabulate the metrics')
    parser.add_argument('--field', required=True, help='the config field to vary, e.g. model.num_clusters')
    parser.add_argument('--values', nargs='+', required=True, help='its values, each a Python literal or a string')
    parser.add_argument('--metric', default='mIoU', help='the metric whose best value is marked (default: mIoU)')
    args = parse_args(argv, parser)
    if args.launcher != 'none':
        parser.error('tools/sweep.py runs in one process; run each value with tools/dist_test.sh to distribute')
    base_dir = args.work_dir or osp.join('./work_dirs', osp.splitext(osp.basename(args.config))[0] + '_sweep')
    if args.field == 'model.background_score':
        return background_sweep(args, base_dir)
    rows = []
    for text in args.values:
        value = parse_value(text)
        args.cfg_options = dict(args.cfg_options or {}, **{args.field: value})
        args.work_dir = osp.join(base_dir, f'{args.field}={text}')
        cfg = build_config(args)
        # persistent workers outlive their Runner and the next one waits for them (about 10 s a value)
        cfg.test_dataloader.persistent_workers = False
        metrics = Runner.from_cfg(cfg).test()
        rows.append((value, metrics))
    table = metrics_table(args.field, rows, args.metric)
    print(table)
    return rows, table


def background_sweep(args, base_dir: str):
    """All background scores from one model pass (BackgroundScoreSweepMetric)."""
    values = [float(parse_value(v)) for v in args.values]
    args.work_dir = osp.join(base_dir, 'model.background_score')
    cfg = build_config(args)
    if cfg.model.get('background_index') is None:
        raise ValueError(f'--field model.background_score: {args.config} has no background class '
                         '(model.background_index is None)')
    if cfg.model.get('crf'):
        raise ValueError('--field model.background_score: the dense CRF reshapes the background channel after the '
                         'threshold, so one pass cannot serve every value; set model.crf=None or sweep it run by run')
    evaluator = cfg.test_evaluator if isinstance(cfg.test_evaluator, dict) else cfg.test_evaluator[0]
    cfg.test_evaluator = dict(type='BackgroundScoreSweepMetric', values=values,
                              background_index=cfg.model.background_index,
                              ignore_index=evaluator.get('ignore_index', 255))
    metrics = Runner.from_cfg(cfg).test()
    rows = [(v, {'mIoU': metrics[f'mIoU@{v:g}'], 'aAcc': metrics[f'aAcc@{v:g}']}) for v in values]
    table = metrics_table(args.field, rows, args.metric)
    print(table)
    return rows, table


if __name__ == '__main__':
    main()
