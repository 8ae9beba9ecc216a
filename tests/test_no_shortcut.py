"""Nothing of an unlabelled image's boxes reaches what the model sees: under the same
random state, an image's labelled and unlabelled views are the same image."""
import copy
import glob
import os
import random

import numpy as np
import pytest
import torch
from mmdet.registry import DATASETS
from mmengine.config import Config

from taal_det.datasets import ActivePoolDataset, check_box_independent, check_pool_pipelines
from taal_testing import ROOT, SSD300

TAAL_CONFIGS = sorted(c for c in glob.glob(os.path.join(ROOT, 'configs', '**', '*.py'),
                                           recursive=True) if '_base_' not in c)


def pool_on_trees(pipeline, trees_root):
    """The pool dataset of a config, pointed at the trees data (its one class kept)."""
    dataset = DATASETS.build(dict(
        type='VOCDataset', data_root=trees_root, ann_file='ImageSets/Main/trainval.txt',
        data_prefix=dict(sub_data_root=''), metainfo=dict(classes=('Tree', )),
        filter_cfg=dict(filter_empty_gt=True, min_size=32), pipeline=copy.deepcopy(pipeline)))
    return ActivePoolDataset(dataset)


def _seeded(seed):
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)


def differing_views(pool, images=8, seeds=4):
    n, differ = len(pool) // 2, 0
    for i in range(images):
        for seed in range(seeds):
            _seeded(seed)
            labelled = pool[i]
            _seeded(seed)
            unlabelled = pool[n + i]
            assert len(unlabelled['data_samples'].gt_instances) == 0
            differ += not torch.equal(labelled['inputs'], unlabelled['inputs'])
    return differ


def train_pipelines(path):
    cfg = Config.fromfile(path)
    dataset = cfg.train_dataloader.dataset
    return [d.pipeline for d in dataset.get('datasets', [dataset])]


@pytest.mark.parametrize('path', TAAL_CONFIGS, ids=[os.path.relpath(c, ROOT) for c in TAAL_CONFIGS])
def test_every_shipped_config_gives_both_views_the_same_pixels(path, trees_root):
    for pipeline in train_pipelines(path):
        pool = pool_on_trees(pipeline, trees_root)
        check_pool_pipelines(pool.dataset)
        assert differing_views(pool) == 0


def test_mmdets_own_ssd_crop_would_leak_and_is_refused(trees_root):
    pool = pool_on_trees(Config.fromfile(SSD300).train_pipeline, trees_root)
    assert differing_views(pool) > 0  # MinIoURandomCrop: box-respecting patches only
    with pytest.raises(ValueError, match='train pipeline: MinIoURandomCrop depends on the '
                       'ground-truth boxes.*use RandomCrop'):
        check_pool_pipelines(pool.dataset)


@pytest.mark.parametrize('transform, refused', [
    (dict(type='RandomCrop', crop_size=(32, 32)), 'RandomCrop'),
    (dict(type='RandomCrop', crop_size=(32, 32), allow_negative_crop=True), None),
    (dict(type='RandomApply', transforms=[dict(type='RandomShift')]), 'RandomShift'),
    (dict(type='RandomChoice', transforms=[[dict(type='RandomFlip', prob=0.5)],
                                           [dict(type='RandomCenterCropPad', crop_size=(9, 9),
                                                 mean=[0] * 3, std=[1] * 3, to_rgb=False,
                                                 test_pad_mode=None)]]),
     'RandomCenterCropPad'),
    (dict(type='FilterAnnotations', min_gt_bbox_wh=(1, 1)), 'FilterAnnotations'),
    (dict(type='FilterAnnotations', min_gt_bbox_wh=(1, 1), keep_empty=False), None),
    (dict(type='Expand', mean=[0] * 3, ratio_range=(1, 2)), None),
])
def test_box_dependent_transforms_are_named_wherever_they_sit(transform, refused, trees_root):
    pipeline = [dict(type='LoadImageFromFile'), dict(type='LoadAnnotations', with_bbox=True),
                transform, dict(type='PackDetInputs')]
    dataset = pool_on_trees(pipeline, trees_root).dataset
    if refused is None:
        check_box_independent(dataset.pipeline)
    else:
        with pytest.raises(ValueError, match=f'{refused} depends on the ground-truth boxes'):
            check_box_independent(dataset.pipeline)


def test_the_part_of_a_concatenated_pool_is_named(trees_root):
    from mmengine.dataset import ConcatDataset
    good = pool_on_trees([dict(type='LoadImageFromFile')], trees_root).dataset
    bad = pool_on_trees([dict(type='LoadImageFromFile'),
                         dict(type='RandomOrder', transforms=[dict(type='RandomShift')])],
                        trees_root).dataset
    with pytest.raises(ValueError, match='train pipeline of dataset 1: RandomShift'):
        check_pool_pipelines(ConcatDataset([good, bad]))
