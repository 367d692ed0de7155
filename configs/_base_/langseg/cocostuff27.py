# Le's report (language-based segmentation), its cocostuff27 benchmark: the dataset, its 320 x 320
# evaluation, and the model fields it sets
# (used as model = {{_base_.gem_fields}} by GEM / AggGEM / DiffSegClust / SpecClust, {{_base_.aggsd_fields}} by AggSD).
_base_ = ['../datasets/coco_stuff27.py', '../protocols/eval_crops.py']
# The report's code (datasets/coco_stuff.py, subset=None) reads IIC's curated/val2017/Coco164kFull_Stuff_Coarse.txt:
# 4,172 val2017 images, not the 2,175-image Coco164kFull_Stuff_Coarse_7.txt of PiCIE / STEGO / DiffSeg.
test_dataloader = dict(dataset=dict(pipeline={{_base_.langseg_test_pipeline}},
                                    ann_file='curated/val2017/Coco164kFull_Stuff_Coarse.txt'))
aggsd_fields = dict(class_names='mmseg_trainfree::_base_/classnames/cocostuff171.txt', background_index=None,
                    class_groups='mmseg_trainfree.datasets.meta.coco:TRAINID171_TO_COARSE27')
gem_fields = dict(aggsd_fields, temperature=0.01)
