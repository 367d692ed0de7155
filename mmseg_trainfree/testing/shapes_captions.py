"""Captions of shapes images for the trained tiny CLIP and BLIP: each class named by one of its words, chosen at
random, so that synonyms ("ball", "circle" for disc; "box" for square) reach the category filter's similarity
and synonym matching for real."""
from __future__ import annotations

from typing import Sequence

import numpy as np

from ..datasets.shapes import SHAPES_CLASSES

# The words a caption may use for each class (the first is the class name). Colours are fixed per class in the
# shapes benchmark, so a colour word says the class too.
SHAPE_WORDS = {'background': ('background',), 'disc': ('disc', 'ball', 'circle'), 'square': ('square', 'box'),
               'triangle': ('triangle',)}
SHAPE_COLOURS = {'disc': 'red', 'square': 'green', 'triangle': 'blue'}
CAPTION_OPENINGS = ('', 'a picture of ', 'a photo of ', 'there is ', 'an image of ')


def article(word: str) -> str:
    return 'an' if word[0] in 'aeiou' else 'a'


def present_objects(label: np.ndarray) -> list[int]:
    """The object classes (not background) of a label map, in id order."""
    return [int(c) for c in np.unique(label) if c != 0]


def shapes_caption(classes: Sequence[int], rng: np.random.Generator, p_colour: float = 0.4,
                   p_background: float = 0.3, names: Sequence[str] = SHAPES_CLASSES) -> str:
    """A caption naming ``classes`` (object class ids) in random order, each by a random one of its words,
    sometimes with its colour, sometimes ending "on a background"."""
    order = [classes[i] for i in rng.permutation(len(classes))]
    phrases = []
    for c in order:
        word = str(rng.choice(SHAPE_WORDS[names[c]]))
        if rng.random() < p_colour:
            word = f'{SHAPE_COLOURS[names[c]]} {word}'
        phrases.append(f'{article(word)} {word}')
    text = phrases[0] if len(phrases) == 1 else ', '.join(phrases[:-1]) + ' and ' + phrases[-1]
    if rng.random() < p_background:
        text += ' on a background'
    return str(rng.choice(CAPTION_OPENINGS)) + text


def mentioned_classes(caption: str, names: Sequence[str] = SHAPES_CLASSES) -> list[int]:
    """The object classes a caption names by one of their words (the ground truth of caption accuracy)."""
    words = set(caption.lower().replace(',', ' ').split())
    return sorted(c for c, name in enumerate(names) if c != 0 and words & set(SHAPE_WORDS[name]))
