"""Which classes a caption mentions: noun phrases from a rule-based chunker, matched to class names by lemmas.

No NLTK / spaCy data is downloaded at run time. A caption is cut into **noun phrases**: maximal runs of words
that are not function words (articles, prepositions, pronouns, numbers) or verbs (a closed list of caption
verbs, "-ing" participles that are not known nouns, "-ed" participles). The last word of a phrase is its head,
and the words before it modify it, so "an orange cat" names a cat, not the class orange, and "a man riding a
horse" gives the phrases "man" and "horse".

A phrase matches a class when one of its **suffixes** ("hydrant", "fire hydrant", "red fire hydrant") equals
one of the class's names word for word, up to plural forms: plurals are reduced by English suffix rules and a
table of irregular plurals ("buses" ~ "bus", "people" ~ "person", "leaves" ~ "leaf"). The longest matching
suffix wins, so "teddy bear" names the teddy bear and not the bear, and "hot dog" the food and not the dog.
"""
from __future__ import annotations

import re
from typing import Iterable, Sequence

IRREGULAR_PLURALS = {
    'people': 'person', 'persons': 'person', 'men': 'man', 'women': 'woman', 'children': 'child', 'mice': 'mouse',
    'geese': 'goose', 'teeth': 'tooth', 'feet': 'foot', 'oxen': 'ox', 'cacti': 'cactus', 'fungi': 'fungus',
    'dice': 'die', 'knives': 'knife', 'wives': 'wife', 'lives': 'life', 'leaves': 'leaf', 'shelves': 'shelf',
    'loaves': 'loaf', 'calves': 'calf', 'halves': 'half', 'wolves': 'wolf', 'scarves': 'scarf', 'potatoes': 'potato',
    'tomatoes': 'tomato', 'skis': 'ski', 'buses': 'bus', 'busses': 'bus', 'sheep': 'sheep', 'deer': 'deer',
}
# Words that never belong to a noun phrase: articles, quantifiers, numbers, pronouns, prepositions, conjunctions.
FUNCTION_WORDS = frozenset("""
a an the this that these those some any each every no another other several many few both all its their his her
my our your one two three four five six seven eight nine ten dozen lot lots bunch group couple pair
of in on at to from with without by for into onto over under above below near next beside behind between through
across along around against inside outside up down out off top front back side middle while as and or but
it they he she we you i him them there here who which what where when than very
""".split())
# Common verbs of captions; "-ing" and "-ed" forms are recognised by their ending.
VERBS = frozenset("""
is are was were be been being has have had do does can
sit sits stand stands hold holds lie lies lay lays ride rides play plays walk walks fly flies eat eats wear wears
graze grazes hang hangs run runs jump jumps wait waits drive drives carry carries show shows contain contains
look looks pose poses rest rests sleep sleeps swim swims float floats cross crosses park parks fill fills
cover covers sits sat stood held
""".split())
# Nouns that end in "-ing" or "-ed" and must not be read as participles.
ING_ED_NOUNS = frozenset("""
building buildings ceiling ceilings painting paintings clothing railing railings awning awnings ring rings wing wings
string strings thing things spring evening morning sibling pudding icing frosting stuffing siding bedding lighting
drawing drawings king kings swing swings earring earrings sling ping ding
bed beds shed sled sleds speed seed seeds weed weeds reed reeds steed shred
""".split())
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


def is_verb(word: str, known_nouns: Iterable[str] = ()) -> bool:
    """A closed-list verb, or an "-ing" / "-ed" participle that is not a known noun."""
    if word in VERBS:
        return True
    if word in ING_ED_NOUNS or word in known_nouns:
        return False
    return (len(word) > 4 and word.endswith('ing')) or (len(word) > 4 and word.endswith('ed')
                                                        and not word.endswith('eed'))


def noun_phrases(caption: str, known_nouns: Iterable[str] = ()) -> list[list[str]]:
    """Maximal runs of words that are neither function words nor verbs; ``known_nouns`` (e.g. the words of
    the class names) are never read as verbs."""
    known = frozenset(known_nouns)
    phrases, run = [], []
    for w in words(caption):
        if w in FUNCTION_WORDS or is_verb(w, known):
            if run:
                phrases.append(run)
            run = []
        else:
            run.append(w)
    if run:
        phrases.append(run)
    return phrases


def suffixes(phrase: Sequence[str]) -> list[list[str]]:
    """The head word, then the last two words, ... then the whole phrase."""
    return [list(phrase[len(phrase) - n:]) for n in range(1, len(phrase) + 1)]


def same_words(a: Sequence[str], b: Sequence[str]) -> bool:
    """Whether two word sequences are equal up to plural forms."""
    return len(a) == len(b) and all(noun_lemmas(x) & noun_lemmas(y) for x, y in zip(a, b))


def class_words(class_names: Sequence[Sequence[str]]) -> set[str]:
    """Every word of every name (these are never read as verbs: "building", "clothing")."""
    return {w for names in class_names for name in names for w in words(name)}


def named_classes(text: Sequence[str], class_names: Sequence[Sequence[str]], candidates: Sequence[int]
                  ) -> list[int]:
    """The candidates one of whose names is ``text`` (a word sequence), up to plurals."""
    return [c for c in candidates if any(same_words(text, words(n)) for n in class_names[c])]


def phrase_classes(phrase: Sequence[str], class_names: Sequence[Sequence[str]], candidates: Sequence[int]
                   ) -> list[int]:
    """The candidates one of whose names equals the longest matching suffix of ``phrase``."""
    for suffix in reversed(suffixes(phrase)):  # longest first
        hits = named_classes(suffix, class_names, candidates)
        if hits:
            return hits
    return []


def classes_in_caption(caption: str, class_names: Sequence[Sequence[str]],
                       candidates: Sequence[int] | None = None) -> list[int]:
    """The classes (of ``candidates``, default all) that a noun phrase of the caption names (sorted)."""
    ids = list(range(len(class_names)) if candidates is None else candidates)
    found: set[int] = set()
    for phrase in noun_phrases(caption, class_words([class_names[c] for c in ids])):
        found.update(phrase_classes(phrase, class_names, ids))
    return sorted(found)
