# Le's report (language-based segmentation), its pascal_context59 benchmark: the dataset, its 320 x 320
# evaluation, and the model fields it sets
# (used as model = {{_base_.gem_fields}} by GEM / AggGEM / DiffSegClust / SpecClust, {{_base_.aggsd_fields}} by AggSD).
_base_ = ['../datasets/pascal_context_59.py', '../protocols/eval_crops.py']
test_dataloader = dict(dataset=dict(pipeline={{_base_.langseg_test_pipeline}}))
aggsd_fields = dict(class_names='mmseg_trainfree::_base_/classnames/pascal_context59.txt', background_index=None,
                    class_groups=None)
gem_fields = dict(aggsd_fields, temperature=0.01)
