"""mmseg's own ``tools/test.py CONFIG CHECKPOINT`` on our configs: the Stable Diffusion weights as the checkpoint (a
single file or a diffusers folder) replace ``model.backbone.model_id``; the backbone is built lazily so the config's
model id is never read; an mmengine checkpoint of the whole model is still mmengine's to load."""
import glob
import json
import os
import os.path as osp
import shutil
import subprocess
import sys

import pytest
import torch
from conftest import REPO, TRANSIENT_WORKERS, load_test_tool
from mmengine.config import Config

from mmseg_trainfree.engine.results import model_sources
from mmseg_trainfree.engine.weights import is_diffusion_weights
from mmseg_trainfree.models import StableDiffusionBackbone
from mmseg_trainfree.models.backbones.hub import ModelNotAvailableError
from mmseg_trainfree.registry import MODELS
from mmseg_trainfree.testing import trained_stable_diffusion
from mmseg_trainfree.testing.single_file import write_single_file_checkpoint

CONFIG = osp.join(REPO, 'configs/maskdiffusion_shapes.py')


@pytest.fixture(scope='module')
def trained_single_file(tmp_path_factory) -> str:
    return write_single_file_checkpoint(trained_stable_diffusion(),
                                        str(tmp_path_factory.mktemp('ckpt') / 'tiny-sd-shapes.safetensors'))


@pytest.fixture(scope='module')
def decoy(tiny_sd, tmp_path_factory) -> str:
    """The trained folder's configs (its VAE's fitted scaling factor is a config value, not in the weights) with the
    random weights of the same topology: the config's model id under test, which a checkpoint replaces."""
    path = str(tmp_path_factory.mktemp('decoy') / 'tiny-sd-decoy')
    shutil.copytree(trained_stable_diffusion(), path)
    for part in ('unet', 'vae', 'text_encoder'):
        for weights in glob.glob(osp.join(tiny_sd, part, '*.safetensors')):
            shutil.copy(weights, osp.join(path, part, osp.basename(weights)))
    return path


@pytest.fixture(scope='module')
def reference(shapes_root, tmp_path_factory) -> dict:
    """The config's metrics with the trained weights as its model id (no checkpoint)."""
    return run(tmp_path_factory.mktemp('ref'), None, trained_stable_diffusion(), shapes_root)


def run(work_dir, checkpoint, model_id: str, data_root: str) -> dict:
    """tools/test.py (ours; the same Runner path as mmseg's) in this process."""
    return load_test_tool().main([CONFIG, *([checkpoint] if checkpoint else []), '--work-dir', str(work_dir),
                                  '--cfg-options', f'model.backbone.model_id={model_id}',
                                  f'test_dataloader.dataset.data_root={data_root}'])


def test_mmseg_own_test_script_takes_the_sd_weights_as_checkpoint(trained_single_file, reference, decoy,
                                                                  shapes_root, tmp_path):
    """mmseg's tools/test.py as installed (mmseg/.mim/tools/test.py), with the trained model as one .safetensors
    file while the config's model id is the decoy (which then only describes the architecture): the metrics are the
    trained model's, and results.json names the checkpoint."""
    import mmseg
    script = osp.join(osp.dirname(mmseg.__file__), '.mim', 'tools', 'test.py')
    assert osp.isfile(script)
    env = dict(os.environ, HF_HUB_OFFLINE='1', OMP_NUM_THREADS='1', PYTHONPATH=REPO)
    proc = subprocess.run([sys.executable, script, CONFIG, trained_single_file, '--work-dir', str(tmp_path),
                           '--cfg-options', f'model.backbone.model_id={decoy}', TRANSIENT_WORKERS,
                           f'test_dataloader.dataset.data_root={shapes_root}'],
                          cwd=REPO, env=env, capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    assert 'Stable Diffusion weights from the checkpoint' in proc.stdout + proc.stderr
    [results] = glob.glob(str(tmp_path / 'results.json'))
    record = json.load(open(results))
    assert record['metrics']['mIoU'] == pytest.approx(reference['mIoU'], abs=1e-6)
    assert [m['model_id'] for m in record['models'] if m['field'] == 'model.backbone'] == [trained_single_file]


def test_a_diffusers_folder_as_checkpoint_and_an_mmengine_checkpoint(reference, decoy, shapes_root, tmp_path):
    """A folder checkpoint replaces the model id as a file does; an mmengine checkpoint of the whole model (its
    state dict under the segmentor's names) is left to mmengine, which loads it over the config's weights."""
    folder = run(tmp_path / 'folder', trained_stable_diffusion(), decoy, shapes_root)
    assert folder['mIoU'] == pytest.approx(reference['mIoU'], abs=1e-6)
    cfg = Config.fromfile(CONFIG)
    trained = MODELS.build(dict(cfg.model, backbone=dict(cfg.model.backbone, model_id=trained_stable_diffusion())))
    trained.backbone.load_weights()
    full = str(tmp_path / 'maskdiffusion_shapes.pth')
    torch.save(dict(state_dict=trained.state_dict(), meta={}), full)
    assert not is_diffusion_weights(full)
    restored = run(tmp_path / 'full', full, decoy, shapes_root)
    assert restored['mIoU'] == pytest.approx(reference['mIoU'], abs=1e-6)
    random = run(tmp_path / 'random', None, decoy, shapes_root)  # the config's own weights: another score
    assert abs(random['mIoU'] - reference['mIoU']) > 5


def test_checkpoint_errors_name_the_file_and_what_was_expected(tmp_path, shapes_root, tiny_sd):
    with pytest.raises(FileNotFoundError, match=r"checkpoint '.*sd-v1-5.safetensors' does not exist.*optional"):
        run(tmp_path, str(tmp_path / 'sd-v1-5.safetensors'), tiny_sd, shapes_root)
    # a CLIP-only config has no Stable Diffusion backbone to give SD weights to
    clip_config = osp.join(REPO, 'configs/sclip_shapes.py')
    with pytest.raises(ValueError, match='holds Stable Diffusion weights .* has no Stable Diffusion backbone'):
        load_test_tool().main([clip_config, trained_stable_diffusion(), '--work-dir', str(tmp_path / 'clip'),
                               '--cfg-options', f'test_dataloader.dataset.data_root={shapes_root}'])


def test_is_diffusion_weights_by_content(tmp_path, tiny_sd):
    ldm = str(tmp_path / 'model.ckpt')
    torch.save({'state_dict': {'model.diffusion_model.out.2.weight': torch.zeros(1)}}, ldm)
    renamed = str(tmp_path / 'model.pth')
    os.replace(ldm, renamed)  # the keys decide, not the name
    assert is_diffusion_weights(renamed) and is_diffusion_weights(tiny_sd)
    torch.save({'state_dict': {'backbone.unet.conv_in.weight': torch.zeros(1)}, 'meta': {}}, str(tmp_path / 'a.pth'))
    assert not is_diffusion_weights(str(tmp_path / 'a.pth'))


def test_lazy_backbone_loads_on_first_use_where_it_was_moved(tiny_sd, backbone):
    lazy = StableDiffusionBackbone(model_id=tiny_sd, lazy=True)
    assert not lazy.loaded and next(lazy.parameters(), None) is None
    seen = []
    lazy.after_load(lambda b: seen.append(b.unet.dtype))
    lazy.to(torch.float64)  # dtype moves leave the weights alone; the device is remembered
    assert lazy.device == torch.device('cpu')
    unet = lazy.unet  # the first use loads
    assert lazy.loaded and seen == [torch.float32]
    for key, value in backbone.unet.state_dict().items():
        assert torch.equal(value, unet.state_dict()[key]), key
    missing = StableDiffusionBackbone(model_id=str(os.path.join(tiny_sd, 'absent')), lazy=True)  # builds
    with pytest.raises(ModelNotAvailableError):
        missing.encode_prompts(['a disc'])
    with pytest.raises(AttributeError):  # not a component of SD v1: no load, the usual error
        StableDiffusionBackbone(model_id=tiny_sd, lazy=True).text_encoder_2


def test_configs_whose_only_weights_are_sd_build_without_reading_them():
    """Every config whose pretrained models are Stable Diffusion backbones only builds with a model id that does not
    exist: mmseg's tools/test.py can then take the weights as its CHECKPOINT."""
    checked = 0
    for path in sorted(glob.glob(osp.join(REPO, 'configs', '*.py'))):
        cfg = Config.fromfile(path)
        sources = model_sources(cfg.model)
        if not sources or any('StableDiffusion' not in str(s.get('type')) for s in sources):
            continue
        for source in sources:
            node = cfg
            for part in source['field'].split('.'):
                node = node[part]
            node['model_id'] = '/nonexistent/sd-weights'
        model = MODELS.build(cfg.model)
        lazy = [m for m in model.modules() if isinstance(m, StableDiffusionBackbone)]
        assert lazy and not any(m.loaded for m in lazy), path
        checked += 1
    assert checked >= 30
