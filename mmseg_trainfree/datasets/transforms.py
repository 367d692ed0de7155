"""Loading transforms with errors that name the file."""
from __future__ import annotations

from mmcv.transforms import LoadImageFromFile

from ..registry import TRANSFORMS


@TRANSFORMS.register_module()
class LoadImage(LoadImageFromFile):
    """mmcv's ``LoadImageFromFile`` (grey-scale and RGBA become 3-channel, 16-bit becomes 8-bit) that
    raises a clear error for a missing or undecodable file instead of passing ``None`` on."""

    def transform(self, results: dict) -> dict:
        path = results.get('img_path')
        try:
            out = super().transform(results)
        except FileNotFoundError as e:
            raise FileNotFoundError(f'image file not found: {path}') from e
        except AssertionError:  # mmcv asserts that the decoded image is not None
            out = None
        if out is None or out.get('img') is None:
            raise ValueError(f'cannot decode image {path}: expected a readable PNG / JPEG / TIFF file')
        return out
