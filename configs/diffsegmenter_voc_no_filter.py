# DiffSegmenter on VOC val without category filtering: every class is prompted for every image (the cost
# comparison of docs/methods/diffsegmenter.md; not a paper row).
_base_ = ['./diffsegmenter_voc.py']
model = dict(category_filter=None)
