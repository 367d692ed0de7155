# Table 2's "SD" row: EmerDiff's low-resolution masks upsampled bilinearly, no modulated denoising,
# same mask embeddings and modified protocol (paper: ADE20K 29.1 mIoU). Other datasets:
# --cfg-options model.mode=naive_upsample on their emerdiff_*.py config.
_base_ = ['./emerdiff_ade20k.py']
model = dict(mode='naive_upsample')
