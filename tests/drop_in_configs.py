"""Stock mmdet configs made tiny for the drop-in tests: only ``custom_imports`` and the
hook are added; data roots, image sizes, batch sizes, schedule lengths and random init
are overridden for the tiny trees data (split into two disjoint parts, standing in for
VOC2007 and VOC2012)."""
import os

from mmengine.config import Config

from taal_det.demo_data.coco import write_coco
from taal_testing import MMDET_CONFIGS

STOCK = {name: os.path.join(MMDET_CONFIGS, 'pascal_voc', f'{name}.py') for name in (
    'ssd300_voc0712', 'faster-rcnn_r50_fpn_1x_voc0712', 'retinanet_r50_fpn_1x_voc0712',
    'faster-rcnn_r50_fpn_1x_voc0712-cocofmt', 'faster-rcnn_r50-caffe-c4_ms-18k_voc0712')}
STOCK.update(rtmdet_tiny=os.path.join(MMDET_CONFIGS, 'rtmdet', 'rtmdet_tiny_8xb32-300e_coco.py'),
             yolox_tiny=os.path.join(MMDET_CONFIGS, 'yolox', 'yolox_tiny_8xb8-300e_coco.py'))
MMDET_TRAIN = os.path.join(os.path.dirname(MMDET_CONFIGS), 'tools', 'train.py')


def split_parts(root):
    """ImageSets/Main/part_a.txt and part_b.txt: the trainval ids in two halves; the
    trainval and test splits as COCO JSON in annotations/."""
    main = os.path.join(root, 'ImageSets', 'Main')
    with open(os.path.join(main, 'trainval.txt')) as f:
        ids = f.read().split()
    for name, part in (('part_a', ids[::2]), ('part_b', ids[1::2])):
        with open(os.path.join(main, f'{name}.txt'), 'w') as f:
            f.write('\n'.join(part) + '\n')
    for split in ('trainval', 'test'):
        write_coco(root, split, ('Tree',), os.path.join(root, 'annotations', f'{split}.json'))


def _point(dataset, root, split):
    if dataset.type == 'CocoDataset':
        dataset.update(ann_file=f'annotations/{split}.json', data_prefix=dict(img=''))
    else:
        dataset.update(ann_file=f'ImageSets/Main/{split}.txt', data_prefix=dict(sub_data_root=''))
    dataset.update(data_root=root, metainfo=dict(classes=('Tree',)))


def _voc_parts(dataset):
    while 'dataset' in dataset:
        dataset = dataset.dataset
    return dataset.get('datasets', [dataset])


def _resize(pipeline, scale):
    for step in pipeline:
        if step['type'] in ('Resize', 'RandomResize', 'RandomChoiceResize'):
            step.clear()
            step.update(type='Resize', scale=scale, keep_ratio=True)


def _random_init(part):
    """Drop every Pretrained init_cfg (nothing may be downloaded)."""
    if isinstance(part, dict):
        if isinstance(part.get('init_cfg'), dict) and part.init_cfg.get('type') == 'Pretrained':
            part.init_cfg = None
        for value in part.values():
            _random_init(value)
    elif isinstance(part, list):
        for value in part:
            _random_init(value)


def tiny_stock_cfg(name, root, work_dir, cycles=2, epochs_per_cycle=2, hook=None, scale=None):
    cfg = Config.fromfile(STOCK[name])
    cfg.custom_imports = dict(imports=['taal_det'], allow_failed_imports=False)
    cfg.custom_hooks = list(cfg.get('custom_hooks') or []) + [dict(
        type='ActivePoolHook', initial_size=6, budget=6, cycles=cycles, progress=False,
        strategy=dict(type='RandomStrategy'), **(hook or {}))]
    parts = _voc_parts(cfg.train_dataloader.dataset)
    for part, split in zip(parts, ('part_a', 'part_b') if len(parts) == 2 else ('trainval',)):
        _point(part, root, split)
    _point(cfg.val_dataloader.dataset, root, 'test')
    if 'ann_file' in cfg.val_evaluator:
        cfg.val_evaluator.ann_file = os.path.join(root, 'annotations', 'test.json')
        # the stock cocofmt config passes VOC's eval_mode, which CocoMetric refuses
        cfg.val_evaluator.pop('eval_mode', None)
    cfg.test_dataloader, cfg.test_evaluator = cfg.val_dataloader, cfg.val_evaluator
    for loader in (cfg.train_dataloader, cfg.val_dataloader):
        loader.update(batch_size=2, num_workers=0, persistent_workers=False)
    if scale:
        for part in _voc_parts(cfg.train_dataloader.dataset):
            _resize(part.pipeline, scale)
        _resize(cfg.val_dataloader.dataset.pipeline, scale)
    model = cfg.model
    _random_init(model)
    cfg.load_from = None
    head = model.roi_head.bbox_head if 'roi_head' in model else model.bbox_head
    head.num_classes = 1
    if cfg.train_cfg.type == 'EpochBasedTrainLoop':
        cfg.train_cfg.max_epochs = cycles * epochs_per_cycle
    for s in cfg.param_scheduler:
        if s.get('by_epoch', True):
            s.update(begin=0, end=epochs_per_cycle)
            s.update({k: v for k, v in (('milestones', [epochs_per_cycle]),
                                        ('T_max', epochs_per_cycle)) if k in s})
        else:
            s.update(end=2)
    cfg.default_hooks.logger.interval = 1
    cfg.work_dir = work_dir
    return cfg
