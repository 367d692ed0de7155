# Le's report (language-based segmentation), its voc benchmark: the dataset, its 320 x 320
# evaluation, and the model fields it sets
# (used as model = {{_base_.gem_fields}} by GEM / AggGEM / DiffSegClust / SpecClust, {{_base_.aggsd_fields}} by AggSD).
_base_ = ['../datasets/pascal_voc12.py', '../protocols/eval_crops.py']
test_dataloader = dict(dataset=dict(pipeline={{_base_.langseg_test_pipeline}}))
aggsd_fields = dict(class_names='mmseg_trainfree::_base_/classnames/voc21.txt', background_index=0,
                    class_groups=None)
gem_fields = dict(aggsd_fields, temperature=0.1)
