"""Run one config over several values of one field and print the metrics of each as a table, to choose a
value (K, a threshold, lambda ...) on a split other than the one you report on.

    python tools/sweep.py configs/kmeans_sd_unsup_cocostuff27.py --field model.num_clusters --values 10 15 20 27 \
        --cfg-options test_dataloader.dataset.data_prefix.img_path=images/train2017 \
                      test_dataloader.dataset.data_prefix.seg_map_path=annotations/train2017

Each value is a Python literal (``0.5``, ``[0.5,0.5,0.5]``, ``False``) or a string; it is set like
``--cfg-options FIELD=VALUE`` and the config runs through the same code as tools/test.py, one run per value
(logs and metrics under WORK_DIR/FIELD=VALUE).
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
    rows = []
    for text in args.values:
        value = parse_value(text)
        args.cfg_options = dict(args.cfg_options or {}, **{args.field: value})
        args.work_dir = osp.join(base_dir, f'{args.field}={text}')
        metrics = Runner.from_cfg(build_config(args)).test()
        rows.append((value, metrics))
    table = metrics_table(args.field, rows, args.metric)
    print(table)
    return rows, table


if __name__ == '__main__':
    main()
