"""mmseg_trainfree: training-free semantic segmentation as an MMSegmentation 1.x plugin."""
import os
import os.path as osp
import shutil
import sys

from setuptools import find_packages, setup

HERE = osp.dirname(osp.abspath(__file__))


def add_mim_extension():
    """Ship configs as package data in ``mmseg_trainfree/.mim/configs`` (as mmseg does for mim).

    Editable installs resolve configs from the source tree instead (mmseg_trainfree.compat).
    """
    if any(cmd in sys.argv for cmd in ('develop', 'editable_wheel')):
        return
    target = osp.join(HERE, 'mmseg_trainfree', '.mim', 'configs')
    if osp.islink(target) or osp.isfile(target):
        os.remove(target)
    elif osp.isdir(target):
        shutil.rmtree(target)
    shutil.copytree(osp.join(HERE, 'configs'), target)


def read_requirements(path='requirements.txt'):
    with open(osp.join(HERE, path)) as f:
        return [line.split('#')[0].strip() for line in f if line.split('#')[0].strip() and not line.startswith('-')]


def read_version():
    scope = {}
    with open(osp.join(HERE, 'mmseg_trainfree', 'version.py')) as f:
        exec(f.read(), scope)
    return scope['__version__']


if __name__ == '__main__':
    add_mim_extension()
    setup(
        name='mmseg_trainfree',
        version=read_version(),
        description='Training-free semantic segmentation from frozen diffusion and vision-language models, '
                    'as an MMSegmentation plugin',
        long_description=open(osp.join(HERE, 'README.md'), encoding='utf-8').read(),
        long_description_content_type='text/markdown',
        packages=find_packages(include=['mmseg_trainfree', 'mmseg_trainfree.*']),
        include_package_data=True,
        package_data={'mmseg_trainfree': ['.mim/configs/**/*.py', '.mim/configs/**/*.txt']},
        python_requires='>=3.10',
        install_requires=read_requirements(),
        extras_require={'crf': ['pydensecrf2'],  # DenseCRF post-processing (tools/make_pseudo_labels.py --crf)
                        'app': ['gradio>=5']},  # the web app (demo/app.py, make app)
        license='Apache-2.0',
        zip_safe=False,
    )
