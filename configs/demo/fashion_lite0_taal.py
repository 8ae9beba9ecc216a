# TAAL on multi-class Fashion-MNIST scenes (128 px photos), on a CPU.
# Make the data first: python tools/data/make_fashion_scenes.py --out data/fashion_scenes
_base_ = './trees_lite0_taal.py'

data_root = 'data/fashion_scenes/'
classes = ('tshirt', 'trouser', 'pullover', 'dress', 'coat', 'sandal', 'shirt', 'sneaker',
           'bag', 'ankle_boot')
model = dict(detector=dict(bbox_head=dict(
    num_classes=10,
    anchor_generator=dict(min_sizes=[12, 24, 40, 64, 96], max_sizes=[24, 40, 64, 96, 128]))))
input_size = 128  # the scenes' size: Resize only records the scale factor
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
    dict(type='PackDetInputs',
         meta_keys=('img_id', 'img_path', 'ori_shape', 'img_shape', 'scale_factor'))
]
train_dataloader = dict(batch_size=16, dataset=dict(
    data_root=data_root, metainfo=dict(classes=classes), pipeline=train_pipeline))
val_dataloader = dict(batch_size=16, dataset=dict(
    data_root=data_root, metainfo=dict(classes=classes), pipeline=test_pipeline))
test_dataloader = val_dataloader
custom_hooks = [
    dict(type='ActivePoolHook', initial_size=100, budget=100, cycles=4,
         strategy=dict(type='TAALStrategy', mode='lowest'))
]
