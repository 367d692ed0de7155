"""Train the tiny BLIP captioner fixture on captioned shapes images
(the recipe: mmseg_trainfree.testing.tiny_blip_training) and
save it as a transformers folder (model and BlipProcessor).

    python tools/train_tiny_blip.py --out assets/tiny-blip-shapes [--steps 1200] [--seed 0]

Deterministic for a seed and step budget; docs/tiny_model.md gives the time on 2 CPU cores.
"""
import os.path as osp
import sys

sys.path.insert(0, osp.dirname(osp.dirname(osp.abspath(__file__))))

from mmseg_trainfree.testing.recipe_cli import recipe_main  # noqa: E402
from mmseg_trainfree.testing.tiny_blip_training import TinyBLIPRecipe, train_tiny_blip  # noqa: E402


def main(argv=None):
    return recipe_main(TinyBLIPRecipe, train_tiny_blip, __doc__.splitlines()[0], 'trained tiny BLIP captioner', argv)


if __name__ == '__main__':
    main()
