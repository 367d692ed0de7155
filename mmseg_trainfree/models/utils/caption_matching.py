"""Which class names a caption mentions: word matching with a small rule-based noun lemmatiser.

No NLTK / spaCy data is downloaded at run time: plural nouns are reduced by English suffix rules and a table
of irregular plurals. A caption word and a class word match when their candidate lemma sets intersect, so
"buses" ~ "bus", "people" ~ "person", "leaves" ~ "leaf", "glasses" ~ "glass"; a multi-word class name matches
a run of consecutive caption words ("potted plants" ~ "potted plant").
"""
from __future__ import annotations

import re
from typing import Sequence

IRREGULAR_PLURALS = {
    'people': 'person', 'persons': 'person', 'men': 'man', 'women': 'woman', 'children': 'child', 'mice': 'mouse',
    'geese': 'goose', 'teeth': 'tooth', 'feet': 'foot', 'oxen': 'ox', 'cacti': 'cactus', 'fungi': 'fungus',
    'dice': 'die', 'knives': 'knife', 'wives': 'wife', 'lives': 'life', 'leaves': 'leaf', 'shelves': 'shelf',
    'loaves': 'loaf', 'calves': 'calf', 'halves': 'half', 'wolves': 'wolf', 'scarves': 'scarf', 'potatoes': 'potato',
    'tomatoes': 'tomato', 'skis': 'ski', 'buses': 'bus', 'busses': 'bus',
}
_WORD = re.compile(r"[a-z0-9]+")


def words(text: str) -> list[str]:
    """Lower-case alphanumeric words (punctuation, hyphens and apostrophes split words)."""
    return _WORD.findall(text.lower())


def noun_lemmas(word: str) -> frozenset[str]:
    """The word and its possible singular forms (over-generating is harmless: both sides are expanded)."""
    w = word.lower()
    out = {w}
    if w in IRREGULAR_PLURALS:
        out.add(IRREGULAR_PLURALS[w])
    if len(w) > 3 and w.endswith('ies'):
        out.add(w[:-3] + 'y')  # berries -> berry
    if len(w) > 3 and w.endswith('ves'):
        out.update((w[:-3] + 'f', w[:-3] + 'fe'))  # shelves -> shelf, knives -> knife
    if len(w) > 3 and w.endswith('es'):
        out.add(w[:-2])  # boxes, benches, glasses
    if len(w) > 2 and w.endswith('s') and not w.endswith('ss'):
        out.add(w[:-1])  # cats
    return frozenset(out)


def mentions(caption_words: Sequence[str], name: str) -> bool:
    """Whether the class ``name`` (one or more words) occurs as consecutive ``caption_words``."""
    target = [noun_lemmas(w) for w in words(name)]
    if not target:
        return False
    lemmas = [noun_lemmas(w) for w in caption_words]
    n = len(target)
    return any(all(lemmas[i + j] & target[j] for j in range(n)) for i in range(len(lemmas) - n + 1))


def classes_in_caption(caption: str, class_names: Sequence[Sequence[str]],
                       candidates: Sequence[int] | None = None) -> list[int]:
    """The classes (of ``candidates``, default all) one of whose names or synonyms the caption mentions."""
    tokens = words(caption)
    ids = range(len(class_names)) if candidates is None else candidates
    return [c for c in ids if any(mentions(tokens, name) for name in class_names[c])]
