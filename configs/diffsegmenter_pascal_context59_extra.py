# DiffSegmenter, PASCAL-Context val with 59 classes, no background (not the paper's benchmark: Table 1's 27.5
# is PC-60, diffsegmenter_pascal_context60.py). Every pixel takes one of the 59 classes; an image whose filter
# keeps no class falls back to every class (there is no background to predict).
_base_ = ['./_base_/models/diffsegmenter.py', './_base_/datasets/pascal_context_59.py',
          './_base_/default_runtime.py']
model = dict(class_names='mmseg_trainfree::_base_/classnames/pascal_context59.txt',
             prompt_template='a photography of {}',  # the official Context / COCO prefix
             category_filter=dict(synonyms='mmseg_trainfree::_base_/classnames/synonyms/pascal_context.txt',
                                  empty='all'))
test_dataloader = dict(dataset=dict(pipeline={{_base_.diffsegmenter_test_pipeline}}))  # the model resizes once
