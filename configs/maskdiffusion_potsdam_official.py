# MaskDiffusion with the official code's choices instead of the paper's (docs/methods/maskdiffusion.md lists
# each field): the clean latent at t=0 (paper: t=1 with noise), exp(QK^T/sqrt(d)) divided by its spatial max
# (paper: QK^T/sqrt(d) min-max normalised), and in slide mode the class weights of every crop cut from one
# pass on the whole image resized to 512 x 512 (paper: nothing said; ours: per crop). The paper's 21.2 mIoU
# (Table 2) came from the official code, with ODISE's trained feature projections, which we leave out; the
# official code covers Cityscapes only, the other datasets' prompts are ours.
_base_ = ['./maskdiffusion_potsdam.py']
model = dict(timestep=0, add_noise=False, cross_attn_map='exp', cross_attn_norm='max', cross_attn_scope='image')
