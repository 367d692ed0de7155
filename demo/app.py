"""A web app to segment your own images with a training-free method, in the browser (Gradio).

    make app                                   # offline, the tiny models trained here, http://127.0.0.1:7860
    python demo/app.py --config configs/maskclip_pascal_context59.py     # real weights (from the hub / cache)
    python demo/app.py --config configs/emerdiff_ade20k.py --model-id /path/to/stable-diffusion-v1-5

Pick a method, upload an image (or an example), type the classes (comma-separated, synonyms with "|"), Segment:
the overlay, each class's area, the label map as a PNG, the run time and the model used. Needs the ``app`` extra
(``pip install mmseg_trainfree[app]``). Analytics are off; the server listens on 127.0.0.1 unless --host says
otherwise.
"""
import argparse
import os
import os.path as osp
import sys
import tempfile

os.environ.setdefault('GRADIO_ANALYTICS_ENABLED', 'False')
ROOT = osp.dirname(osp.dirname(osp.abspath(__file__)))
sys.path.insert(0, ROOT)  # run from a source checkout too

import mmseg_trainfree  # noqa: E402,F401
from mmseg_trainfree.webapp import BUILTIN_METHODS, MAX_PIXELS, Segmenter, build_app  # noqa: E402


def examples(root: str, n: int = 3) -> list[str]:
    """A few images of the built-in shapes benchmark (held-out seed), written to ``root``."""
    from mmseg_trainfree.datasets import generate_shapes_dataset
    generate_shapes_dataset(root, num_images=n, size=(128, 128), seed=1000)
    folder = osp.join(root, 'img_dir', 'val')
    return [osp.join(folder, f) for f in sorted(os.listdir(folder))]


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument('--config', action='append', default=[],
                        help='a config to offer (repeatable); it comes first in the method list')
    parser.add_argument('--model-id', default=None, help="override the config's model.backbone.model_id")
    parser.add_argument('--device', default=None, help='cpu, cuda:0, ... (default: CUDA when available)')
    parser.add_argument('--host', default='127.0.0.1')
    parser.add_argument('--port', type=int, default=7860)
    parser.add_argument('--max-pixels', type=int, default=MAX_PIXELS, help='larger images are refused')
    args = parser.parse_args(argv)
    methods = {osp.basename(c): c for c in args.config}
    methods.update(BUILTIN_METHODS)
    segmenter = Segmenter(root=ROOT, device=args.device, model_id=args.model_id, max_pixels=args.max_pixels)
    app = build_app(segmenter, methods, examples(tempfile.mkdtemp(prefix='mmseg_trainfree_examples_')))
    print(f'mmseg_trainfree app on http://{args.host}:{args.port}', flush=True)
    app.queue().launch(server_name=args.host, server_port=args.port, share=False, show_error=False)


if __name__ == '__main__':
    main()
