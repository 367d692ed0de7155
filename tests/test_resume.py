"""Interrupted evaluations resume: a run killed after a few images and started again computes only the rest and
ends with the metrics of an uninterrupted run, also when the number of processes changes."""
import glob
import os
import os.path as osp
import signal
import subprocess
import sys
import time

import pytest
from conftest import REPO, load_test_tool

from mmseg_trainfree.datasets import generate_shapes_dataset
from mmseg_trainfree.testing import trained_stable_diffusion

ENV = dict(os.environ, OMP_NUM_THREADS='1', HF_HUB_OFFLINE='1', PYTHONWARNINGS='ignore', PYTHON=sys.executable)
CONFIG = osp.join(REPO, 'configs/emerdiff_shapes.py')  # a dataset-level metric: entries gathered from every image
N = 6


@pytest.fixture(scope='module')
def setup(tmp_path_factory):
    root = generate_shapes_dataset(str(tmp_path_factory.mktemp('resume')), num_images=N, size=(128, 128), seed=1000,
                                   split='val')
    options = ['--cfg-options', f'model.backbone.model_id={trained_stable_diffusion()}',
               f'test_dataloader.dataset.data_root={root}']
    return root, options


def interrupted_run(work_dir, options, out=None):
    """Start tools/test.py, SIGTERM it once 2 images are stored; the number of images stored when it died."""
    args = [sys.executable, osp.join(REPO, 'tools/test.py'), CONFIG, '--work-dir', str(work_dir), *options]
    if out:
        args[3:3] = ['--out', str(out)]
    proc = subprocess.Popen(args, env=ENV, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    store = osp.join(work_dir, 'resume', '*', '*.pkl')
    deadline = time.time() + 300
    while len(glob.glob(store)) < 2 and proc.poll() is None and time.time() < deadline:
        time.sleep(0.02)
    proc.send_signal(signal.SIGTERM)
    _, err = proc.communicate(timeout=120)
    assert proc.returncode == 128 + signal.SIGTERM, err[-2000:]
    return len(glob.glob(store))


def test_killed_run_resumes_with_the_same_metrics(setup, tmp_path, capsys):
    root, options = setup
    full = load_test_tool().main([CONFIG, '--work-dir', str(tmp_path / 'full'), *options])
    assert not glob.glob(str(tmp_path / 'full' / 'resume' / '*' / '*.pkl'))  # removed after a finished run
    done = interrupted_run(tmp_path / 'w', options, out=tmp_path / 'out')
    assert 2 <= done < N
    assert (tmp_path / 'out' / 'UNFINISHED').is_file()  # the interrupted run's predictions are marked
    capsys.readouterr()
    resumed = load_test_tool().main([CONFIG, '--work-dir', str(tmp_path / 'w'), '--out', str(tmp_path / 'out'),
                                     *options])
    log = capsys.readouterr().out
    assert f'images taken from the resume store: {done}, computed: {N - done}' in log
    assert resumed == full
    assert not (tmp_path / 'out' / 'UNFINISHED').exists() and len(glob.glob(str(tmp_path / 'out' / '*.png'))) == N


def test_the_store_key_follows_what_the_entries_depend_on():
    """A changed model, dataset or evaluator gets another key (stale entries are never reused); where the
    predictions are written does not change it."""
    from mmengine.config import Config
    from mmseg_trainfree.engine.resume import run_key
    key = run_key(Config.fromfile(CONFIG))
    assert run_key(Config.fromfile(CONFIG)) == key
    for field, value in (('model.modulation_strength', 300.0), ('test_dataloader.dataset.data_root', 'x'),
                         ('test_evaluator.protocol', 'traditional')):
        changed = Config.fromfile(CONFIG)
        changed.merge_from_dict({field: value})
        assert run_key(changed) != key, field
    out = Config.fromfile(CONFIG)
    out.merge_from_dict({'test_evaluator.output_dir': '/tmp/preds'})
    assert run_key(out) == key


@pytest.mark.parametrize('field, value', [('model.backbone.model_id', '/other/weights'),
                                          ('model.backbone.dtype', 'float16'),
                                          ('model.test_cfg', dict(mode='slide', crop_size=(64, 64), stride=(32, 32))),
                                          ('test_dataloader.dataset.pipeline.0.type', 'LoadImageFromFile')])
def test_the_store_key_follows_nested_settings(field, value):
    """A key built from the top-level fields alone (a realistic shortcut) would resume another backbone's or
    another pipeline's entries: every nested setting counts."""
    from mmengine.config import Config
    from mmseg_trainfree.engine.resume import run_key
    changed = Config.fromfile(CONFIG)
    changed.merge_from_dict({field: value})
    assert run_key(changed) != run_key(Config.fromfile(CONFIG)), field

def test_resume_under_two_processes_after_a_one_process_run(setup, tmp_path):
    root, options = setup
    full = load_test_tool().main([CONFIG, '--work-dir', str(tmp_path / 'full'), *options])
    done = interrupted_run(tmp_path / 'w', options)
    proc = subprocess.run(['bash', osp.join(REPO, 'tools/dist_test.sh'), CONFIG, '2', '--work-dir', str(tmp_path / 'w'),
                           *options], env=dict(ENV, PORT='29541'), capture_output=True, text=True, timeout=600)
    out = proc.stdout + proc.stderr
    assert proc.returncode == 0, out[-3000:]
    import re
    counts = [tuple(map(int, m)) for m in re.findall(r'resume store: (\d+), computed: (\d+)', out)]
    assert counts and counts[0] == (done, N - done)  # summed over both processes
    import json
    assert json.loads((tmp_path / 'w' / 'results.json').read_text())['metrics']['mIoU'] == pytest.approx(
        full['mIoU'], abs=1e-6)
