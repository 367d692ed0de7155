"""Evaluate a training-free segmentor: mmseg's tools/test.py, with the checkpoint optional.

    python tools/test.py configs/maskdiffusion_voc.py [--show-dir DIR] [--cfg-options k=v ...]
    torchrun --nproc_per_node=N tools/test.py CONFIG --launcher pytorch     (tools/dist_test.sh)

An interrupted run (Ctrl-C, SIGTERM, a killed job) started again with the same config and work dir computes
only the images it had not finished (ResumableTestLoop); --no-resume recomputes them all.
"""
import os.path as osp
import signal
import sys
import threading

sys.path.insert(0, osp.dirname(osp.dirname(osp.abspath(__file__))))  # run from a source checkout too

import mmseg_trainfree  # noqa: E402,F401  (shims and registries before the config is parsed)
from mmengine.runner import Runner  # noqa: E402
from mmseg_trainfree.engine.cli import (build_config, finish_distributed, init_cpu_distributed,  # noqa: E402
                                        parse_args)


def exit_on_sigterm(signum, frame):
    """SIGTERM (a cluster pre-empting the job) unwinds like Ctrl-C: finished images stay in the resume store."""
    raise SystemExit(128 + signum)


def main(argv=None):
    if threading.current_thread() is threading.main_thread():
        signal.signal(signal.SIGTERM, exit_on_sigterm)
    args = parse_args(argv)
    init_cpu_distributed(args.launcher)
    runner = Runner.from_cfg(build_config(args))
    metrics = runner.test()
    finish_distributed()
    return metrics


if __name__ == '__main__':
    main()
