# DiffSegmenter, PASCAL VOC 2012 val, with the official code's one-word class names (plane, buses, table,
# people, plant, monitor, ...; its prompt list and filter output), instead of our names with synonyms.
_base_ = ['./diffsegmenter_voc.py']
model = dict(class_names='mmseg_trainfree::_base_/classnames/voc21_official.txt')
