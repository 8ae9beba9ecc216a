# A VOC-format tree made by tools/data/ (JPEGImages/, Annotations/, ImageSets/Main/),
# loaded by mmdet's own VOCDataset and scored by ClasswiseVOCMetric (mmdet's VOCMetric, 11-point
# AP at IoU 0.5, plus each class's AP).
dataset_type = 'VOCDataset'
data_root = 'data/trees/'
classes = ('Tree', )
input_size = 256
train_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='LoadAnnotations', with_bbox=True),
    dict(type='Resize', scale=(input_size, input_size), keep_ratio=False),
    dict(type='RandomFlip', prob=0.5),
    dict(type='PackDetInputs')
]
test_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='Resize', scale=(input_size, input_size), keep_ratio=False),
    dict(type='LoadAnnotations', with_bbox=True),
    dict(
        type='PackDetInputs',
        meta_keys=('img_id', 'img_path', 'ori_shape', 'img_shape', 'scale_factor'))
]
train_dataloader = dict(
    batch_size=8,
    num_workers=0,
    sampler=dict(type='DefaultSampler', shuffle=True),
    dataset=dict(
        type=dataset_type,
        data_root=data_root,
        metainfo=dict(classes=classes),
        ann_file='ImageSets/Main/trainval.txt',
        data_prefix=dict(sub_data_root=''),
        pipeline=train_pipeline))
val_dataloader = dict(
    batch_size=8,
    num_workers=0,
    drop_last=False,
    sampler=dict(type='DefaultSampler', shuffle=False),
    dataset=dict(
        type=dataset_type,
        data_root=data_root,
        metainfo=dict(classes=classes),
        ann_file='ImageSets/Main/test.txt',
        data_prefix=dict(sub_data_root=''),
        test_mode=True,
        pipeline=test_pipeline))
test_dataloader = val_dataloader
val_evaluator = dict(type='ClasswiseVOCMetric', metric='mAP', eval_mode='11points')
test_evaluator = val_evaluator
