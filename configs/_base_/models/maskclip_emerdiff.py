# MaskCLIP + EmerDiff (Namekata et al., ICLR 2024, Sec. 4.3, Table 3): EmerDiff's masks labelled by their mean MaskCLIP
# embedding's nearest class text embedding (7 templates of App. C).
_base_ = ['./emerdiff.py', './open_clip_vit_b16.py']
model = dict(type='MaskCLIPEmerDiff', clip={{_base_.clip_backbone}}, class_names=None,
             templates={{_base_.clip_templates}})
