# TAAL with Faster R-CNN R50-FPN on Pascal VOC 2007: pool = VOC2007 trainval, test =
# VOC2007 test, 11-point mAP at IoU 0.5; 500 initial images, +500 per cycle, 7 cycles.
# Inherits mmdet's own Faster R-CNN VOC config (ResNet-50 from mmdet's usual URL).
_base_ = 'mmdet::pascal_voc/faster-rcnn_r50_fpn_1x_voc0712.py'
custom_imports = dict(imports=['taal_det'], allow_failed_imports=False)

data_root = 'data/VOCdevkit/'
cycles, epochs_per_cycle = 7, 20

model = dict(
    _delete_=True,
    type='TAALDetector',
    detector={{_base_.model}},
    sampler=dict(type='TransformerSampler', in_channels=[256] * 5, embed_dims=256,
                 depth=1, num_heads=4, mlp_ratio=2.0),
    sampler_loss_weight=0.5)

# 2 labelled + 2 unlabelled images per batch and GPU.
train_dataloader = dict(
    batch_size=4,
    persistent_workers=False,
    batch_sampler=None,
    dataset=dict(
        _delete_=True,
        type='VOCDataset',
        data_root=data_root,
        ann_file='VOC2007/ImageSets/Main/trainval.txt',
        data_prefix=dict(sub_data_root='VOC2007/'),
        filter_cfg=dict(filter_empty_gt=True, min_size=32, bbox_min_size=32),
        pipeline={{_base_.train_pipeline}}))
val_dataloader = dict(dataset=dict(data_root=data_root))
test_dataloader = val_dataloader
val_evaluator = dict(type='ClasswiseVOCMetric', metric='mAP', eval_mode='11points')
test_evaluator = val_evaluator

custom_hooks = [
    dict(type='ActivePoolHook', initial_size=500, budget=500, cycles=cycles,
         strategy=dict(type='TAALStrategy', mode='lowest'))
]
train_cfg = dict(type='EpochBasedTrainLoop', max_epochs=cycles * epochs_per_cycle,
                 val_interval=epochs_per_cycle)
# The schedule of one cycle; ActivePoolHook restarts it every cycle.
param_scheduler = [
    dict(type='LinearLR', start_factor=0.001, by_epoch=False, begin=0, end=200),
    dict(type='MultiStepLR', by_epoch=True, begin=0, end=epochs_per_cycle,
         milestones=[15], gamma=0.1)
]
# mmdet's Faster R-CNN VOC rate per labelled image: lr 0.01 for 8 GPUs x 2 images =
# 6.25e-4; 2 labelled images per batch -> 1.25e-3. base_batch_size counts the whole batch
# (2 + 2), so --auto-scale-lr on N GPUs gives N x 1.25e-3 (docs/protocols.md).
optim_wrapper = dict(optimizer=dict(lr=1.25e-3))
auto_scale_lr = dict(enable=False, base_batch_size=4)
# A checkpoint at every cycle end, all kept (to compare or fork cycles).
default_hooks = dict(checkpoint=dict(interval=epochs_per_cycle, max_keep_ckpts=-1))
