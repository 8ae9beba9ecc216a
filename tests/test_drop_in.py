"""Drop-in: stock mmdet configs with only the hook (and custom_imports) added, made tiny,
run end to end through mmdet's own tools/train.py and through al_train.py; what cannot
work is refused before any training with one line."""
import json
import os
import re
import shutil
import subprocess
import sys

import pytest
from mmengine.dataset import ClassBalancedDataset  # noqa: F401  (registered type)
from mmengine.runner import Runner

from drop_in_configs import MMDET_TRAIN, split_parts, tiny_stock_cfg
from taal_testing import ROOT


@pytest.fixture(scope='module')
def tiny_root(trees_root, tmp_path_factory):
    root = str(tmp_path_factory.mktemp('dropin') / 'trees') + '/'
    shutil.copytree(trees_root, root)
    split_parts(root)
    return root


def train(cfg, tmp_path, tool):
    path = str(tmp_path / 'cfg.py')
    cfg.dump(path)
    script = MMDET_TRAIN if tool == 'mmdet' else os.path.join(ROOT, 'tools', 'al_train.py')
    done = subprocess.run([sys.executable, script, path, '--work-dir', cfg.work_dir],
                          capture_output=True, text=True, cwd=str(tmp_path), timeout=600)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    with open(os.path.join(cfg.work_dir, 'al_results.json')) as f:
        return json.load(f)['cycles'], done.stdout + done.stderr


@pytest.mark.parametrize('name, tool, epochs, scale', [
    ('ssd300_voc0712', 'mmdet', 2, None),
    ('faster-rcnn_r50_fpn_1x_voc0712', 'al_train', 1, (128, 96)),
    ('retinanet_r50_fpn_1x_voc0712', 'mmdet', 1, (128, 96)),
    ('faster-rcnn_r50_fpn_1x_voc0712-cocofmt', 'mmdet', 1, (128, 96)),
])
def test_stock_config_trains_two_cycles(name, tool, epochs, scale, tiny_root, tmp_path):
    cfg = tiny_stock_cfg(name, tiny_root, str(tmp_path / 'work'), epochs_per_cycle=epochs,
                         scale=scale)
    cfg.optim_wrapper.optimizer.lr = 1e-4  # random init on a few images: stay finite
    rows, log = train(cfg, tmp_path, tool)
    assert [r['labelled_images'] for r in rows] == [6, 12]
    # validation once per cycle, although the stock config validates every epoch
    validated = sorted({int(e) for e in re.findall(r'Epoch\(val\) \[(\d+)\]', log)})
    assert validated == [epochs, 2 * epochs]
    with open(os.path.join(cfg.work_dir, 'pool', 'cycle_1.json')) as f:
        assert len(json.load(f)['added']) == 6
    if cfg.train_dataloader.get('batch_sampler'):  # kept for a bare detector
        assert "batches grouped by the train_dataloader's AspectRatioBatchSampler" in log


def refusal(cfg):
    with pytest.raises(ValueError) as info:
        Runner.from_cfg(cfg).train()
    assert not os.path.exists(os.path.join(cfg.work_dir, 'pool', 'cycle_0.json'))
    return str(info.value)


def test_iteration_based_loop_is_refused(tiny_root, tmp_path):
    cfg = tiny_stock_cfg('faster-rcnn_r50-caffe-c4_ms-18k_voc0712', tiny_root, str(tmp_path),
                         scale=(128, 96))
    cfg.train_cfg.max_iters = 4
    assert 'IterBasedTrainLoop is not supported' in refusal(cfg)


def test_class_balanced_pool_is_refused(tiny_root, tmp_path):
    cfg = tiny_stock_cfg('retinanet_r50_fpn_1x_voc0712', tiny_root, str(tmp_path),
                         epochs_per_cycle=1, scale=(128, 96))
    cfg.train_dataloader.dataset = dict(type='ClassBalancedDataset', oversample_thr=0.5,
                                        dataset=cfg.train_dataloader.dataset.dataset.datasets[0])
    assert 'ClassBalancedDataset repeats images by the labels of the whole pool' in refusal(cfg)


def test_a_stock_schedule_longer_than_a_cycle_is_refused(tiny_root, tmp_path):
    cfg = tiny_stock_cfg('retinanet_r50_fpn_1x_voc0712', tiny_root, str(tmp_path),
                         epochs_per_cycle=1, scale=(128, 96))
    cfg.param_scheduler[-1].update(end=4, milestones=[3])  # the stock 1x schedule
    assert 'MultiStepLR spans epochs up to 3, beyond a cycle of 1 epochs' in refusal(cfg)


@pytest.mark.parametrize('name, message', [
    ('rtmdet_tiny', 'PipelineSwitchHook switches the pipeline at an absolute epoch'),
    ('yolox_tiny', 'YOLOXModeSwitchHook switches the pipeline at an absolute epoch')])
def test_hooks_that_switch_at_absolute_epochs_are_refused(name, message, tiny_root, tmp_path):
    cfg = tiny_stock_cfg(name, tiny_root, str(tmp_path), epochs_per_cycle=1, scale=(64, 64))
    assert message in refusal(cfg)


def test_mixing_datasets_are_refused(tiny_root, tmp_path):
    cfg = tiny_stock_cfg('yolox_tiny', tiny_root, str(tmp_path), epochs_per_cycle=1,
                         scale=(64, 64))
    cfg.custom_hooks = [h for h in cfg.custom_hooks if h['type'] != 'YOLOXModeSwitchHook']
    assert 'MultiImageMixDataset pastes random pool images' in refusal(cfg)


def test_the_pool_is_found_behind_a_repeat_and_its_parts_listed():
    from mmengine.dataset import BaseDataset, ConcatDataset, RepeatDataset
    from mmengine.registry import DATASETS

    from taal_det.hooks.drop_in import pool_dataset, pool_parts

    @DATASETS.register_module(name='DropInTinyDataset', force=True)
    class Tiny(BaseDataset):
        METAINFO = dict(classes=('a', ))

        def load_data_list(self):
            return [dict(img_id='x')]

    a, b = Tiny(), Tiny()
    pool = ConcatDataset([a, b])
    assert pool_dataset(RepeatDataset(a, 3)) is a and pool_dataset(pool) is pool
    assert pool_parts(pool) == [a, b] and pool_parts(a) == [a]
    with pytest.raises(ValueError, match='a RepeatDataset inside the ConcatDataset'):
        pool_dataset(ConcatDataset([a, dict(type='RepeatDataset', times=2,
                                            dataset=dict(type='DropInTinyDataset'))]))
