# Potsdam-3 (IIC / STEGO classes) from mmseg's 6-class Potsdam PNGs, merged on the fly.
_base_ = ['./potsdam.py']
dataset_type = 'Potsdam3Dataset'
test_dataloader = dict(dataset=dict(type=dataset_type, label_source='mmseg6'))
