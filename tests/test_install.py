"""Installing beside an existing mmseg: ranges, not pins, in install_requires; every imported package declared;
no mmcv required, but a missing one named at import."""
import ast
import glob
import os.path as osp
import re
import subprocess
import sys

from conftest import REPO

# import name -> distribution in requirements.txt; None: deliberately not a runtime requirement
DISTRIBUTIONS = {'torch': 'torch', 'torchvision': 'torchvision', 'mmengine': 'mmengine', 'mmseg': 'mmsegmentation',
                 'diffusers': 'diffusers', 'transformers': 'transformers', 'open_clip': 'open_clip_torch',
                 'numpy': 'numpy', 'scipy': 'scipy', 'PIL': 'pillow', 'prettytable': 'prettytable', 'tqdm': 'tqdm',
                 'safetensors': 'safetensors',  # the feature cache's entries, the single-file writer
                 'timm': 'timm',  # ProxyCLIP's vision foundation model
                 'mmcv': None,  # checked at import (full or lite: never replace a full mmcv)
                 'cv2': None,  # comes with mmcv
                 'pydensecrf': None,  # the optional 'crf' extra
                 'gradio': None}  # the optional 'app' extra (the web app)


def requirements() -> dict[str, str]:
    lines = [line.split('#')[0].strip() for line in open(osp.join(REPO, 'requirements.txt'))]
    return {re.split(r'[<>=!~ ]', line)[0].lower(): line for line in lines if line}


def imported_packages() -> set[str]:
    names = set()
    for path in glob.glob(osp.join(REPO, 'mmseg_trainfree', '**', '*.py'), recursive=True):
        for node in ast.walk(ast.parse(open(path, encoding='utf-8').read())):
            if isinstance(node, ast.Import):
                names.update(a.name.split('.')[0] for a in node.names)
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                names.add(node.module.split('.')[0])
    return {n for n in names if n not in sys.stdlib_module_names and n != 'mmseg_trainfree'}


def test_runtime_requirements_are_ranges_and_cover_every_import():
    reqs = requirements()
    assert not [line for line in reqs.values() if '==' in line], 'install_requires must not pin exact versions'
    assert not [name for name in reqs if name.startswith('mmcv')], 'mmcv is checked at import, not required'
    imported = imported_packages()
    assert imported <= set(DISTRIBUTIONS), f'undeclared imports: {sorted(imported - set(DISTRIBUTIONS))}'
    declared = {DISTRIBUTIONS[n] for n in imported if DISTRIBUTIONS[n]}
    assert declared == set(reqs), f'declared but never imported: {sorted(set(reqs) - declared)}'
    lock = open(osp.join(REPO, 'requirements-lock.txt')).read()
    for name in list(reqs) + ['mmcv-lite', 'setuptools']:  # the tested versions are all locked
        assert re.search(rf'^{re.escape(name)}==', lock, re.M | re.I), name


def test_missing_mmcv_is_named_at_import():
    blocker = ('import sys\n'
               'class Block:\n'
               '    def find_spec(self, name, path=None, target=None):\n'
               '        if name == "mmcv" or name.startswith("mmcv."):\n'
               '            raise ImportError("No module named " + repr(name))\n'
               'sys.meta_path.insert(0, Block())\n'
               'import mmseg_trainfree\n')
    proc = subprocess.run([sys.executable, '-c', blocker], capture_output=True, text=True, cwd=REPO, timeout=120)
    assert proc.returncode != 0
    assert 'mmseg_trainfree needs mmcv >= 2.0, < 2.2' in proc.stderr and 'mmcv-lite' in proc.stderr
