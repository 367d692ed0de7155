"""Tabulate finished runs: one markdown row per work dir, beside the paper's number for its config.

    python tools/collect_results.py work_dirs/*            # each WORK_DIR/results.json written by tools/test.py
    python tools/collect_results.py work_dirs/* --out docs_results.md

Columns: config, dataset (images), metric protocol, mIoU, the paper's mIoU and its source, the difference,
the models (id@revision) and the commit. Work dirs without a results.json are listed as unfinished.
"""
import argparse
import json
import os.path as osp
import sys

sys.path.insert(0, osp.dirname(osp.dirname(osp.abspath(__file__))))  # run from a source checkout too

from mmseg_trainfree.evaluation.paper_results import paper_result  # noqa: E402


def load(work_dir: str):
    path = osp.join(work_dir, 'results.json')
    if not osp.isfile(path):
        return None
    with open(path, encoding='utf-8') as f:
        return json.load(f)


def protocol(evaluator) -> str:
    evaluator = evaluator[0] if isinstance(evaluator, list) else (evaluator or {})
    kind = str(evaluator.get('type', '?')).split('.')[-1]
    detail = evaluator.get('mode') or evaluator.get('protocol')
    return f'{kind} ({detail})' if detail else kind


def row(work_dir: str, record) -> list[str]:
    if record is None:
        return [f'`{osp.basename(osp.normpath(work_dir))}`', '', '', 'unfinished (no results.json)', '', '', '', '']
    name = record.get('config_name') or '?'
    miou = record['metrics'].get('mIoU')
    paper = paper_result(name)
    models = ', '.join(f"{m.get('model_id') or m.get('model_name')}"
                       + (f"@{m['revision']}" if m.get('revision') else '') for m in record.get('models', []))
    dataset = record.get('dataset', {})
    return [f'`{name}`', f"{dataset.get('type', '?')} ({dataset.get('num_images', '?')})",
            protocol(record.get('evaluator')), '' if miou is None else f'{miou:.2f}',
            '' if paper is None else f'{paper.miou:g} ({paper.source})',
            '' if paper is None or miou is None else f'{miou - paper.miou:+.2f}', models,
            (record.get('git_commit') or '')[:12]]


def table(work_dirs: list[str]) -> str:
    header = ['config', 'dataset (images)', 'protocol', 'mIoU', 'paper', 'difference', 'models', 'commit']
    lines = ['| ' + ' | '.join(header) + ' |', '|' + '---|' * len(header)]
    lines += ['| ' + ' | '.join(row(d, load(d))) + ' |' for d in work_dirs]
    return '\n'.join(lines)


def main(argv=None) -> str:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument('work_dirs', nargs='+', help='work dirs of tools/test.py runs')
    parser.add_argument('--out', help='also write the table to this markdown file')
    args = parser.parse_args(argv)
    missing = [d for d in args.work_dirs if not osp.isdir(d)]
    if missing:
        parser.error(f'not a directory: {missing[0]}')
    text = table(args.work_dirs)
    print(text)
    if args.out:
        with open(args.out, 'w', encoding='utf-8') as f:
            f.write(text + '\n')
    return text


if __name__ == '__main__':
    main()
