# Le's report (language-based segmentation), its cocostuff27 benchmark: the dataset, its 320 x 320
# evaluation, and the model fields it sets
# (used as model = {{_base_.gem_fields}} by GEM / AggGEM / DiffSegClust / SpecClust, {{_base_.aggsd_fields}} by AggSD).
_base_ = ['../datasets/coco_stuff27.py', '../protocols/eval_crops.py']
test_dataloader = dict(dataset=dict(pipeline={{_base_.langseg_test_pipeline}}))
aggsd_fields = dict(class_names='mmseg_trainfree::_base_/classnames/cocostuff171.txt', background_index=None,
                    class_groups='mmseg_trainfree.datasets.meta.coco:TRAINID171_TO_COARSE27')
gem_fields = dict(aggsd_fields, temperature=0.01)
