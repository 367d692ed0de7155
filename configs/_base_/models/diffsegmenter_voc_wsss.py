# DiffSegmenter's weakly supervised setting on VOC (paper Sec. 4.3): the candidates are each image's
# ground-truth classes (image-level labels), and the score maps are averaged over t in {1, 50, 100, 150}.
_base_ = ['./diffsegmenter.py']
model = dict(class_names='mmseg_trainfree::_base_/classnames/voc21.txt', background_index=0,
             timestep=[1, 50, 100, 150], use_image_labels=True, category_filter=None,
             class_tokens='first')  # the official VOC script reads the name's first token (index 4)
