"""Fully connected CRF post-processing (Krähenbühl & Koltun 2011) of per-class probabilities, through the
``pydensecrf2`` package (an optional extra: ``pip install -e .[crf]``)."""
from __future__ import annotations

import numpy as np

from ...registry import MODELS


@MODELS.register_module()
class DenseCRF:
    """Mean-field inference of a dense CRF with a Gaussian (smoothness) and a bilateral (appearance) kernel.

    Defaults are DeepLab's / CLIP-ES's VOC settings: 10 iterations, Gaussian sxy 3 and compat 3, bilateral
    sxy 80, srgb 13 and compat 10.
    """

    def __init__(self, iterations: int = 10, gaussian_sxy: float = 3, gaussian_compat: float = 3,
                 bilateral_sxy: float = 80, bilateral_srgb: float = 13, bilateral_compat: float = 10):
        try:
            import pydensecrf.densecrf  # noqa: F401
        except ImportError as e:
            raise ImportError('DenseCRF needs the pydensecrf2 package: pip install pydensecrf2 '
                              '(or pip install -e .[crf])') from e
        self.iterations = int(iterations)
        self.gaussian = dict(sxy=gaussian_sxy, compat=gaussian_compat)
        self.bilateral = dict(sxy=bilateral_sxy, srgb=bilateral_srgb, compat=bilateral_compat)

    def __call__(self, image: np.ndarray, probs: np.ndarray) -> np.ndarray:
        """Refined (C, H, W) probabilities from an (H, W, 3) uint8 RGB ``image`` and (C, H, W) ``probs``."""
        import pydensecrf.densecrf as dcrf
        from pydensecrf.utils import unary_from_softmax
        c, h, w = probs.shape
        if image.shape[:2] != (h, w) or image.dtype != np.uint8:
            raise ValueError(f'DenseCRF: image must be ({h}, {w}, 3) uint8 like the probabilities, '
                             f'got {image.shape} {image.dtype}')
        crf = dcrf.DenseCRF2D(w, h, c)
        crf.setUnaryEnergy(np.ascontiguousarray(unary_from_softmax(probs.astype(np.float32), clip=1e-5)))
        crf.addPairwiseGaussian(**self.gaussian)
        crf.addPairwiseBilateral(rgbim=np.ascontiguousarray(image), **self.bilateral)
        return np.asarray(crf.inference(self.iterations), dtype=np.float32).reshape(c, h, w)
