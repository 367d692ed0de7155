"""The results file of a run (WORK_DIR/results.json), tools/collect_results.py, and the paper-number table."""
import glob
import json
import os.path as osp

import pytest
from conftest import REPO, load_test_tool, load_tool

from mmseg_trainfree.datasets import generate_shapes_dataset
from mmseg_trainfree.evaluation.paper_results import PAPER_RESULTS
from mmseg_trainfree.testing import trained_stable_diffusion


def test_results_file_and_collected_table(tmp_path, capsys):
    root = generate_shapes_dataset(str(tmp_path / 'data'), num_images=2, size=(128, 128), seed=1000, split='val')
    work_dir = tmp_path / 'maskdiffusion_shapes'
    metrics = load_test_tool().main([osp.join(REPO, 'configs/maskdiffusion_shapes.py'), '--work-dir', str(work_dir),
                                     '--cfg-options', f'model.backbone.model_id={trained_stable_diffusion()}',
                                     f'test_dataloader.dataset.data_root={root}'])
    record = json.loads((work_dir / 'results.json').read_text())
    assert record['config_name'] == 'maskdiffusion_shapes' and record['metrics']['mIoU'] == metrics['mIoU']
    ious = [v for v in record['per_class']['IoU'].values() if v is not None]
    assert list(record['per_class']['IoU']) == record['dataset']['classes'] and len(record['dataset']['classes']) == 4
    assert sum(ious) / len(ious) == pytest.approx(metrics['mIoU'], abs=0.02)  # per-class values are the mIoU's
    assert {'field': 'model.backbone', 'model_id': trained_stable_diffusion()}.items() <= record['models'][0].items()
    assert record['dataset']['num_images'] == 2 and record['mmseg_trainfree']
    (tmp_path / 'unfinished').mkdir()
    text = load_tool('collect_results').main([str(work_dir), str(tmp_path / 'unfinished')])
    lines = text.splitlines()
    assert lines[2].startswith('| `maskdiffusion_shapes` | ShapesDataset (2) | IoUMetric |')
    assert f"{metrics['mIoU']:.2f}" in lines[2] and 'unfinished' in lines[3] and text in capsys.readouterr().out
    # a run of a config with a paper number gets the number, its source and the difference
    record.update(config_name='diffsegmenter_voc', metrics=dict(mIoU=58.1))
    row = load_tool('collect_results').row(str(work_dir), record)
    assert row[4] == '60.1 (DiffSegmenter, Table 1)' and row[5] == '-2.00'


def test_paper_numbers_match_the_method_pages():
    """Every config with a paper number exists, and its docs table row shows the same number."""
    docs = [line for path in glob.glob(osp.join(REPO, 'docs/methods/*.md')) for line in open(path, encoding='utf-8')]
    grid = {'GEM (': 'gem', 'AggGEM': 'agggem', 'DiffSegClust': 'diffsegclust', 'SpecClust': 'specclust',
            'AggSD': 'aggsd'}  # the report's Table 4 is a method x benchmark grid in langseg.md
    benchmarks = ('voc', 'pascal_context59', 'cocostuff27', 'cityscapes27')
    checked = 0
    for line in open(osp.join(REPO, 'docs/methods/langseg.md'), encoding='utf-8'):
        label = next((k for k in grid if line.startswith(f'| {k}')), None)
        if label:
            numbers = [float(x) for x in line.strip().strip('|').split('|')[1:]]
            assert numbers == [PAPER_RESULTS[f'{grid[label]}_{b}'].miou for b in benchmarks], line
            checked += 4
    assert checked == 20
    for name, result in PAPER_RESULTS.items():
        assert osp.isfile(osp.join(REPO, 'configs', f'{name}.py')), name
        if name.split('_')[0] in grid.values():
            continue
        rows = [line for line in docs if line.startswith('|') and f'`{name}.py`' in line]
        assert any(f'{result.miou:g}' in line for line in rows), (name, result.miou)
