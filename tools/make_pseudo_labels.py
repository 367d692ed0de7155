"""Write a segmentor's predictions as pseudo-label PNGs (one per image, class ids, mmseg's format) and report
their mIoU against the dataset's ground truth through the config's own metric.

    python tools/make_pseudo_labels.py configs/diffsegmenter_voc_wsss.py --out work_dirs/pseudo_labels [--no-crf]
    torchrun --nproc_per_node=N tools/make_pseudo_labels.py CONFIG --out DIR --launcher pytorch

The PNGs are grey-scale class ids named after the images (SegmentationClassAug's format), ready to train a
segmentation network with mmseg.
"""
import os.path as osp
import sys

sys.path.insert(0, osp.dirname(osp.dirname(osp.abspath(__file__))))  # run from a source checkout too

import mmseg_trainfree  # noqa: E402,F401  (shims and registries before the config is parsed)
from mmengine.runner import Runner  # noqa: E402
from mmseg_trainfree.engine.cli import (build_config, finish_distributed, init_cpu_distributed,  # noqa: E402
                                        parse_args, test_arg_parser)
from mmseg_trainfree.registry import MODELS  # noqa: E402


def main(argv=None):
    parser = test_arg_parser('Write pseudo-label PNGs and score them against the ground truth')
    crf = parser.add_mutually_exclusive_group()
    crf.add_argument('--crf', action='store_true', default=None,
                     help="refine the scores with a dense CRF before the argmax (needs pydensecrf2); "
                          "default: the config's model.crf (on in diffsegmenter_voc_wsss.py)")
    crf.add_argument('--no-crf', dest='crf', action='store_false', help='switch the config\'s dense CRF off')
    args = parse_args(argv, parser)
    if not args.out:
        parser.error('--out DIR is required: the directory for the pseudo-label PNGs')
    cfg = build_config(args)
    if args.crf is not None:
        import inspect
        segmentor = MODELS.get(cfg.model.type)
        if segmentor is None or 'crf' not in inspect.signature(segmentor.__init__).parameters:
            flag = '--crf' if args.crf else '--no-crf'
            raise ValueError(f'{flag}: segmentor {cfg.model.type!r} has no crf option (DiffSegmenter has)')
        cfg.model.crf = dict(type='DenseCRF') if args.crf else None
    evaluators = cfg.test_evaluator if isinstance(cfg.test_evaluator, list) else [cfg.test_evaluator]
    if not any(e.get('type') in ('IoUMetric', 'mmseg.IoUMetric') for e in evaluators):
        raise ValueError("the config's test_evaluator must be mmseg's IoUMetric, which writes the PNGs "
                         f'(output_dir) and scores them; got {[e.get("type") for e in evaluators]}')
    init_cpu_distributed(args.launcher)
    metrics = Runner.from_cfg(cfg).test()
    finish_distributed()
    print(f'pseudo-labels written to {args.out}')
    return metrics


if __name__ == '__main__':
    main()
