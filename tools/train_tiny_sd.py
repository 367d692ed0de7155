"""Train the tiny Stable Diffusion fixture on captioned shapes images
(the recipe: mmseg_trainfree.testing.tiny_training) and
save it as a diffusers folder.

    python tools/train_tiny_sd.py --out assets/tiny-sd-shapes [--unet-steps 1200] [--seed 0]

Deterministic for a seed and step budget; docs/tiny_model.md gives the time on 2 CPU cores.
"""
import os.path as osp
import sys

sys.path.insert(0, osp.dirname(osp.dirname(osp.abspath(__file__))))

from mmseg_trainfree.testing.recipe_cli import recipe_main  # noqa: E402
from mmseg_trainfree.testing.tiny_training import TinySDRecipe, train_tiny_stable_diffusion  # noqa: E402


def main(argv=None):
    return recipe_main(TinySDRecipe, train_tiny_stable_diffusion, __doc__.splitlines()[0],
                       'trained tiny Stable Diffusion', argv)


if __name__ == '__main__':
    main()
