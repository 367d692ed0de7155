"""Class vocabularies: names with synonyms, from a dataset's metainfo, a list or a class-name file."""
from __future__ import annotations

import os.path as osp
from typing import Sequence, Union

ClassNames = Union[str, Sequence[Union[str, Sequence[str]]]]


def read_class_name_file(path: str) -> list[list[str]]:
    """One class a line, synonyms comma-separated (``person, person in shirt``).

    Blank lines are an error, not skipped: they would shift every class id after them.
    ``mmseg_trainfree::<path>`` names a file shipped with our configs (``_base_/classnames/...``).
    """
    if path.startswith('mmseg_trainfree::'):
        from ...compat import resolve_config
        path = resolve_config(path.split('::', 1)[1])
    if not osp.isfile(path):
        raise FileNotFoundError(f'class-name file {path!r} does not exist')
    with open(path, encoding='utf-8') as f:
        lines = f.read().splitlines()
    while lines and not lines[-1].strip():  # a final newline is fine
        lines.pop()
    classes = []
    for i, line in enumerate(lines, 1):
        names = [n.strip() for n in line.split(',')]
        if not line.strip() or not all(names):
            raise ValueError(f'{path}:{i}: empty class name (blank line or stray comma); expected one class '
                             'a line, synonyms separated by commas')
        classes.append(names)
    if not classes:
        raise ValueError(f'class-name file {path!r} lists no classes')
    return classes


def parse_class_names(classes: ClassNames) -> list[list[str]]:
    """A file path, or a list whose items are a name, a comma-separated string or a list of synonyms."""
    if isinstance(classes, str):
        return read_class_name_file(classes)
    parsed = []
    for i, item in enumerate(classes):
        names = [n.strip() for n in (item.split(',') if isinstance(item, str) else item)]
        if not names or not all(names):
            raise ValueError(f'class {i} has an empty name: {item!r}')
        parsed.append(names)
    if not parsed:
        raise ValueError('the class vocabulary is empty: give at least one class name')
    return parsed
