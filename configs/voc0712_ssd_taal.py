# TAAL with SSD300 on the LL4AL protocol: pool = VOC2007 + VOC2012 trainval (16,551
# images), test = VOC2007 test, 11-point mAP; 1,000 initial images, +1,000 per cycle,
# 10 cycles (1k ... 10k labelled).
_base_ = './voc_ssd_taal.py'

data_root = 'data/VOCdevkit/'
cycles, epochs_per_cycle = 10, 60
train_dataloader = dict(
    dataset=dict(
        _delete_=True,
        type='ConcatDataset',
        # The two VOCDatasets carry different dataset_type metainfo.
        ignore_keys=['dataset_type'],
        datasets=[
            dict(type='VOCDataset', data_root=data_root,
                 ann_file=f'{year}/ImageSets/Main/trainval.txt',
                 data_prefix=dict(sub_data_root=f'{year}/'),
                 filter_cfg=dict(filter_empty_gt=True, min_size=32),
                 pipeline={{_base_.train_pipeline}}) for year in ('VOC2007', 'VOC2012')
        ]))
custom_hooks = [
    dict(type='NumClassCheckHook'),
    dict(type='CheckInvalidLossHook', interval=50, priority='VERY_LOW'),
    dict(type='ActivePoolHook', initial_size=1000, budget=1000, cycles=cycles,
         strategy=dict(type='TAALStrategy', mode='lowest'))
]
train_cfg = dict(max_epochs=cycles * epochs_per_cycle, val_interval=epochs_per_cycle)
