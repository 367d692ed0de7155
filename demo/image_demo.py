"""Segment your own images with a training-free config: an overlay with a legend per image.

    python demo/image_demo.py IMG CONFIG --classes "cat, dog, potted plant" --out-file out.png
    python demo/image_demo.py IMAGE_DIR CONFIG --classes my_classes.txt --out-dir overlays/

IMG is an image file or a folder of images; --classes a comma-separated list or a class-name file (one class a
line, synonyms comma-separated); without it, the config's class_names or its dataset's classes. Unsupervised
configs (scored by Hungarian matching) draw their segments with neutral labels ("segment 3"). The offline
shapes demo: python demo/image_demo.py data/demo/shapes/img_dir/val/shapes_0000.png \
configs/maskdiffusion_shapes.py --classes "background, disc, square, triangle" --out-file shapes_0000_seg.png
"""
import argparse
import os
import os.path as osp
import sys

sys.path.insert(0, osp.dirname(osp.dirname(osp.abspath(__file__))))  # run from a source checkout too

import cv2  # noqa: E402
import numpy as np  # noqa: E402

import mmseg_trainfree  # noqa: E402,F401
from mmseg_trainfree.apis import TrainingFreeInferencer, legend  # noqa: E402
from mmseg_trainfree.engine.cli import DictAction  # noqa: E402

IMAGE_SUFFIXES = ('.jpg', '.jpeg', '.png', '.bmp', '.tif', '.tiff', '.webp')


def images_of(path: str) -> list[str]:
    if osp.isdir(path):
        found = sorted(osp.join(path, f) for f in os.listdir(path) if f.lower().endswith(IMAGE_SUFFIXES))
        if not found:
            raise FileNotFoundError(f'no images ({", ".join(IMAGE_SUFFIXES)}) in the folder {path}')
        return found
    if not osp.isfile(path):
        raise FileNotFoundError(f'image not found: {path}')
    return [path]


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument('img', help='an image file or a folder of images')
    parser.add_argument('config', help='a training-free config, e.g. configs/maskdiffusion_voc.py')
    parser.add_argument('--classes', help='"cat, dog, potted plant" or a class-name file')
    parser.add_argument('--out-file', help='the overlay of a single image')
    parser.add_argument('--out-dir', help='where overlays go, one <image>.png each (default: ./image_demo)')
    parser.add_argument('--device', default=None, help='cpu, cuda:0, ... (default: CUDA when available)')
    parser.add_argument('--opacity', type=float, default=0.5, help='of the coloured segments (0, 1]')
    parser.add_argument('--cfg-options', nargs='+', action=DictAction, help='override config entries')
    args = parser.parse_args(argv)
    if not 0 < args.opacity <= 1:
        parser.error(f'--opacity must be in (0, 1], got {args.opacity}')
    images = images_of(args.img)
    if args.out_file and len(images) > 1:
        parser.error('--out-file is for one image; give --out-dir for a folder')
    inferencer = TrainingFreeInferencer(args.config, classes=args.classes, device=args.device,
                                        cfg_options=args.cfg_options)
    names, palette = inferencer.model.dataset_meta['classes'], inferencer.model.dataset_meta['palette']
    results = []
    for path in images:
        out = inferencer(path, return_vis=True, opacity=args.opacity, with_labels=True)
        pred, vis = np.asarray(out['predictions']), out['visualization']  # one image: the arrays themselves
        present = [int(i) for i in np.unique(pred) if i < len(names)]
        panel = np.vstack([vis, legend([names[i] for i in present], [palette[i] for i in present], vis.shape[1])])
        target = args.out_file or osp.join(args.out_dir or 'image_demo', osp.splitext(osp.basename(path))[0] + '.png')
        os.makedirs(osp.dirname(osp.abspath(target)), exist_ok=True)
        cv2.imwrite(target, cv2.cvtColor(panel, cv2.COLOR_RGB2BGR))
        print(f'{path}: {", ".join(names[i] for i in present)} -> {target}')
        results.append((path, pred, target))
    return results


if __name__ == '__main__':
    main()
