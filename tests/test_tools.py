"""tools/test.py end to end (demo config), torchrun with 2 processes, and config errors."""
import os
import os.path as osp
import re
import subprocess
import sys

import pytest
from conftest import REPO

ENV = dict(os.environ, OMP_NUM_THREADS='1', HF_HUB_OFFLINE='1', PYTHONWARNINGS='ignore', PYTHON=sys.executable)
# the demo configs name the shipped model relative to the repository root; these runs start elsewhere
TRAINED_SD = ['--cfg-options', f"model.backbone.model_id={osp.join(REPO, 'assets/tiny-sd-shapes')}"]


def run_tool(args, cwd, timeout=600):
    proc = subprocess.run(args, cwd=cwd, env=ENV, capture_output=True, text=True, timeout=timeout)
    return proc.returncode, proc.stdout + proc.stderr


@pytest.fixture(scope='module')
def demo_dir(tmp_path_factory):
    root = tmp_path_factory.mktemp('demo')
    code, out = run_tool([sys.executable, osp.join(REPO, 'tools/prepare_demo.py'), '--root', str(root / 'data/demo'),
                          '--num-images', '4'], cwd=root)
    assert code == 0, out
    return root


def final_metrics(log: str) -> dict:
    line = [ln for ln in log.splitlines() if 'Iter(test)' in ln and 'mIoU' in ln][-1]
    return {k: float(v) for k, v in re.findall(r'(aAcc|mIoU|mAcc): ([\d.]+)', line)}


def per_class_table(log: str) -> list:
    return [ln.strip() for ln in log.splitlines() if re.match(r'\s*\|\s*(background|disc|square|triangle)\s*\|', ln)]


@pytest.fixture(scope='module')
def single_run(demo_dir):
    config = osp.join(REPO, 'configs/maskdiffusion_shapes_demo.py')
    code, out = run_tool([sys.executable, osp.join(REPO, 'tools/test.py'), config, '--work-dir', 'wd1',
                          '--show-dir', 'show', '--out', 'preds', *TRAINED_SD], cwd=demo_dir)
    assert code == 0, out[-3000:]
    return out


def test_demo_prints_metrics_and_writes_overlays(single_run, demo_dir):
    metrics = final_metrics(single_run)
    assert set(metrics) == {'aAcc', 'mIoU', 'mAcc'} and 0 <= metrics['mIoU'] <= 100
    assert len(per_class_table(single_run)) == 4
    overlays = [f for _, _, fs in os.walk(demo_dir / 'show') for f in fs if f.endswith('.png')]
    assert len(overlays) == 4
    preds = sorted(os.listdir(demo_dir / 'preds'))
    assert preds == [f'shapes_{i:04d}.png' for i in range(4)]


def test_two_processes_give_the_same_metrics(single_run, demo_dir):
    """dist_test.sh with 2 processes: the metrics of one process, --out written by both ranks, and an argument
    with a space (the work dir) passed on intact."""
    config = osp.join(REPO, 'configs/maskdiffusion_shapes_demo.py')
    code, out = run_tool(['bash', osp.join(REPO, 'tools/dist_test.sh'), config, '2', '--work-dir', 'wd 2',
                          '--out', 'preds2', *TRAINED_SD], cwd=demo_dir)
    assert code == 0, out[-3000:]
    assert final_metrics(out) == final_metrics(single_run)
    assert per_class_table(out) == per_class_table(single_run)
    assert sorted(os.listdir(demo_dir / 'preds2')) == sorted(os.listdir(demo_dir / 'preds'))
    assert (demo_dir / 'wd 2' / 'results.json').is_file()


def fake_program(path, body: str):
    path.write_text(f'#!{sys.executable}\n' + body)
    path.chmod(0o755)
    return path


@pytest.mark.parametrize('args,expected_checkpoint', [(['2'], None), (['ckpt.pth', '2'], 'ckpt.pth')])
def test_dist_test_accepts_mmseg_order_and_quotes_arguments(tmp_path, args, expected_checkpoint):
    """CONFIG N and mmseg's CONFIG CHECKPOINT N; every option reaches tools/test.py as one argument."""
    import json
    python = fake_program(tmp_path / 'python', 'import json, sys\nprint(json.dumps(sys.argv[1:]))\n')
    env = dict(ENV, PYTHON=str(python))
    proc = subprocess.run(['bash', osp.join(REPO, 'tools/dist_test.sh'), 'cfg.py', *args, '--cfg-options',
                           "model.class_names=[cat, potted plant]", '--work-dir', 'a b'], env=env,
                          capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stderr
    argv = json.loads(proc.stdout)
    assert argv[:2] == ['-m', 'torch.distributed.run'] and '--nproc_per_node=2' in argv
    rest = argv[argv.index(osp.join(REPO, 'tools', 'test.py')) + 1:]
    assert rest == ['cfg.py', *([expected_checkpoint] if expected_checkpoint else []), '--launcher', 'pytorch',
                    '--cfg-options', 'model.class_names=[cat, potted plant]', '--work-dir', 'a b']
    bad = subprocess.run(['bash', osp.join(REPO, 'tools/dist_test.sh'), 'cfg.py', 'two'], env=env,
                         capture_output=True, text=True, timeout=60)
    assert bad.returncode == 2 and 'N must be a number' in bad.stderr


def test_slurm_test_with_fake_srun_gives_the_same_metrics(single_run, demo_dir, tmp_path):
    """tools/slurm_test.sh without Slurm: a fake srun starts its --ntasks processes with the SLURM_* variables
    and a fake scontrol names the host; 2 processes give the metrics of one."""
    bin_dir = tmp_path / 'bin'
    bin_dir.mkdir()
    fake_program(bin_dir / 'scontrol', 'print("127.0.0.1")\n')
    fake_program(bin_dir / 'srun', """import os, subprocess, sys
args = sys.argv[1:]
ntasks = int(next(a.split('=', 1)[1] for a in args if a.startswith('--ntasks=')))
command = args[next(i for i, a in enumerate(args) if not a.startswith('-')
                    and not (i and args[i - 1] == '-p')):]
procs = [subprocess.Popen(command, env=dict(os.environ, SLURM_PROCID=str(r), SLURM_NTASKS=str(ntasks),
                                             SLURM_LOCALID=str(r), SLURM_NODELIST='node1')) for r in range(ntasks)]
sys.exit(max(p.wait() for p in procs))
""")
    env = dict(ENV, PATH=f"{bin_dir}:{ENV['PATH']}", GPUS='2', GPUS_PER_NODE='2', CPUS_PER_TASK='1',
               MASTER_PORT='29531')
    config = osp.join(REPO, 'configs/maskdiffusion_shapes_demo.py')
    proc = subprocess.run(['bash', osp.join(REPO, 'tools/slurm_test.sh'), 'partition', 'job', config,
                           '--work-dir', 'ws2', *TRAINED_SD], cwd=demo_dir, env=env, capture_output=True, text=True,
                          timeout=600)
    out = proc.stdout + proc.stderr
    assert proc.returncode == 0, out[-3000:]
    assert final_metrics(out) == final_metrics(single_run) and per_class_table(out) == per_class_table(single_run)


def test_cfg_options_keep_spaces_refuse_file_variables_and_tta(demo_dir):
    from mmseg_trainfree.engine.cli import build_config, parse_args
    config = osp.join(REPO, 'configs/maskdiffusion_shapes_demo.py')
    args = parse_args([config, '--cfg-options', 'model.class_names=[background, disc, potted plant, x]',
                       'model.backbone.model_id=/models/my sd', 'model.timestep=(1, 2)'])
    assert args.cfg_options['model.class_names'] == ['background', 'disc', 'potted plant', 'x']
    assert args.cfg_options['model.backbone.model_id'] == '/models/my sd'
    assert args.cfg_options['model.timestep'] == (1, 2)
    args = parse_args([config, '--cfg-options', 'data_root=/elsewhere'])
    with pytest.raises(ValueError, match=r'data_root.*changes nothing; set test_dataloader.dataset.data_root'):
        build_config(args)
    with pytest.raises(SystemExit):
        parse_args([config, '--tta'])
    code, out = run_tool([sys.executable, osp.join(REPO, 'tools/test.py'), config, '--tta'], cwd=demo_dir)
    assert code == 2 and 'test-time augmentation is not supported' in out


def test_missing_dataset_root_is_reported(demo_dir):
    config = osp.join(REPO, 'configs/maskdiffusion_voc.py')
    code, out = run_tool([sys.executable, osp.join(REPO, 'tools/test.py'), config], cwd=demo_dir)
    assert code != 0
    assert 'data/VOCdevkit/VOC2012' in out and 'JPEGImages' in out and 'does not exist' in out


def test_training_config_is_refused(demo_dir):
    cfg = demo_dir / 'train_cfg.py'
    cfg.write_text(f"_base_ = ['{osp.join(REPO, 'configs/maskdiffusion_shapes_demo.py')}']\n"
                   "train_cfg = dict(type='IterBasedTrainLoop', max_iters=10)\n")
    code, out = run_tool([sys.executable, osp.join(REPO, 'tools/test.py'), str(cfg)], cwd=demo_dir)
    assert code != 0 and 'training-free' in out


def test_unsupervised_demo_single_and_two_processes_agree(demo_dir):
    """Unsupervised MaskDiffusion through tools/test.py: Hungarian metric, overlays at the evaluated crop,
    and the distributed run (statistics gathered from 2 processes) equal to one process."""
    config = osp.join(REPO, 'configs/maskdiffusion_unsup_shapes_demo.py')
    code, one = run_tool([sys.executable, osp.join(REPO, 'tools/test.py'), config, '--work-dir', 'wu1',
                          '--show-dir', 'show_unsup', *TRAINED_SD], cwd=demo_dir)
    assert code == 0, one[-3000:]
    assert 'Hungarian matching, per_image protocol' in one and len(per_class_table(one)) == 4
    overlays = [osp.join(d, f) for d, _, fs in os.walk(demo_dir / 'show_unsup') for f in fs if f.endswith('.png')]
    assert len(overlays) == 4
    import cv2
    # ground truth and prediction side by side at the 128 crop, drawn enlarged 4 x (min_side=512)
    assert cv2.imread(overlays[0]).shape[:2] == (512, 1024)
    code, two = run_tool(['bash', osp.join(REPO, 'tools/dist_test.sh'), config, '2', '--work-dir', 'wu2',
                          *TRAINED_SD], cwd=demo_dir)
    assert code == 0, two[-3000:]
    assert final_metrics(two) == final_metrics(one) and per_class_table(two) == per_class_table(one)


@pytest.mark.parametrize('config,marker', [('emerdiff_ade20k.py', 'EmerDiff modified protocol, mask embeddings'),
                                           ('maskclip_emerdiff_ade20k.py', 'per class results')])
def test_emerdiff_runs_on_an_ade20k_fixture(config, marker, tmp_path, tiny_sd, tiny_clip):
    """tools/test.py with EmerDiff (modified protocol) and MaskCLIP + EmerDiff (open vocabulary) on a tiny
    ADE20K-layout copy with the tiny models given by --cfg-options."""
    from mmseg_trainfree.testing import write_benchmark_fixture
    write_benchmark_fixture('ade20k', str(tmp_path / 'data'))
    options = [f'model.backbone.model_id={tiny_sd}', 'model.backbone.dtype=float32', 'model.num_masks=3',
               'model.pixels=16384', 'model.max_batch=7']
    if config.startswith('maskclip'):
        options += [f'model.clip.{k}={v}' for k, v in tiny_clip.items()]
    code, out = run_tool([sys.executable, osp.join(REPO, 'tools/test.py'), osp.join(REPO, 'configs', config),
                          '--work-dir', 'wd', '--show-dir', 'show', '--cfg-options', *options], cwd=tmp_path)
    assert code == 0, out[-3000:]
    assert marker in out
    metrics = final_metrics(out)
    assert set(metrics) == {'aAcc', 'mIoU', 'mAcc'} and 0 <= metrics['mIoU'] <= 100
    assert any(f.endswith('.png') for _, _, fs in os.walk(tmp_path / 'show') for f in fs)


def diffsegmenter_options(tiny_sd, tiny_blip, tiny_clip, filtering=True):
    """--cfg-options that swap DiffSegmenter's SD, BLIP and CLIP for the tiny offline models."""
    options = [f'model.backbone.model_id={tiny_sd}', 'model.backbone.dtype=float32', 'model.image_size=[64,64]',
               f'model.captioner.model_id={tiny_blip}', 'model.captioner.dtype=float32',
               'model.captioner.max_new_tokens=6']
    if filtering:
        options += [f'model.category_filter.clip.{k}={v}' for k, v in tiny_clip.items()]
    return options


def test_diffsegmenter_runs_on_a_voc_fixture(tmp_path, tiny_sd, tiny_blip, tiny_clip):
    """The zero-shot config end to end: BLIP-augmented prompts, caption + CLIP filtering, background constant."""
    from mmseg_trainfree.testing import write_benchmark_fixture
    write_benchmark_fixture('pascal_voc12', str(tmp_path / 'data'))
    code, out = run_tool([sys.executable, osp.join(REPO, 'tools/test.py'), osp.join(REPO, 'configs/diffsegmenter_voc.py'),
                          '--work-dir', 'wd', '--cfg-options', *diffsegmenter_options(tiny_sd, tiny_blip, tiny_clip)],
                         cwd=tmp_path)
    assert code == 0, out[-3000:]
    metrics = final_metrics(out)
    assert set(metrics) == {'aAcc', 'mIoU', 'mAcc'} and 0 <= metrics['mIoU'] <= 100


@pytest.mark.parametrize('crf', [False, True])
def test_make_pseudo_labels_writes_pngs_and_scores_them(tmp_path, tiny_sd, tiny_blip, tiny_clip, crf):
    """tools/make_pseudo_labels.py on a tiny VOC train-aug copy (train + SBD aug lists): one grey-scale PNG of
    class ids per image, within each image's ground-truth classes and background, and the mIoU printed. The
    config has DenseCRF on (the paper's pseudo-labels); --no-crf switches it off."""
    import numpy as np
    from PIL import Image
    from mmseg_trainfree.testing import write_benchmark_fixture
    if crf:
        pytest.importorskip('pydensecrf')
    expected = write_benchmark_fixture('pascal_voc12_trainaug', str(tmp_path / 'data'))
    args = [sys.executable, osp.join(REPO, 'tools/make_pseudo_labels.py'),
            osp.join(REPO, 'configs/diffsegmenter_voc_wsss.py'), '--work-dir', 'wd', '--out', 'pseudo',
            '--cfg-options', *diffsegmenter_options(tiny_sd, tiny_blip, tiny_clip, filtering=False)]
    code, out = run_tool(args + ([] if crf else ['--no-crf']), cwd=tmp_path)
    assert code == 0, out[-3000:]
    assert 'pseudo-labels written to pseudo' in out and 0 <= final_metrics(out)['mIoU'] <= 100
    written = sorted(os.listdir(tmp_path / 'pseudo'))
    assert written == sorted(n.replace('.jpg', '.png') for n in expected)
    for name, gt in expected.items():
        label = np.array(Image.open(tmp_path / 'pseudo' / name.replace('.jpg', '.png')))
        assert label.shape == gt.shape and set(np.unique(label)) <= (set(np.unique(gt)) - {255}) | {0}


def test_make_pseudo_labels_needs_out(tmp_path):
    code, out = run_tool([sys.executable, osp.join(REPO, 'tools/make_pseudo_labels.py'),
                          osp.join(REPO, 'configs/diffsegmenter_voc_wsss.py')], cwd=tmp_path)
    assert code != 0 and '--out DIR is required' in out
