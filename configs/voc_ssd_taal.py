# TAAL with SSD300 on Pascal VOC 2007: pool = VOC2007 trainval (5,011 images),
# test = VOC2007 test (4,952), 11-point mAP at IoU 0.5; 500 initial images, +500 per
# cycle, 7 cycles (500 ... 3,500 labelled). Inherits mmdet's own SSD300 VOC config
# (VGG16 weights from mmdet's usual pretrained URL).
_base_ = 'mmdet::pascal_voc/ssd300_voc0712.py'
custom_imports = dict(imports=['taal_det'], allow_failed_imports=False)

data_root = 'data/VOCdevkit/'
cycles, epochs_per_cycle = 7, 60

model = dict(
    _delete_=True,
    type='TAALDetector',
    detector={{_base_.model}},
    sampler=dict(type='TransformerSampler', in_channels=[512, 1024, 512, 256, 256, 256],
                 embed_dims=256, depth=1, num_heads=4, mlp_ratio=2.0),
    sampler_loss_weight=0.5)

# mmdet's SSD pipeline, with its box-driven MinIoURandomCrop replaced by a crop that
# never looks at the boxes: unlabelled images have none, and a crop that respects boxes
# only in labelled images would tell the sampler which is which (docs/method.md). Like
# MinIoURandomCrop it keeps the whole image 1 time in 6, else crops 0.3-1 of each side.
train_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='LoadAnnotations', with_bbox=True),
    dict(type='Expand', mean={{_base_.model.data_preprocessor.mean}},
         to_rgb={{_base_.model.data_preprocessor.bgr_to_rgb}}, ratio_range=(1, 4)),
    dict(type='RandomApply', prob=5 / 6, transforms=[
        dict(type='RandomCrop', crop_type='relative_range', crop_size=(0.3, 0.3),
             allow_negative_crop=True)]),
    dict(type='Resize', scale=(300, 300), keep_ratio=False),
    dict(type='RandomFlip', prob=0.5),
    dict(type='PhotoMetricDistortion', brightness_delta=32, contrast_range=(0.5, 1.5),
         saturation_range=(0.5, 1.5), hue_delta=18),
    dict(type='PackDetInputs')
]

# 16 labelled + 16 unlabelled images per batch (ActivePoolHook's source_ratio).
train_dataloader = dict(
    batch_size=32,
    num_workers=4,
    persistent_workers=False,
    dataset=dict(
        _delete_=True,
        type='VOCDataset',
        data_root=data_root,
        ann_file='VOC2007/ImageSets/Main/trainval.txt',
        data_prefix=dict(sub_data_root='VOC2007/'),
        filter_cfg=dict(filter_empty_gt=True, min_size=32),
        pipeline=train_pipeline))
val_dataloader = dict(dataset=dict(data_root=data_root))
test_dataloader = val_dataloader
val_evaluator = dict(type='ClasswiseVOCMetric', metric='mAP', eval_mode='11points')
test_evaluator = val_evaluator

custom_hooks = [
    dict(type='NumClassCheckHook'),
    dict(type='CheckInvalidLossHook', interval=50, priority='VERY_LOW'),
    dict(type='ActivePoolHook', initial_size=500, budget=500, cycles=cycles,
         strategy=dict(type='TAALStrategy', mode='lowest'))
]
train_cfg = dict(type='EpochBasedTrainLoop', max_epochs=cycles * epochs_per_cycle,
                 val_interval=epochs_per_cycle)
# The schedule of one cycle; ActivePoolHook restarts it every cycle.
param_scheduler = [
    dict(type='LinearLR', start_factor=0.001, by_epoch=False, begin=0, end=200),
    dict(type='MultiStepLR', by_epoch=True, begin=0, end=epochs_per_cycle,
         milestones=[40, 50], gamma=0.1)
]
# A checkpoint at every cycle end, all kept (to compare or fork cycles).
default_hooks = dict(checkpoint=dict(interval=epochs_per_cycle, max_keep_ckpts=-1))
# mmdet's SSD300 VOC rate per labelled image: lr 1e-3 for 8 GPUs x 8 images = 1.5625e-5;
# 16 labelled images per batch -> 2.5e-4. base_batch_size counts the whole batch (labelled
# and unlabelled), so --auto-scale-lr on N GPUs gives N x 2.5e-4: the same rate per
# labelled image (docs/protocols.md).
optim_wrapper = dict(optimizer=dict(lr=2.5e-4))
auto_scale_lr = dict(enable=False, base_batch_size=32)
