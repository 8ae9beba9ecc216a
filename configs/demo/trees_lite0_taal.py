# The README's demo: TAAL on real aerial tree crowns (deepforest's VOC data), on a CPU.
# Make the data first: python tools/data/make_trees.py --out data/trees
_base_ = [
    '../_base_/models/lite0_ssdlite.py', '../_base_/datasets/voc_format.py',
    'mmdet::_base_/default_runtime.py'
]
custom_imports = dict(imports=['taal_det'], allow_failed_imports=False)

cycles, epochs_per_cycle = 4, 12

model = dict(
    _delete_=True,
    type='TAALDetector',
    detector={{_base_.model}},
    sampler=dict(type='TransformerSampler', in_channels=[40, 112, 320, 256, 128],
                 embed_dims=128, depth=1, num_heads=4),
    sampler_loss_weight=0.5)

custom_hooks = [
    dict(type='ActivePoolHook', initial_size=10, budget=10, cycles=cycles,
         strategy=dict(type='TAALStrategy', mode='lowest'))
]
train_cfg = dict(type='EpochBasedTrainLoop', max_epochs=cycles * epochs_per_cycle,
                 val_interval=epochs_per_cycle)
val_cfg = dict(type='ValLoop')
test_cfg = dict(type='TestLoop')
# The sampler trains at the detector's learning rate (docs/method.md: a 10x rate for it
# kept its BCE at chance for longer).
optim_wrapper = dict(optimizer=dict(type='SGD', lr=0.05, momentum=0.9, weight_decay=4e-5))
# Per cycle: every cycle restarts the schedule.
param_scheduler = [
    dict(type='LinearLR', start_factor=0.1, by_epoch=False, begin=0, end=10),
    dict(type='MultiStepLR', by_epoch=True, begin=0, end=epochs_per_cycle,
         milestones=[9], gamma=0.1)
]
# A checkpoint at every cycle end, all kept (to compare or fork cycles).
default_hooks = dict(
    logger=dict(type='LoggerHook', interval=5),
    checkpoint=dict(type='CheckpointHook', interval=epochs_per_cycle, max_keep_ckpts=-1))
randomness = dict(seed=0)
