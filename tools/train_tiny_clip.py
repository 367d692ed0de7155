"""Train the tiny CLIP fixture on captioned shapes images
(the recipe: mmseg_trainfree.testing.tiny_clip_training) and
save it as a open_clip model config folder and checkpoint.

    python tools/train_tiny_clip.py --out assets/tiny-clip-shapes [--steps 1500] [--seed 0]

Deterministic for a seed and step budget; docs/tiny_model.md gives the time on 2 CPU cores.
"""
import os.path as osp
import sys

sys.path.insert(0, osp.dirname(osp.dirname(osp.abspath(__file__))))

from mmseg_trainfree.testing.recipe_cli import recipe_main  # noqa: E402
from mmseg_trainfree.testing.tiny_clip_training import TinyCLIPRecipe, train_tiny_clip  # noqa: E402


def main(argv=None):
    return recipe_main(TinyCLIPRecipe, train_tiny_clip, __doc__.splitlines()[0], 'trained tiny CLIP', argv)


if __name__ == '__main__':
    main()
