# MaskDiffusion with the official code's choices instead of the paper's (docs/methods/maskdiffusion.md lists
# each field): the clean latent at t=0 (paper: t=1 with noise), exp(QK^T/sqrt(d)) divided by its spatial max
# (paper: QK^T/sqrt(d) min-max normalised), and in slide mode the class weights of every crop cut from one
# pass on the whole image resized to 512 x 512 (paper: nothing said; ours: per crop). The paper's 17.1 mIoU
# (Table 2) came from the official code, with ODISE's trained feature projections, which we leave out; the
# official code covers Cityscapes only, the other datasets' prompts are ours.
# Scored as the official scripts/run.py scores: its prompts "light" and "sign" (not "traffic light" / "traffic
# sign"), and at 256 x 352: the labels resized there with PIL's nearest rule, the prediction bilinearly.
_base_ = ['./maskdiffusion_cityscapes.py']
model = dict(timestep=0, add_noise=False, cross_attn_map='exp', cross_attn_norm='max', cross_attn_scope='image',
             class_names='mmseg_trainfree::_base_/classnames/cityscapes_maskdiffusion_official.txt')
test_dataloader = dict(dataset=dict(pipeline=[
    dict(type='LoadImage'),
    dict(type='Resize', scale=(2048, 1024), keep_ratio=True),
    dict(type='LoadSegAnnotations'),
    dict(type='ResizeTo', size=(256, 352)),  # the official target_transform: Resize((256, 352), Image.NEAREST)
    dict(type='PackSegInputs'),
]))
