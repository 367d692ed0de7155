"""The web app's logic (``demo/app.py`` is its command line): segment one uploaded image with a method config, the
vocabulary typed by the user, and report the overlay, each class's area, the run time and the model used. Errors
become messages for the page (:class:`AppError`), never tracebacks. Gradio is imported by :func:`build_app` only."""
from __future__ import annotations

import os
import os.path as osp
import tempfile
import time
from dataclasses import dataclass
from typing import Callable, Optional

import numpy as np

# The offline defaults: the tiny models trained here (assets/), one config per kind of method. Paths are relative to
# the repository root (the app runs from a checkout).
BUILTIN_METHODS = {
    'MaskCLIP (open vocabulary, tiny CLIP)': 'configs/maskclip_shapes.py',
    'ClearCLIP (open vocabulary, tiny CLIP)': 'configs/clearclip_shapes.py',
    'MaskDiffusion (open vocabulary, tiny SD)': 'configs/maskdiffusion_shapes.py',
    'DiffCut (unsupervised, tiny SD)': 'configs/diffcut_shapes.py',
    'DiffSeg (unsupervised, tiny SD)': 'configs/diffseg_shapes.py',
}
DEFAULT_CLASSES = 'background, disc, square, triangle'
MAX_PIXELS = 2048 * 2048


class AppError(ValueError):
    """A problem with the user's input or the chosen model, shown as a message in the page."""


def parse_classes(text: Optional[str]) -> list[list[str]]:
    """``'background, cat | kitten, dog'`` -> ``[['background'], ['cat', 'kitten'], ['dog']]``: classes separated by
    commas (or new lines), synonyms of a class by ``|``."""
    items = [c.strip() for c in (text or '').replace('\n', ',').split(',')]
    items = [c for c in items if c]
    if not items:
        raise AppError('Type at least one class name, e.g. "background, cat, dog" (synonyms with |: "dog | puppy").')
    classes = []
    for item in items:
        names = [n.strip() for n in item.split('|')]
        if not all(names):
            raise AppError(f'The class "{item}" has an empty synonym: write synonyms as "dog | puppy".')
        classes.append(names)
    return classes


@dataclass
class Result:
    overlay: np.ndarray  # RGB uint8
    label_map: np.ndarray  # (H, W) class or segment ids
    label_path: str  # the label map as a PNG (class / segment ids as pixel values)
    areas: list[tuple[str, list[int], float]]  # (name, RGB colour, % of the image), largest first
    seconds: float
    model: str
    unsupervised: bool


class Segmenter:
    """Builds one ``TrainingFreeInferencer`` per (config, vocabulary, model override) and keeps it for the next
    image. ``model_id`` overrides the config's main model (``model.backbone.model_id``, or the CLIP checkpoint)."""

    def __init__(self, root: str = '.', device: Optional[str] = None, model_id: Optional[str] = None,
                 max_pixels: int = MAX_PIXELS, out_dir: Optional[str] = None):
        self.root, self.device, self.model_id, self.max_pixels = root, device, model_id, int(max_pixels)
        self.out_dir = out_dir or tempfile.mkdtemp(prefix='mmseg_trainfree_app_')
        self._inferencers: dict[tuple, object] = {}

    def config_path(self, config: str) -> str:
        path = config if osp.isabs(config) else osp.join(self.root, config)
        if not osp.isfile(path):
            raise AppError(f'Config {config} not found (looked for {path}).')
        return path

    def inferencer(self, config: str, classes: Optional[list[list[str]]]):
        from mmengine.config import Config

        from .apis import TrainingFreeInferencer, is_unsupervised, takes_class_names
        from .models.backbones.hub import ModelNotAvailableError
        path = self.config_path(config)
        cfg = Config.fromfile(path)
        vocabulary = classes if takes_class_names(cfg.model.type) and not is_unsupervised(cfg) else None
        key = (path, None if vocabulary is None else tuple(map(tuple, vocabulary)), self.model_id)
        if key not in self._inferencers:
            options = {}
            if self.model_id and 'backbone' in cfg.model:
                options['model.backbone.model_id'] = self.model_id
            cwd = os.getcwd()
            os.chdir(self.root)  # the configs' asset paths are relative to the repository root
            try:
                self._inferencers[key] = TrainingFreeInferencer(cfg, classes=vocabulary, device=self.device,
                                                                cfg_options=options)
            except ModelNotAvailableError as e:
                raise AppError(f'The model of {config} is not available on this machine: {e}') from e
            finally:
                os.chdir(cwd)
        return self._inferencers[key]

    def describe_model(self, inferencer) -> str:
        model = inferencer.model
        backbone = getattr(model, 'backbone', None)
        clip = getattr(model, 'clip', None)
        parts = [type(model).__name__]
        if backbone is not None:
            parts.append(f'{type(backbone).__name__} {getattr(backbone, "model_id", "")}')
        if clip is not None:
            parts.append(type(clip).__name__)
        return ', '.join(parts)

    def segment(self, image: Optional[np.ndarray], config: str, classes_text: Optional[str],
                progress: Callable[[float, str], None] = lambda fraction, what: None) -> Result:
        """Segment an RGB ``image`` (H, W, 3) uint8 with ``config``; ``classes_text`` as :func:`parse_classes`."""
        if image is None:
            raise AppError('Upload an image (or pick an example) first.')
        image = np.asarray(image)
        if image.ndim == 2:
            image = np.repeat(image[..., None], 3, axis=2)
        if image.ndim != 3 or image.shape[2] not in (3, 4):
            raise AppError(f'Expected an RGB image, got an array of shape {image.shape}.')
        image = image[..., :3]
        if image.dtype != np.uint8:
            top = 65535 if image.max() > 255 else 255
            image = (image.astype(np.float64) / top * 255).round().clip(0, 255).astype(np.uint8)
        if image.shape[0] * image.shape[1] > self.max_pixels:
            raise AppError(f'The image is {image.shape[1]} x {image.shape[0]} pixels; this app takes at most '
                           f'{self.max_pixels} pixels (about {int(self.max_pixels ** 0.5)} x '
                           f'{int(self.max_pixels ** 0.5)}). Resize it first.')
        if min(image.shape[:2]) < 16:
            raise AppError(f'The image is {image.shape[1]} x {image.shape[0]} pixels; at least 16 x 16 is needed.')
        classes = parse_classes(classes_text)
        progress(0.1, 'loading the model')
        inferencer = self.inferencer(config, classes)
        progress(0.4, 'segmenting')
        start = time.perf_counter()
        out = inferencer(np.ascontiguousarray(image[..., ::-1]), return_vis=True, opacity=0.5, with_labels=False)
        seconds = time.perf_counter() - start
        progress(0.9, 'drawing')
        label_map, overlay = np.asarray(out['predictions']), np.asarray(out['visualization'])
        names, palette = inferencer.model.dataset_meta['classes'], inferencer.model.dataset_meta['palette']
        ids, counts = np.unique(label_map, return_counts=True)
        areas = sorted(((str(names[i]) if i < len(names) else f'segment {i}', list(palette[i % len(palette)]),
                        100.0 * c / label_map.size) for i, c in zip(ids.tolist(), counts.tolist())),
                       key=lambda a: -a[2])
        import cv2
        label_path = osp.join(self.out_dir, f'labels_{int(time.time() * 1000)}.png')
        cv2.imwrite(label_path, label_map.astype(np.uint16 if label_map.max() > 255 else np.uint8))
        return Result(overlay, label_map, label_path, areas, seconds, self.describe_model(inferencer),
                      inferencer.unsupervised)


def legend_html(result: Result) -> str:
    """The legend: a colour swatch, the class (or segment) and its share of the image, largest first."""
    import html
    rows = ''.join(
        f'<tr><td><span style="display:inline-block;width:14px;height:14px;background:rgb({r},{g},{b})"></span></td>'
        f'<td>{html.escape(name)}</td><td style="text-align:right">{area:.1f} %</td></tr>'
        for name, (r, g, b), area in result.areas)
    kind = 'segments (unsupervised: ids, not classes)' if result.unsupervised else 'classes'
    return f'<div id="legend-table"><p>{len(result.areas)} {kind}</p><table>{rows}</table></div>'


def build_app(segmenter: Segmenter, methods: dict[str, str], examples: list[str]):
    """The Gradio Blocks page: method, image (or an example), classes, Segment; overlay, legend, label map, status."""
    os.environ.setdefault('GRADIO_ANALYTICS_ENABLED', 'False')
    import gradio as gr

    def run(method, image, classes, progress=gr.Progress()):
        try:
            result = segmenter.segment(image, methods[method], classes, lambda f, what: progress(f, desc=what))
        except AppError as e:
            return None, '', None, f'**Error:** {e}'
        except Exception as e:  # noqa: BLE001 (a message in the page, never a traceback)
            return None, '', None, f'**Error:** {type(e).__name__}: {e}'
        status = (f'**Done** in {result.seconds:.2f} s with {result.model} '
                  f'({"unsupervised: segments" if result.unsupervised else "open vocabulary"}).')
        return result.overlay, legend_html(result), result.label_path, status

    with gr.Blocks(title='mmseg_trainfree: training-free segmentation') as app:
        gr.Markdown('## Training-free semantic segmentation (mmseg_trainfree)\n'
                    'Pick a method, upload an image and type the classes to look for (comma-separated; synonyms '
                    'with `|`, e.g. `dog | puppy`). Unsupervised methods ignore the classes and show segments.')
        with gr.Row():
            with gr.Column():
                method = gr.Dropdown(list(methods), value=next(iter(methods)), label='Method', elem_id='method')
                image = gr.Image(type='numpy', label='Image', elem_id='image', sources=['upload'])
                classes = gr.Textbox(value=DEFAULT_CLASSES, label='Classes', elem_id='classes')
                button = gr.Button('Segment', variant='primary', elem_id='run')
                if examples:
                    gr.Examples(examples, inputs=[image], label='Examples (the built-in shapes)')
            with gr.Column():
                overlay = gr.Image(label='Overlay', elem_id='overlay', interactive=False)
                legend = gr.HTML(elem_id='legend')
                labels = gr.File(label='Label map (PNG of class / segment ids)', elem_id='labels')
                status = gr.Markdown(elem_id='status')
        button.click(run, [method, image, classes], [overlay, legend, labels, status])
    return app
