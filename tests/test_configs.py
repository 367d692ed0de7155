"""Every config parses and builds; inheritance across packages; config-level errors."""
import glob
import os
import os.path as osp

import pytest
from conftest import REPO
from mmengine.config import Config

from mmseg_trainfree.compat import resolve_config
from mmseg_trainfree.registry import DATASETS, MODELS
from mmseg_trainfree.testing import random_stable_diffusion_xl, random_timm_vit

CONFIGS = sorted(glob.glob(osp.join(REPO, 'configs', '*.py')))
EXPECTED_CLASSES = {'maskdiffusion_voc.py': 20, 'maskdiffusion_cityscapes.py': 19, 'maskdiffusion_potsdam.py': 6,
                    'maskdiffusion_cocostuff171.py': 171, 'maskdiffusion_shapes_demo.py': 4,
                    'maskdiffusion_voc_official.py': 20, 'maskdiffusion_cityscapes_official.py': 19,
                    'maskdiffusion_potsdam_official.py': 6, 'maskdiffusion_cocostuff171_official.py': 171,
                    'maskdiffusion_unsup_cityscapes19.py': 19, 'maskdiffusion_unsup_cityscapes27.py': 27,
                    'maskdiffusion_unsup_cocostuff27.py': 27, 'maskdiffusion_unsup_shapes_demo.py': 4,
                    'kmeans_sd_unsup_cityscapes19.py': 19, 'kmeans_sd_unsup_cityscapes27.py': 27,
                    'kmeans_sd_unsup_cocostuff27.py': 27, 'emerdiff_ade20k.py': 150,
                    'emerdiff_pascal_context59.py': 59, 'emerdiff_pascal_context459.py': 459,
                    'emerdiff_cocostuff171.py': 171, 'emerdiff_cocostuff27.py': 27, 'emerdiff_cityscapes.py': 19,
                    'emerdiff_cocostuff27_traditional.py': 27, 'emerdiff_cocostuff27_traditional_crop320.py': 27,
                    'sd_naive_upsample_ade20k.py': 150,
                    **{f'{m}_{d}.py': n for m in ('maskclip', 'maskclip_emerdiff')
                       for d, n in (('ade20k', 150), ('pascal_context59', 59), ('pascal_context459', 459),
                                    ('cocostuff171', 171), ('cityscapes', 19))},
                    'diffsegmenter_voc.py': 21, 'diffsegmenter_pascal_context60.py': 60,
                    'diffsegmenter_pascal_context59_extra.py': 59, 'diffsegmenter_coco_object.py': 81,
                    'diffsegmenter_coco_object2017_extra.py': 81, 'diffsegmenter_voc_no_filter.py': 21,
                    'diffsegmenter_voc_official_names.py': 21,
                    'diffsegmenter_voc_wsss.py': 21, 'diffsegmenter_voc_wsss_train.py': 21,
                    **{f'diffsegmenter_voc_wsss_train_{a}.py': 21 for a in ('no_self', 'avg_cross', 'avg_cross_self',
                                                                            'no_blip_no_pp', 'no_pp', 'no_blip',
                                                                            'single_t')},
                    **{f'{m}_{d}.py': n for m in ('gem', 'agggem', 'diffsegclust', 'specclust', 'aggsd')
                       for d, n in (('voc', 21), ('pascal_context59', 59), ('cocostuff27', 27), ('cityscapes27', 27))},
                    'diffseg_cocostuff27.py': 27, 'diffseg_cityscapes27.py': 27,
                    **{f'{m}_shapes.py': 4 for m in ('maskdiffusion', 'maskdiffusion_unsup', 'kmeans_sd_unsup',
                                                      'emerdiff', 'diffsegmenter', 'aggsd', 'diffseg', 'maskclip',
                                                      'gem', 'agggem', 'diffsegclust', 'specclust',
                                                      'maskclip_emerdiff')},
                    'diffsegmenter_shapes_blip.py': 4,
                    **{f'{m}_{d}.py': n for m in ('sclip', 'clearclip', 'naclip', 'maskclip_ovss', 'gem_ovss',
                                                   'proxyclip')
                       for d, n in (('voc21', 21), ('pascal_context60', 60), ('coco_object', 81), ('voc20', 20),
                                    ('cityscapes', 19), ('pascal_context59', 59), ('ade20k', 150),
                                    ('cocostuff171', 171))},
                    **{f'{m}_shapes.py': 4 for m in ('sclip', 'clearclip', 'naclip', 'proxyclip', 'diffcut')},
                    'diffcut_voc.py': 21, 'diffcut_pascal_context.py': 60, 'diffcut_coco_object.py': 81,
                    'diffcut_cocostuff27.py': 27, 'diffcut_cityscapes27.py': 27, 'diffcut_ade20k.py': 150,
                    'diffcut_sd14_cocostuff27.py': 27, 'diffcut_sd21_cocostuff27.py': 27}


def test_every_config_is_listed():
    assert sorted(osp.basename(c) for c in CONFIGS) == sorted(EXPECTED_CLASSES)


@pytest.mark.parametrize('path', CONFIGS, ids=osp.basename)
def test_config_builds_with_a_local_model(path, tiny_sd, tiny_clip, tiny_blip):
    cfg = Config.fromfile(path)
    assert cfg.default_scope == 'mmseg_trainfree'
    assert cfg.get('train_dataloader') is None
    if 'backbone' in cfg.model:
        xl = cfg.model.backbone.type == 'StableDiffusionXLBackbone'
        cfg.model.backbone.model_id = random_stable_diffusion_xl() if xl else tiny_sd
    if 'clip' in cfg.model:
        cfg.model.clip.update(tiny_clip)
        if cfg.model.clip.type == 'GEMBackbone':  # a fixed input size instead of a short side
            cfg.model.clip.update(short_side=None, image_size=(32, 32), gem_depth=2)
            cfg.model.clip.pop('short_side')
    if cfg.model.get('vfm'):  # ProxyCLIP's vision foundation model
        cfg.model.vfm.update(random_timm_vit(), pretrained=True)
    if cfg.model.get('captioner'):
        cfg.model.captioner.model_id = tiny_blip
    if cfg.model.get('category_filter'):
        cfg.model.category_filter.clip.update(tiny_clip)
    model = MODELS.build(cfg.model)
    n = EXPECTED_CLASSES[osp.basename(path)]
    if model.vocabulary_from_config:
        assert model.num_output_classes == n
    # the dataset's class count matches the prompt vocabulary (what VocabularyHook checks at run time)
    ds_cfg = cfg.test_dataloader.dataset
    ds_cfg = ds_cfg.datasets[0] if ds_cfg.type == 'ConcatDataset' else ds_cfg
    dataset_cls = DATASETS.get(ds_cfg.type)
    classes = ds_cfg.get('metainfo', {}).get('classes') or dataset_cls.METAINFO['classes']
    assert len(classes) == n


def test_package_prefix_inheritance(tmp_path):
    user_cfg = tmp_path / 'my_voc.py'
    user_cfg.write_text("_base_ = ['mmseg_trainfree::maskdiffusion_voc.py']\n"
                        "model = dict(timestep=10)\n")
    cwd = os.getcwd()
    os.chdir(tmp_path)  # nothing relative to the repository
    try:
        cfg = Config.fromfile(str(user_cfg))
    finally:
        os.chdir(cwd)
    assert cfg.model.type == 'MaskDiffusion' and cfg.model.timestep == 10
    assert cfg.model.backbone.model_id == 'CompVis/stable-diffusion-v1-4'
    assert cfg.test_dataloader.dataset.type == 'PascalVOC20Dataset'
    with pytest.raises(FileNotFoundError, match='nope.py'):
        resolve_config('nope.py')


def test_unknown_segmentor_type_names_it(tiny_sd):
    with pytest.raises(KeyError, match='MaskDifusion'):
        MODELS.build(dict(type='MaskDifusion', backbone=dict(type='StableDiffusionBackbone', model_id=tiny_sd)))


@pytest.mark.parametrize('config,fixture,root', [
    ('diffsegmenter_voc.py', 'pascal_voc12', 'VOCdevkit/VOC2012'),
    ('diffsegmenter_voc_wsss.py', 'pascal_voc12_trainaug', 'VOCdevkit/VOC2012'),
    ('maskdiffusion_cocostuff171.py', 'coco_stuff164k', 'coco_stuff164k')])
def test_methods_that_resize_once_get_the_original_image(config, fixture, root, tmp_path):
    """DiffSegmenter resizes the original image once to 512 x 512 (official code), and MaskDiffusion tiles only
    images larger than 512 (Sec. 4.1): their configs put no mmseg Resize before the model (issue 23, item 14)."""
    import cv2

    from mmseg_trainfree.testing import write_benchmark_fixture
    write_benchmark_fixture(fixture, str(tmp_path))
    ds_cfg = Config.fromfile(osp.join(REPO, 'configs', config)).test_dataloader.dataset
    for sub in ds_cfg.datasets if ds_cfg.type == 'ConcatDataset' else [ds_cfg]:
        dataset = DATASETS.build(dict(sub, data_root=str(tmp_path / root)))
        for i in range(len(dataset)):
            item = dataset[i]
            original = cv2.imread(item['data_samples'].img_path).shape[:2]
            assert tuple(item['inputs'].shape[1:]) == original == item['data_samples'].ori_shape
