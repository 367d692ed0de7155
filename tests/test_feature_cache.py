"""The feature cache: what an ablation does not change is computed once per image and read back by every other
setting, with results identical to runs without it; the folder is bounded, shared by processes, and keyed by
everything an entry depends on."""
import multiprocessing
import os
import os.path as osp

import pytest
import torch
from conftest import REPO, load_test_tool, load_tool

from mmseg_trainfree.datasets import generate_shapes_dataset
from mmseg_trainfree.models.utils.feature_cache import FeatureCache, parse_size
from mmseg_trainfree.registry import MODELS

SD = dict(type='StableDiffusionBackbone', dtype='float32')
SHAPES = ['background', 'square', 'circle', 'triangle']


def entry(value: float, n: int = 256) -> dict:
    return dict(x=torch.full((n,), float(value)))  # 1 KiB of float32


# The cache itself
def test_entries_round_trip_and_keys_separate_what_differs(tmp_path):
    cache = FeatureCache(str(tmp_path))
    key = dict(part='p', image=torch.arange(6.).view(2, 3), layers=['a', 'b'], t=1)
    assert cache.load(key) is None
    cache.store(key, dict(maps=torch.randn(3, 4), ids=torch.arange(5)))
    loaded = cache.load(dict(key))
    assert set(loaded) == {'maps', 'ids'} and loaded['ids'].dtype == torch.int64
    for changed in (dict(key, t=2), dict(key, layers=['a']), dict(key, image=torch.arange(6.).view(3, 2)),
                    dict(key, image=torch.arange(6.).view(2, 3) + 1e-6), dict(key, image=torch.arange(6).view(2, 3))):
        assert cache.load(changed) is None  # value, shape, dtype and every field are in the key
    assert not any('.tmp' in name for _, _, names in os.walk(tmp_path) for name in names)


def test_sizes_and_policies_are_checked():
    assert parse_size('500MB') == 500 * 2 ** 20 and parse_size('2 GB') == 2 * 2 ** 30 and parse_size(1024) == 1024
    for bad in ('lots', '10 XB', 0, '-1GB'):
        with pytest.raises(ValueError, match='max_size'):
            parse_size(bad)
    with pytest.raises(ValueError, match="policy must be one of \\('lru', 'keep'\\)"):
        FeatureCache('/tmp/unused-cache', policy='fifo')


def entry_file_size(tmp_path) -> int:
    probe = FeatureCache(str(tmp_path / 'probe'))
    probe.store(dict(i=0), entry(0.))
    return probe.folder_size()


def test_lru_removes_the_least_recently_used_entries(tmp_path):
    one = entry_file_size(tmp_path)
    cache = FeatureCache(str(tmp_path / 'cache'), max_size=int(4.5 * one))  # room for four entries
    keys = [dict(i=i) for i in range(4)]
    for i, key in enumerate(keys):
        cache.store(key, entry(i))
        path = cache.path(cache.digest(key))
        os.utime(path, (1000 + i, 1000 + i))  # written in this order
    assert cache.load(keys[0]) is not None  # reading makes entry 0 the most recently used
    cache.store(dict(i=4), entry(4))  # over the bound: evict down to 90 %, i.e. one entry
    kept = [cache.load(k) is not None for k in keys]
    assert kept == [True, False, True, True] and cache.evictions == 1  # the oldest unread one went
    assert cache.load(dict(i=4)) is not None and cache.folder_size() <= 0.9 * 4.5 * one
    # a write killed half-way leaves its temporary file: not an entry, removed by eviction once stale
    stale, fresh = (osp.join(cache.root, '00', f'{n}.tmp123.safetensors') for n in ('ab', 'cd'))
    os.makedirs(osp.dirname(stale), exist_ok=True)
    for path in (stale, fresh):
        open(path, 'wb').write(b'partial')
    os.utime(stale, (1000, 1000))
    assert cache.load(dict(i=9)) is None and len(cache.entries()) == 4
    cache.store(dict(i=5), entry(5))
    assert not osp.exists(stale) and osp.exists(fresh)


def test_keep_policy_writes_nothing_once_full(tmp_path):
    cache = FeatureCache(str(tmp_path / 'cache'), max_size=int(2.5 * entry_file_size(tmp_path)), policy='keep')
    for i in range(4):
        cache.store(dict(i=i), entry(i))
    assert [cache.load(dict(i=i)) is not None for i in range(4)] == [True, True, False, False]
    assert cache.skipped == 2 and cache.evictions == 0


def test_a_damaged_entry_is_recomputed(tmp_path):
    cache = FeatureCache(str(tmp_path))
    cache.store(dict(i=0), entry(1.))
    with open(cache.path(cache.digest(dict(i=0))), 'wb') as f:
        f.write(b'not safetensors')
    out = cache.get_or_compute(dict(i=0), lambda: entry(2.))
    assert out['x'][0] == 2 and cache.misses == 1
    assert cache.load(dict(i=0))['x'][0] == 2


def _writer(root: str, seed: int, max_size: int) -> None:
    cache = FeatureCache(root, max_size=max_size)
    for i in range(60):
        j = (i * (seed + 3)) % 30
        cache.get_or_compute(dict(i=j), lambda: entry(float(j)))


def test_several_processes_share_a_bounded_folder(tmp_path):
    one = entry_file_size(tmp_path)
    root = str(tmp_path / 'cache')
    ctx = multiprocessing.get_context('fork')  # spawn would import torch again in each
    procs = [ctx.Process(target=_writer, args=(root, s, 20 * one)) for s in range(3)]
    for p in procs:
        p.start()
    for p in procs:
        p.join(120)
    assert all(p.exitcode == 0 for p in procs)
    cache = FeatureCache(root)
    names = [n for _, _, files in os.walk(root) for n in files]
    assert names and not any('.tmp' in n for n in names)
    for i in range(30):  # every entry left is whole and holds its own value
        got = cache.load(dict(i=i))
        assert got is None or torch.equal(got['x'], entry(float(i))['x'])
    assert cache.folder_size() <= 22 * one  # each process evicts down to 90 % after its own write


# The methods: a warm cache costs no UNet row and changes nothing
def unet_rows(model) -> int:
    return model.backbone.unet_evaluations


def infer(model, images) -> list:
    meta = [dict(ori_shape=tuple(images.shape[-2:]), img_shape=tuple(images.shape[-2:]), image_labels=[0, 1, 2, 3])]
    return [model.inference(x[None], meta) for x in images]


METHODS = {
    # method config, a setting the cached part does not depend on (free), settings it does depend on (keyed)
    'DiffSeg': (dict(type='DiffSeg', image_size=(64, 64), num_points=4),
                dict(num_points=2, kl_threshold=(0.5, 0.5, 0.5)),
                [dict(timestep=200), dict(add_noise=True), dict(prompt='a photo')]),
    'DiffSegmenter': (dict(type='DiffSegmenter', class_names=SHAPES, background_index=0, image_size=(64, 64),
                           max_batch=2, timestep=[50, 100]),
                      dict(fusion_weights=[0.1, 0.2, 0.3, 0.4], background_score=0.3),
                      [dict(class_weight=1.0), dict(seed=1),
                       dict(self_attn_layers=['up_blocks.3.attentions.*.attn1'])]),
    'MaskDiffusion': (dict(type='MaskDiffusion', class_names=SHAPES, image_size=(64, 64)),
                      dict(cross_attn_norm='max'), [dict(cross_attn_map='softmax'), dict(seed=1)]),
    'UnsupervisedMaskDiffusion': (dict(type='UnsupervisedMaskDiffusion', image_size=(64, 64), num_clusters=3,
                                       cluster_size=(16, 16), clustering='kmeans'),
                                  dict(num_clusters=5, refine=False), [dict(seed=1), dict(timestep=200)]),
    'EmerDiff': (dict(type='EmerDiff', num_masks=3, pixels=64 * 64, max_batch=7, num_inference_steps=10,
                      modulation_timestep=201, embedding_timestep=101),
                 dict(gaussian_sigma=1.0),
                 [dict(modulation_strength=5.0), dict(modulation_position='before_proj')]),
}


def build(model_id: str, spec: dict, **kw):
    return MODELS.build(dict(spec, backbone=dict(SD, model_id=model_id), **kw))


@pytest.mark.parametrize('method', sorted(METHODS))
def test_a_warm_cache_gives_identical_results_without_unet_rows(method, tiny_sd, tmp_path):
    spec, free, keyed = METHODS[method]
    images = torch.rand(2, 3, 64, 64, generator=torch.Generator().manual_seed(0)) * 2 - 1
    cache = FeatureCache(str(tmp_path / 'cache'))

    def run(use_cache: bool, **kw):
        model = build(tiny_sd, spec, **kw)
        if use_cache:
            model.set_feature_cache(cache)
        return infer(model, images), unet_rows(model)

    plain, rows = run(False)
    cold, cold_rows = run(True)
    warm, warm_rows = run(True)
    assert rows > 0 and cold_rows == rows and warm_rows == 0
    assert all(torch.equal(a, b) for a, b in zip(plain, cold)) and all(torch.equal(a, b) for a, b in zip(plain, warm))
    # a setting outside the key: no UNet row, and exactly the result of a run without the cache
    (free_plain, _), (free_warm, free_rows) = run(False, **free), run(True, **free)
    assert free_rows == 0 and all(torch.equal(a, b) for a, b in zip(free_plain, free_warm))
    assert not all(torch.equal(a, b) for a, b in zip(free_plain, plain))  # the setting does change the output
    # a setting inside the key is computed again: a warm cache gives exactly the cache-free output of that
    # setting, which differs from the base run's (a key that leaves the setting out serves the stale entry)
    for setting in keyed:
        (keyed_plain, _), (keyed_warm, keyed_rows) = run(False, **setting), run(True, **setting)
        assert keyed_rows > 0 and all(torch.equal(a, b) for a, b in zip(keyed_plain, keyed_warm)), setting
        assert not all(torch.equal(a, b) for a, b in zip(keyed_plain, plain)), setting


def test_other_weights_share_no_entry(tiny_sd, tmp_path):
    from mmseg_trainfree.testing import trained_stable_diffusion
    spec = METHODS['DiffSeg'][0]
    cache = FeatureCache(str(tmp_path))
    images = torch.rand(1, 3, 64, 64) * 2 - 1
    for model_id in (tiny_sd, trained_stable_diffusion()):
        model = build(model_id, spec)
        model.set_feature_cache(cache)
        infer(model, images)
        assert unet_rows(model) == 1


def test_diffsegmenter_entries_are_shared_between_candidate_sets(tiny_sd, tmp_path):
    """Entries are per prompt: an image whose candidates are a subset of an earlier run's costs no UNet row, and
    only the new prompts of a superset are computed."""
    spec = METHODS['DiffSegmenter'][0]
    cache = FeatureCache(str(tmp_path))
    x = torch.rand(1, 3, 64, 64) * 2 - 1
    rows = []
    for labels in ([0, 1, 2], [0, 1], [0, 1, 2, 3]):
        model = build(tiny_sd, spec, use_image_labels=True)
        model.set_feature_cache(cache)
        model.inference(x, [dict(image_labels=labels)])
        rows.append(unet_rows(model))
    assert rows == [4, 0, 2]  # 2 timesteps x (square, circle), then none, then triangle at both t


KEY_SCRIPT = """
import torch, mmseg_trainfree
from mmseg_trainfree.models.utils.feature_cache import FeatureCache
from mmseg_trainfree.registry import MODELS
mmseg_trainfree.register_all_modules()
model = MODELS.build(dict(type='DiffSeg', backbone=dict(type='StableDiffusionBackbone', model_id={model!r}),
                          image_size=(64, 64)))
print(FeatureCache.digest(model.cache_key('self_attention', input=torch.zeros(3, 8, 8))))
"""


def test_keys_are_the_same_in_every_process(tiny_sd):
    """A later run is another process: its keys must not depend on the hash seed (set orders) or addresses."""
    import subprocess
    import sys
    digests = []
    for seed in ('1', '2'):
        env = dict(os.environ, PYTHONHASHSEED=seed, OMP_NUM_THREADS='1')
        out = subprocess.run([sys.executable, '-c', KEY_SCRIPT.format(model=tiny_sd)], env=env, cwd=REPO,
                             capture_output=True, text=True, check=True).stdout
        digests.append(out.split()[-1])
    assert digests[0] == digests[1]


# Through tools/test.py and tools/benchmark.py
def test_test_tool_cache_dir_reuses_the_passes_of_an_earlier_config(tmp_path):
    from mmseg_trainfree.testing import trained_stable_diffusion
    root = generate_shapes_dataset(str(tmp_path / 'data'), num_images=3, size=(64, 64), seed=1000, split='val')
    config = osp.join(REPO, 'configs/diffseg_shapes.py')
    options = ['--cfg-options', f'model.backbone.model_id={trained_stable_diffusion()}',
               f'test_dataloader.dataset.data_root={root}']
    plain = load_test_tool().main([config, '--work-dir', str(tmp_path / 'plain'), *options])
    cache = str(tmp_path / 'cache')
    cold = load_test_tool().main([config, '--work-dir', str(tmp_path / 'cold'), '--cache-dir', cache, *options])
    assert cold == plain
    written = sorted(n for _, _, files in os.walk(cache) for n in files)
    assert len(written) == 3
    ablation = options + ['model.num_points=4']
    expected = load_test_tool().main([config, '--work-dir', str(tmp_path / 'abl'), *ablation])
    warm = load_test_tool().main([config, '--work-dir', str(tmp_path / 'warm'), '--cache-dir', cache, *ablation])
    assert warm == expected and warm != plain
    assert sorted(n for _, _, files in os.walk(cache) for n in files) == written
    with pytest.raises(ValueError, match='feature_cache: unknown keys'):
        load_test_tool().main([config, *options, 'feature_cache.root=x', 'feature_cache.size=1GB'])
    with pytest.raises(ValueError, match='max_size'):
        load_test_tool().main([config, '--cache-dir', cache, '--cache-size', 'huge', *options])


def test_benchmark_sweep_counts_rows_with_and_without_the_cache(tiny_sd, tmp_path, monkeypatch):
    benchmark = load_tool('benchmark')
    monkeypatch.setenv('MMSEG_TRAINFREE_CACHE', osp.dirname(tiny_sd))  # the tiny random SD of the other tests
    args = [osp.join(REPO, 'configs/diffseg_shapes.py'), '--num-images', '2', '--warmup', '0',
            '--variant', 'model.num_points=4', '--variant', 'model.num_points=4', 'model.kl_threshold=[0.5,0.5,0.5]',
            '--variant', 'model.num_points=4', 'model.timestep=100']
    without = benchmark.main(args)
    with_cache = benchmark.main(args + ['--cache-dir', str(tmp_path)])
    assert [r['unet_evaluations_per_image'] for r in without] == [1, 1, 1]
    assert [r['unet_evaluations_per_image'] for r in with_cache] == [1, 0, 1]
    assert [r['cache_hits'] for r in with_cache] == [0, 2, 0]
