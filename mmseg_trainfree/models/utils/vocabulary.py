"""Class vocabularies: names with synonyms, from a dataset's metainfo, a list or a class-name file."""
from __future__ import annotations

import os.path as osp
from typing import Sequence, Union

ClassNames = Union[str, Sequence[Union[str, Sequence[str]]]]


def _resolve(path: str, what: str) -> str:
    """``mmseg_trainfree::<path>`` names a file shipped with our configs (``_base_/classnames/...``)."""
    if path.startswith('mmseg_trainfree::'):
        from ...compat import resolve_config
        path = resolve_config(path.split('::', 1)[1])
    if not osp.isfile(path):
        raise FileNotFoundError(f'{what} {path!r} does not exist')
    return path


def read_class_name_file(path: str) -> list[list[str]]:
    """One class a line, synonyms comma-separated (``person, person in shirt``).

    Blank lines are an error, not skipped: they would shift every class id after them.
    """
    path = _resolve(path, 'class-name file')
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


def read_synonym_file(path: str) -> list[tuple[str, list[str], int]]:
    """Lines ``name: word, word, ...`` (``#`` comments and blank lines are skipped): (name, words, line number)."""
    path = _resolve(path, 'synonym file')
    entries = []
    with open(path, encoding='utf-8') as f:
        for i, line in enumerate(f, 1):
            line = line.split('#', 1)[0].strip()
            if not line:
                continue
            key, sep, rest = line.partition(':')
            extra = [w.strip() for w in rest.split(',')]
            if not sep or not key.strip() or not all(extra):
                raise ValueError(f"{path}:{i}: expected 'class name: synonym, synonym, ...', got {line!r}")
            entries.append((key.strip(), extra, i))
    return entries


def attach_synonyms(class_names: Sequence[Sequence[str]], synonyms: Union[str, dict, None]) -> list[list[str]]:
    """Each class's names followed by the extra words a synonym file (or ``{name: [words]}``) gives it.

    A line belongs to the class one of whose names is the line's name; failing that, to the one class one of
    whose names is among the line's words (so ``aeroplane: plane, ...`` serves a vocabulary that says
    ``plane``). A line that fits no class, or several, is an error naming it."""
    out = [list(names) for names in class_names]
    if synonyms is None:
        return out
    if isinstance(synonyms, str):
        source, entries = synonyms, read_synonym_file(synonyms)
    else:
        source, entries = 'synonyms', [(k, [v] if isinstance(v, str) else list(v), 0) for k, v in synonyms.items()]
    owner = {n.lower(): c for c, names in enumerate(class_names) for n in names}
    for key, extra, line in entries:
        where = f'{source}:{line}' if line else f'{source}[{key!r}]'
        if key.lower() in owner:
            c = owner[key.lower()]
        else:
            hits = {owner[w.lower()] for w in extra if w.lower() in owner}
            if len(hits) != 1:
                raise ValueError(f'{where}: {key!r} names {"no class" if not hits else "several classes"} of the '
                                 f'vocabulary ({", ".join(n[0] for n in class_names[:6])}, ...)')
            c = hits.pop()
        out[c] += [w for w in extra if w.lower() not in {n.lower() for n in out[c]}]
    return out
