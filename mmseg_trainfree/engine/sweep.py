"""One config over several values of one field (tools/sweep.py): the values as typed on the command line,
and the table of the metrics each value scored."""
from __future__ import annotations

import ast
from typing import Any, Sequence


def parse_value(text: str) -> Any:
    """A command-line value as a Python literal (``3``, ``0.5``, ``[0.5,0.5,0.5]``, ``False``), else the string."""
    try:
        return ast.literal_eval(text)
    except (ValueError, SyntaxError):
        return text


def metrics_table(field: str, rows: Sequence[tuple[Any, dict]], key: str) -> str:
    """A markdown table, one row per value, one column per scalar metric; ``key``'s best value is marked."""
    if not rows:
        raise ValueError('no values were run')
    names = [k for k, v in rows[0][1].items() if isinstance(v, (int, float))]
    if key not in names:
        raise KeyError(f'metric {key!r} is not among the metrics {names}')
    best = max(range(len(rows)), key=lambda i: rows[i][1][key])
    lines = [f"| {field} | {' | '.join(names)} |", '|---' * (len(names) + 1) + '|']
    for i, (value, metrics) in enumerate(rows):
        mark = ' (best)' if i == best else ''
        lines.append(f"| {value!r}{mark} | {' | '.join(f'{float(metrics[n]):.2f}' for n in names)} |")
    return '\n'.join(lines)
