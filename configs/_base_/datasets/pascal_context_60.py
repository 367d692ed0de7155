# PASCAL-Context 60 (background included), mmseg's layout and converter.
_base_ = ['./pascal_context_59.py']
dataset_type = 'PascalContextDataset'
test_dataloader = dict(dataset=dict(type=dataset_type))
