"""Shared builders for the tests: detectors from mmdet's configs and fake batches."""
import copy
import os

import torch
from mmdet.registry import MODELS
from mmdet.structures import DetDataSample
from mmengine.config import Config
from mmengine.optim import OptimWrapper
from mmengine.registry import PARAM_SCHEDULERS
from mmengine.structures import InstanceData
from mmengine.utils import get_installed_path

MMDET_CONFIGS = os.path.join(get_installed_path('mmdet'), '.mim', 'configs')
SSD300 = os.path.join(MMDET_CONFIGS, 'pascal_voc', 'ssd300_voc0712.py')
FASTER_RCNN = os.path.join(MMDET_CONFIGS, 'pascal_voc', 'faster-rcnn_r50_fpn_1x_voc0712.py')
ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
LITE0 = os.path.join(ROOT, 'configs', '_base_', 'models', 'lite0_ssdlite.py')
SAMPLER_CHANNELS = {SSD300: [512, 1024, 512, 256, 256, 256], FASTER_RCNN: [256] * 5,
                    LITE0: [40, 112, 320, 256, 128]}


def detector_cfg(path, pretrained=False):
    """The detector of an mmdet config, with random init (no download) by default."""
    model = copy.deepcopy(Config.fromfile(path).model)
    if not pretrained:
        model.backbone.init_cfg = None
    if path == LITE0:
        model.bbox_head.num_classes = 3
    return model


def taal_cfg(path, **kwargs):
    return dict(type='TAALDetector', detector=detector_cfg(path),
                sampler=dict(type='TransformerSampler', in_channels=SAMPLER_CHANNELS[path],
                             embed_dims=32, num_heads=4), **kwargs)


def build(cfg):
    """Build and initialise (init_cfg without pretrained weights): modules such as
    SSD's L2Norm hold uninitialised memory until init_weights()."""
    torch.manual_seed(0)
    model = MODELS.build(cfg)
    model.init_weights()
    return model


def fake_batch(n, size=64, num_classes=3, labelled=None, seed=0):
    """Packed inputs as a dataloader gives them: uint8 images and data samples."""
    g = torch.Generator().manual_seed(seed)
    inputs, samples = [], []
    for i in range(n):
        inputs.append(torch.randint(0, 255, (3, size, size), generator=g, dtype=torch.uint8))
        meta = dict(img_id=f'{i:04d}', img_shape=(size, size), ori_shape=(size, size),
                    scale_factor=(1.0, 1.0), pad_shape=(size, size), batch_input_shape=(size, size))
        if labelled is not None:
            meta['al_labelled'] = bool(labelled[i])
        sample = DetDataSample(metainfo=meta)
        xy = torch.rand(2, 2, generator=g) * size * 0.5
        wh = torch.rand(2, 2, generator=g) * size * 0.4 + size * 0.1
        sample.gt_instances = InstanceData(bboxes=torch.cat([xy, xy + wh], 1),
                                           labels=torch.randint(0, num_classes, (2,), generator=g))
        samples.append(sample)
    return dict(inputs=inputs, data_samples=samples)


def loss_of(model, batch):
    data = model.data_preprocessor(copy.deepcopy(batch), True)
    return model(**data, mode='loss')


def total(losses):
    return sum(v.sum() if torch.is_tensor(v) else sum(x.sum() for x in v)
               for k, v in losses.items() if 'loss' in k)


def tiny_al_cfg(data_root, work_dir, strategy='TAALStrategy', taal=True, cycles=2,
                epochs_per_cycle=1, budget=4, initial_size=6, seed=0, lr=0.01, frozen_bn=False,
                **hook_kwargs):
    """A whole active-learning run on 64 px Fashion-MNIST scenes that trains in seconds."""
    det = detector_cfg(LITE0)
    det.bbox_head.num_classes = 10
    det.bbox_head.anchor_generator.update(min_sizes=[8, 16, 28, 44, 56],
                                          max_sizes=[16, 28, 44, 56, 64])
    if frozen_bn:  # BN statistics never move: with lr=0 the model stays as initialised
        det.backbone.norm_eval = True
        for part in (det.neck, det.bbox_head):
            part.norm_cfg = dict(type='BN', eps=0.001, momentum=0.0)
    model = dict(type='TAALDetector', detector=det,
                 sampler=dict(type='TransformerSampler', in_channels=SAMPLER_CHANNELS[LITE0],
                              embed_dims=32, num_heads=4)) if taal else det
    classes = ('tshirt', 'trouser', 'pullover', 'dress', 'coat', 'sandal', 'shirt', 'sneaker',
               'bag', 'ankle_boot')
    test_pipeline = [dict(type='LoadImageFromFile'),
                     dict(type='Resize', scale=(64, 64), keep_ratio=False),
                     dict(type='LoadAnnotations', with_bbox=True),
                     dict(type='PackDetInputs', meta_keys=('img_id', 'img_path', 'ori_shape',
                                                           'img_shape', 'scale_factor'))]
    train_pipeline = [dict(type='LoadImageFromFile'), dict(type='LoadAnnotations', with_bbox=True),
                      dict(type='Resize', scale=(64, 64), keep_ratio=False),
                      dict(type='RandomFlip', prob=0.5), dict(type='PackDetInputs')]

    def dataset(split, pipeline):
        return dict(type='VOCDataset', data_root=data_root, ann_file=f'ImageSets/Main/{split}.txt',
                    data_prefix=dict(sub_data_root=''), metainfo=dict(classes=classes),
                    test_mode=split == 'test', pipeline=pipeline)
    hook = dict(type='ActivePoolHook', initial_size=initial_size, budget=budget, cycles=cycles,
                strategy=dict(type=strategy), seed=seed, progress=False, **hook_kwargs)
    return Config(dict(
        default_scope='mmdet', custom_imports=dict(imports=['taal_det']),
        model=model, work_dir=work_dir,
        train_dataloader=dict(batch_size=4, num_workers=0,
                              sampler=dict(type='DefaultSampler', shuffle=True),
                              dataset=dataset('trainval', train_pipeline)),
        val_dataloader=dict(batch_size=4, num_workers=0, drop_last=False,
                            sampler=dict(type='DefaultSampler', shuffle=False),
                            dataset=dataset('test', test_pipeline)),
        val_evaluator=dict(type='ClasswiseVOCMetric', metric='mAP', eval_mode='11points'),
        train_cfg=dict(type='EpochBasedTrainLoop', max_epochs=cycles * epochs_per_cycle,
                       val_interval=epochs_per_cycle),
        val_cfg=dict(type='ValLoop'),
        optim_wrapper=dict(optimizer=dict(type='SGD', lr=lr, momentum=0.9)),
        param_scheduler=[dict(type='MultiStepLR', by_epoch=True, begin=0, end=epochs_per_cycle,
                              milestones=[epochs_per_cycle], gamma=0.1)],
        default_hooks=dict(checkpoint=dict(type='CheckpointHook', interval=1),
                           logger=dict(type='LoggerHook', interval=1)),
        custom_hooks=[hook],
        randomness=dict(seed=seed),
        env_cfg=dict(dist_cfg=dict(backend='gloo')),
        log_level='WARNING'))


def with_unlabelled_gt_corrupted(batch, unlabelled=(1, 3)):
    """A copy of ``batch`` whose unlabelled images' boxes and labels are changed."""
    corrupted = copy.deepcopy(batch)
    for i in unlabelled:
        gt = corrupted['data_samples'][i].gt_instances
        gt.bboxes = gt.bboxes * 0.5 + 7
        gt.labels = (gt.labels + 1) % 3
    return corrupted


def same_losses(a, b):
    return all(torch.equal(torch.as_tensor(total({k: a[k]})), torch.as_tensor(total({k: b[k]})))
               for k in a)


def cycle_schedules(length):
    """Schedules of a 2-epoch cycle given in epochs with ``convert_to_iter_based=True``,
    each with the same schedule written in iterations of epochs of ``length``."""
    in_epochs = dict(by_epoch=True, convert_to_iter_based=True)
    return dict(
        MultiStepLR=(
            [dict(type='LinearLR', start_factor=0.5, begin=0, end=1, **in_epochs),
             dict(type='MultiStepLR', begin=0, end=2, milestones=[1], gamma=0.1, **in_epochs)],
            [dict(type='LinearLR', start_factor=0.5, by_epoch=False, begin=0, end=length),
             dict(type='MultiStepLR', by_epoch=False, begin=0, end=2 * length,
                  milestones=[length], gamma=0.1)]),
        CosineAnnealingLR=(
            [dict(type='CosineAnnealingLR', begin=0, end=2, T_max=2, **in_epochs)],
            [dict(type='CosineAnnealingLR', by_epoch=False, begin=0, end=2 * length,
                  T_max=2 * length)]))


def scheduled_lrs(schedulers, lr, iters):
    """The learning rate of each of ``iters`` iterations under iteration-based
    ``schedulers`` as mmengine steps them (SGD of one parameter), and their start states."""
    optim = OptimWrapper(torch.optim.SGD([torch.nn.Parameter(torch.zeros(1))], lr=lr,
                                         momentum=0.9))
    built = [PARAM_SCHEDULERS.build(s, default_args=dict(optimizer=optim)) for s in schedulers]
    start, lrs = copy.deepcopy([s.state_dict() for s in built]), []
    for _ in range(iters):
        lrs.append(optim.get_lr()['lr'][0])
        optim.step()
        for scheduler in built:
            scheduler.step()
    return lrs, start
