"""DiffSeg (Tian et al. 2023, the unsupervised baseline of MaskDiffusion and the report): SD self-attention of one
pass on the clean latent, aggregated over resolutions, merged from an anchor grid by symmetric KL; cluster ids
are the prediction (evaluate with ``HungarianIoUMetric``)."""
from __future__ import annotations

from typing import Optional, Sequence

import torch
import torch.nn.functional as F
from torch import Tensor

from ...registry import MODELS
from ..utils.attention_merging import anchor_grid, merge_attention
from .base import require_whole_mode
from .diffusion_base import DiffusionFeatureSegmentor


@MODELS.register_module()
class DiffSeg(DiffusionFeatureSegmentor):
    """DiffSeg (Tian et al.) on a frozen Stable Diffusion: unsupervised segments from merged self-attention.

    Arguments besides :class:`DiffusionFeatureSegmentor`'s; DiffSeg: SD v1.4, 512 x 512, no noise, t = 300 in the
    time embedding only.

    Args:
        num_points: anchors per side of the latent grid (16: 256 anchors at 1, 5, ..., 61).
        kl_threshold: the symmetric-KL merging threshold of each iteration (1.1 x 3 on COCO-Stuff, 0.9 x 3 on
            Cityscapes).
        prompt: the text condition (DiffSeg: the empty prompt).
        self_attn_layers: the self-attention layers aggregated (all 16).

    ``seg_logits`` are the merged proposals upsampled bilinearly to the input size, one channel per segment;
    images of a batch with fewer segments are padded with -inf channels. Slide mode is refused: segments are
    per input.
    """

    def __init__(self, backbone: dict, data_preprocessor: Optional[dict] = None, num_points: int = 16,
                 kl_threshold: Sequence[float] = (1.1, 1.1, 1.1), prompt: str = '',
                 self_attn_layers: str | Sequence[str] = '*attn1', image_size: Optional[Sequence[int]] = (512, 512),
                 timestep: int = 300, add_noise: bool = False, seed: int = 0, test_cfg: Optional[dict] = None,
                 init_cfg=None):
        require_whole_mode(test_cfg, 'DiffSeg segments each input on its own')
        if num_points < 1 or not kl_threshold:
            raise ValueError(f'DiffSeg needs num_points >= 1 and one KL threshold per iteration, got {num_points}, '
                             f'{kl_threshold}')
        super().__init__(backbone, data_preprocessor, None, image_size, timestep, add_noise, seed, (), test_cfg,
                         init_cfg)
        self.num_points, self.kl_threshold = int(num_points), [float(t) for t in kl_threshold]
        self.prompt, self.self_attn_layers = prompt, self_attn_layers
        self.freeze()

    @property
    def num_classes(self) -> int:
        return self.num_points ** 2  # at most one segment per anchor

    def set_vocabulary(self, classes) -> None:
        """Segments need no vocabulary; the dataset's classes are only used by the metric."""

    def proposals(self, inputs: Tensor) -> tuple[list[Tensor], tuple[int, int]]:
        """Per image, the merged attention proposals (K, h*w), and the latent grid (h, w)."""
        sa, hw = self.self_attention(inputs, self.prompt, self.self_attn_layers)
        anchors = anchor_grid(self.num_points, hw).to(sa.device)
        return [merge_attention(a, anchors, self.kl_threshold) for a in sa], hw

    def encode_decode(self, inputs: Tensor, batch_img_metas: list[dict]) -> Tensor:
        proposals, hw = self.proposals(inputs)
        k = max(len(p) for p in proposals)
        out = []
        for p in proposals:
            up = F.interpolate(p.view(1, -1, *hw), inputs.shape[2:], mode='bilinear', align_corners=False)[0]
            out.append(torch.cat([up, up.new_full((k - len(p), *up.shape[1:]), float('-inf'))]))
        return torch.stack(out)
