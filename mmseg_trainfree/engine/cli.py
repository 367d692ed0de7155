"""The command lines of tools/test.py and tools/make_pseudo_labels.py: mmseg's test arguments and the config
they build (checkpoint optional, dataset paths checked before any model loads, gloo on CPU-only machines)."""
from __future__ import annotations

import argparse
import os
import os.path as osp

import torch
from mmengine.config import Config, DictAction

from ..datasets import check_config_datasets


def test_arg_parser(description: str = 'Evaluate a training-free segmentor (MMSeg test)') -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument('config', help='config file, e.g. configs/maskdiffusion_voc.py')
    parser.add_argument('checkpoint', nargs='?', default=None,
                        help='optional: training-free models load their frozen weights from model ids in the config')
    parser.add_argument('--work-dir', help='where logs and the metric json go (default: ./work_dirs/<config>)')
    parser.add_argument('--out', help='directory to save predicted label PNGs for offline evaluation')
    parser.add_argument('--show', action='store_true', help='show prediction results in a window')
    parser.add_argument('--show-dir', help='directory where overlays of the predictions are written')
    parser.add_argument('--show-interval', type=int, default=1, help='draw every N-th image (default: all)')
    parser.add_argument('--wait-time', type=float, default=2, help='the interval of --show (s)')
    parser.add_argument('--cfg-options', nargs='+', action=DictAction,
                        help='override config entries, e.g. model.backbone.model_id=/path/to/folder')
    parser.add_argument('--launcher', choices=['none', 'pytorch', 'slurm', 'mpi'], default='none', help='job launcher')
    parser.add_argument('--local_rank', '--local-rank', type=int, default=0)
    return parser


def parse_args(argv=None, parser: argparse.ArgumentParser | None = None):
    args = (parser or test_arg_parser()).parse_args(argv)
    os.environ.setdefault('LOCAL_RANK', str(args.local_rank))
    return args


def build_config(args) -> Config:
    cfg = Config.fromfile(args.config)
    cfg.launcher = args.launcher
    if args.cfg_options is not None:
        cfg.merge_from_dict(args.cfg_options)
    if cfg.get('train_dataloader') is not None or cfg.get('train_cfg') is not None:
        raise ValueError(f'{args.config} defines train_dataloader / train_cfg, but the models here are '
                         'training-free: remove them (tools/test.py only evaluates)')
    cfg.work_dir = args.work_dir or cfg.get('work_dir') or osp.join(
        './work_dirs', osp.splitext(osp.basename(args.config))[0])
    cfg.load_from = args.checkpoint
    if args.show or args.show_dir:
        if 'visualization' not in cfg.default_hooks:
            raise RuntimeError("--show / --show-dir need default_hooks.visualization "
                               "(EvalCropVisualizationHook or mmseg's SegVisualizationHook)")
        cfg.default_hooks.visualization.update(draw=True, interval=args.show_interval)
        if args.show:
            cfg.default_hooks.visualization.update(show=True, wait_time=args.wait_time)
        if args.show_dir:
            cfg.visualizer['save_dir'] = args.show_dir
    if args.out is not None:
        cfg.test_evaluator['output_dir'] = args.out
        cfg.test_evaluator['keep_results'] = True
    check_config_datasets(cfg)
    return cfg


def init_cpu_distributed(launcher: str) -> None:
    """Without GPUs, join the process group with gloo before the Runner (mmengine's init_dist would
    call torch.cuda.set_device). Only torchrun's environment (launcher 'pytorch') is supported on CPU."""
    import torch.distributed as dist
    if launcher == 'none' or torch.cuda.is_available() or dist.is_initialized():
        return
    if launcher != 'pytorch':
        raise RuntimeError(f'--launcher {launcher} without GPUs is not supported; use torchrun (tools/dist_test.sh)')
    dist.init_process_group('gloo')


def finish_distributed() -> None:
    """Leave the process group cleanly once testing is done. A gloo group left to interpreter exit can abort
    a rank in teardown ("terminate called without an active exception") after its metrics were written."""
    import torch.distributed as dist
    if dist.is_available() and dist.is_initialized():
        dist.barrier()
        dist.destroy_process_group()
