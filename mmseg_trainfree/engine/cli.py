"""The command lines of tools/test.py and tools/make_pseudo_labels.py: mmseg's test arguments and the config
they build (checkpoint optional, dataset paths checked before any model loads, gloo on CPU-only machines)."""
from __future__ import annotations

import argparse
import os
import os.path as osp

import torch
from mmengine.config import Config
from mmengine.config import DictAction as MMEngineDictAction

from ..datasets import check_config_datasets

# Top-level config keys the Runner reads (and ``feature_cache``, which build_config reads). Any other top-level key
# (data_root, dataset_type, test_pipeline, ...) is a variable of the config file, already substituted into the fields
# that use it when the file was read.
RUNNER_KEYS = {'model', 'work_dir', 'test_dataloader', 'test_cfg', 'test_evaluator', 'default_hooks', 'custom_hooks',
               'data_preprocessor', 'load_from', 'resume', 'launcher', 'env_cfg', 'log_processor', 'log_level',
               'visualizer', 'default_scope', 'randomness', 'experiment_name', 'model_wrapper_cfg', 'custom_imports',
               'tta_model', 'tta_pipeline', 'val_dataloader', 'val_cfg', 'val_evaluator', 'feature_cache'}
FILE_VARIABLE_TARGETS = {'data_root': 'test_dataloader.dataset.data_root',
                         'dataset_type': 'test_dataloader.dataset.type',
                         'test_pipeline': 'test_dataloader.dataset.pipeline'}


class DictAction(MMEngineDictAction):
    """mmengine's ``--cfg-options`` parser, keeping the spaces inside values: mmengine removes every space, so
    ``model.class_names="[cat, potted plant]"`` became ``['cat', 'pottedplant']`` and a path with a space broke.
    Items are split at top-level commas and stripped; brackets make lists and tuples as in mmengine."""

    @staticmethod
    def _parse_iterable(val: str):
        val = val.strip().strip('\'"').strip()
        is_tuple = val.startswith('(') and val.endswith(')')
        if is_tuple or (val.startswith('[') and val.endswith(']')):
            val = val[1:-1]
        elif ',' not in val:
            return MMEngineDictAction._parse_int_float_bool(val)
        values, depth, start = [], 0, 0
        for i, char in enumerate(val + ','):
            if char in '([':
                depth += 1
            elif char in ')]':
                depth -= 1
            if char == ',' and depth == 0:
                item = val[start:i].strip()
                if item:
                    values.append(DictAction._parse_iterable(item))
                start = i + 1
        if depth:
            raise ValueError(f'unbalanced brackets in --cfg-options value {val!r}')
        return tuple(values) if is_tuple else values


def check_cfg_options(options: dict, cfg: Config) -> None:
    """Refuse overrides that would do nothing: top-level keys that are only variables of the config file."""
    for key in options:
        top = key.split('.')[0]
        if top in RUNNER_KEYS:
            continue
        target = FILE_VARIABLE_TARGETS.get(top)
        where = f'set {target}=... instead' if target else \
            'set the field that uses it (e.g. test_dataloader.dataset...)'
        known = '' if top in cfg else ' (and the config has no such key)'
        raise ValueError(f'--cfg-options {key}=...: {top!r} is a variable of the config file{known}, already '
                         f'substituted where it is used when the file was read, so overriding it changes nothing; '
                         f'{where}')


def test_arg_parser(description: str = 'Evaluate a training-free segmentor (MMSeg test)') -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument('config', help='config file, e.g. configs/maskdiffusion_voc.py')
    parser.add_argument('checkpoint', nargs='?', default=None,
                        help='optional: Stable Diffusion weights (a .safetensors / .ckpt file or a diffusers '
                             'folder) in place of model.backbone.model_id, or an mmengine checkpoint of the model; '
                             'without it the frozen weights come from the model ids in the config')
    parser.add_argument('--work-dir', help='where logs and the metric json go (default: ./work_dirs/<config>)')
    parser.add_argument('--out', help='directory to save predicted label PNGs for offline evaluation')
    parser.add_argument('--show', action='store_true', help='show prediction results in a window')
    parser.add_argument('--show-dir', help='directory where overlays of the predictions are written')
    parser.add_argument('--show-interval', type=int, default=1, help='draw every N-th image (default: all)')
    parser.add_argument('--wait-time', type=float, default=2, help='the interval of --show (s)')
    parser.add_argument('--cfg-options', nargs='+', action=DictAction,
                        help='override config entries, e.g. model.backbone.model_id=/path/to/folder')
    parser.add_argument('--no-resume', action='store_true',
                        help='recompute every image even if an interrupted run of this config left results in the '
                             'work dir (default: resume from them)')
    parser.add_argument('--cache-dir',
                        help='feature cache: keep per image what an ablation does not change (attention maps, '
                             'features, inversions) in this folder, shared by configs and processes; sets '
                             'feature_cache.root')
    parser.add_argument('--cache-size',
                        help='bound of the feature cache folder, e.g. 100GB (default 50GB); past it the least recently '
                             'used entries go (feature_cache.policy=keep: none is added)')
    parser.add_argument('--tta', action='store_true',
                        help="test-time augmentation (mmseg's flag): not supported, the methods predict from one view")
    parser.add_argument('--launcher', choices=['none', 'pytorch', 'slurm', 'mpi'], default='none', help='job launcher')
    parser.add_argument('--local_rank', '--local-rank', type=int, default=0)
    return parser


def parse_args(argv=None, parser: argparse.ArgumentParser | None = None):
    parser = parser or test_arg_parser()
    args = parser.parse_args(argv)
    if getattr(args, 'tta', False):
        parser.error('--tta: test-time augmentation is not supported. These training-free methods predict from one '
                     'view (their own resize of the image), and averaging flipped or rescaled views would change '
                     'the methods of the papers; run without --tta')
    os.environ.setdefault('LOCAL_RANK', str(args.local_rank))
    return args


def build_config(args) -> Config:
    cfg = Config.fromfile(args.config)
    cfg.launcher = args.launcher
    if args.cfg_options is not None:
        check_cfg_options(args.cfg_options, cfg)
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
    if getattr(args, 'no_resume', False):
        if cfg.get('test_cfg', {}).get('type') != 'ResumableTestLoop':
            raise ValueError(f"--no-resume: test_cfg.type is {cfg.get('test_cfg', {}).get('type')!r}, which does not "
                             'resume anyway (ResumableTestLoop does)')
        cfg.test_cfg.resume = False
    if args.out is not None:
        evaluators = cfg.test_evaluator if isinstance(cfg.test_evaluator, list) else [cfg.test_evaluator]
        for evaluator in evaluators:
            evaluator['output_dir'] = args.out
        os.makedirs(args.out, exist_ok=True)  # on every rank: mmseg's IoUMetric creates it on rank 0 only
    add_feature_cache(cfg, getattr(args, 'cache_dir', None), getattr(args, 'cache_size', None))
    check_config_datasets(cfg)
    return cfg


def add_feature_cache(cfg: Config, cache_dir: str | None = None, cache_size: str | None = None) -> None:
    """The config's ``feature_cache`` (root, max_size, policy), updated by ``--cache-dir`` / ``--cache-size``,
    becomes a ``FeatureCacheHook`` in ``custom_hooks``."""
    spec = dict(cfg.get('feature_cache') or {})
    if cache_dir is not None:
        spec['root'] = cache_dir
    if cache_size is not None:
        spec['max_size'] = cache_size
    if not spec:
        return
    if not spec.get('root'):
        raise ValueError(f'feature_cache {spec} has no root folder: give --cache-dir DIR or feature_cache.root')
    unknown = set(spec) - {'root', 'max_size', 'policy'}
    if unknown:
        raise ValueError(f'feature_cache: unknown keys {sorted(unknown)}; it takes root, max_size and policy')
    cfg.feature_cache = spec
    cfg.custom_hooks = [h for h in cfg.get('custom_hooks', []) if h.get('type') != 'FeatureCacheHook'] + [
        dict(type='FeatureCacheHook', **spec)]


def init_cpu_distributed(launcher: str) -> None:
    """Without GPUs, join the process group with gloo before the Runner (mmengine's init_dist would call
    torch.cuda.set_device). torchrun's environment (launcher 'pytorch') and Slurm's (launcher 'slurm': the
    SLURM_* variables, the first host of the node list as master, as mmengine reads them) are supported."""
    import torch.distributed as dist
    if launcher == 'none' or torch.cuda.is_available() or dist.is_initialized():
        return
    if launcher == 'slurm':
        slurm_environment()
    elif launcher != 'pytorch':
        raise RuntimeError(f'--launcher {launcher} without GPUs is not supported; use torchrun (tools/dist_test.sh)')
    dist.init_process_group('gloo')


def slurm_environment() -> None:
    """torch.distributed's variables from Slurm's, as mmengine's ``_init_dist_slurm`` sets them."""
    import subprocess
    missing = [k for k in ('SLURM_PROCID', 'SLURM_NTASKS', 'SLURM_NODELIST') if k not in os.environ]
    if missing:
        raise RuntimeError(f'--launcher slurm outside a Slurm job step: {", ".join(missing)} not set '
                           '(run through srun, e.g. tools/slurm_test.sh)')
    if 'MASTER_ADDR' not in os.environ:
        hosts = subprocess.run(['scontrol', 'show', 'hostnames', os.environ['SLURM_NODELIST']], capture_output=True,
                               text=True, check=True).stdout.split()
        os.environ['MASTER_ADDR'] = hosts[0]
    os.environ.setdefault('MASTER_PORT', '29500')
    os.environ['WORLD_SIZE'] = os.environ['SLURM_NTASKS']
    os.environ['RANK'] = os.environ['SLURM_PROCID']
    os.environ['LOCAL_RANK'] = os.environ.get('SLURM_LOCALID', '0')


def finish_distributed() -> None:
    """Leave the process group cleanly once testing is done. A gloo group left to interpreter exit can abort
    a rank in teardown ("terminate called without an active exception") after its metrics were written."""
    import torch.distributed as dist
    if dist.is_available() and dist.is_initialized():
        dist.barrier()
        dist.destroy_process_group()
