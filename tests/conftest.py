"""Shared fixtures: a tiny random Stable Diffusion folder and the built-in shapes dataset, built offline."""
import os

os.environ.setdefault('OMP_NUM_THREADS', '1')
os.environ.setdefault('HF_HUB_OFFLINE', '1')

import pytest  # noqa: E402
import torch  # noqa: E402

import mmseg_trainfree  # noqa: E402,F401
from mmseg_trainfree.datasets import generate_shapes_dataset  # noqa: E402
from mmseg_trainfree.testing import random_stable_diffusion  # noqa: E402

torch.set_num_threads(1)
mmseg_trainfree.register_all_modules()
REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def load_tool(name: str = 'test'):
    """tools/<name>.py as a module, so that it runs (e.g. configs through tools/test.py's Runner path) in this
    process."""
    import importlib.util
    spec = importlib.util.spec_from_file_location(f"tools_{name.replace('/', '_')}",
                                                  os.path.join(REPO, 'tools', f'{name}.py'))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


# Persistent dataloader workers outlive their Runner, and the next Runner of the same process waits about 10 s for
# them: every in-process run of tools/test.py here turns them off (the runs read each dataset once).
TRANSIENT_WORKERS = 'test_dataloader.persistent_workers=False'


def load_test_tool():
    """tools/test.py as a module whose ``main`` adds ``TRANSIENT_WORKERS`` to the ``--cfg-options``."""
    module = load_tool('test')
    main = module.main

    def main_with_transient_workers(argv=None):
        argv = list(argv or [])
        if '--cfg-options' in argv:
            argv.insert(argv.index('--cfg-options') + 1, TRANSIENT_WORKERS)
        else:
            argv += ['--cfg-options', TRANSIENT_WORKERS]
        return main(argv)

    module.main = main_with_transient_workers
    return module


def run_config(config: str, work_dir, *options: str) -> dict:
    """The metrics of ``configs/<config>`` through tools/test.py's main, with ``--cfg-options options``."""
    return load_test_tool().main([os.path.join(REPO, 'configs', config), '--work-dir', str(work_dir),
                                  '--cfg-options', *options])


def all_background_miou(data_root: str) -> float:
    """mmseg's dataset-level mIoU of predicting background (class 0) everywhere on a shapes split: the constant
    baseline of the behavioural tests."""
    import glob

    import cv2
    import numpy as np
    labels = [cv2.imread(p, cv2.IMREAD_UNCHANGED)
              for p in sorted(glob.glob(os.path.join(data_root, 'ann_dir/val/*.png')))]
    classes = np.unique(np.concatenate([np.unique(lb) for lb in labels]))
    background = sum(int((lb == 0).sum()) for lb in labels) / sum(lb.size for lb in labels)
    return 100 * background / len(classes)


@pytest.fixture(scope='session')
def tiny_sd(tmp_path_factory) -> str:
    """Path of a tiny random SD v1-layout folder (loaded by the code under test with from_pretrained)."""
    return random_stable_diffusion('tiny', seed=0, root=str(tmp_path_factory.mktemp('models')))


@pytest.fixture(scope='session')
def backbone(tiny_sd):
    from mmseg_trainfree.models import StableDiffusionBackbone
    return StableDiffusionBackbone(model_id=tiny_sd, dtype='float32')


@pytest.fixture(scope='session')
def tiny_clip(tmp_path_factory) -> dict:
    """``OpenCLIPBackbone`` fields that load a tiny random open_clip model through the real code path."""
    from mmseg_trainfree.testing import random_open_clip
    name, checkpoint, config_dir = random_open_clip(root=str(tmp_path_factory.mktemp('clip')))
    return dict(model_name=name, pretrained=checkpoint, model_config_dir=config_dir, short_side=64)


@pytest.fixture(scope='session')
def tiny_blip(tmp_path_factory) -> str:
    """Path of a tiny random BLIP captioning folder (loaded with from_pretrained by the code under test)."""
    from mmseg_trainfree.testing import random_blip
    return random_blip('tiny', seed=0, root=str(tmp_path_factory.mktemp('blip')))


@pytest.fixture(scope='session')
def shapes_root(tmp_path_factory) -> str:
    return generate_shapes_dataset(str(tmp_path_factory.mktemp('shapes')), num_images=4, size=(96, 128))


def maskdiffusion_cfg(model_id: str, **kw) -> dict:
    cfg = dict(type='MaskDiffusion', backbone=dict(type='StableDiffusionBackbone', model_id=model_id),
               data_preprocessor=dict(type='SegDataPreProcessor', mean=[127.5] * 3, std=[127.5] * 3, bgr_to_rgb=True),
               image_size=(64, 64), class_names=['background', 'disc', 'square', 'triangle'])
    cfg.update(kw)
    return cfg


def _gloo_worker(rank: int, world: int, port: int, fn, out: str) -> None:
    import torch.distributed as dist
    dist.init_process_group('gloo', init_method=f'tcp://127.0.0.1:{port}', rank=rank, world_size=world)
    result = fn(rank, world)
    if rank == 0:
        torch.save(result, out)
    dist.destroy_process_group()


def run_distributed(fn, out: str, world: int = 2):
    """``fn(rank, world)`` in ``world`` gloo processes; returns rank 0's result. ``fn`` must be importable
    (a module-level function or a functools.partial of one)."""
    import socket
    with socket.socket() as s:
        s.bind(('127.0.0.1', 0))
        port = s.getsockname()[1]
    torch.multiprocessing.spawn(_gloo_worker, args=(world, port, fn, out), nprocs=world)
    return torch.load(out)
