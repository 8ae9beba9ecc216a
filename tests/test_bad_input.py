"""Input that cannot work is refused before training, with one message naming the option."""
import os
import shutil
import sys

import pytest

from taal_det.hooks import ActivePoolHook
from taal_testing import ROOT, tiny_al_cfg

sys.path.insert(0, os.path.join(ROOT, 'tools'))
import al_train  # noqa: E402

GOOD = dict(budget=4, cycles=2, initial_size=6)


@pytest.mark.parametrize('change, message', [
    (dict(subset=3), 'subset must be an integer >= budget=4'),
    (dict(subset=0), 'subset must be an integer >= budget=4'),
    (dict(epochs_per_cycle=0), 'epochs_per_cycle must be a positive integer'),
    (dict(source_ratio=(0, 1)), 'source_ratio must be two positive numbers'),
    (dict(source_ratio=(1, 1, 1)), 'source_ratio must be two positive numbers'),
    (dict(score_batch_size=0), 'score_batch_size must be a positive integer'),
    (dict(cycles=0), 'cycles must be a positive integer'),
    (dict(budget=-3), 'budget must be a positive integer'),
    (dict(budget=2.5), 'budget must be a positive integer'),
    (dict(initial_size=0), 'initial_size must be a positive integer'),
    (dict(seed='zero'), 'seed must be a non-negative integer'),
    (dict(strategy=dict(type='TAALStrategy', margin=1.5)), r'margin must lie in \[0, 1\]'),
    (dict(strategy=dict(type='UncertaintyStrategy', reduce='median')),
     'reduce must be one of'),
    (dict(strategy=dict(type='NoSuchStrategy')), 'NoSuchStrategy'),
    (dict(strategy='TAALStrategy'), 'strategy must be a config dict with a type'),
    (dict(strategy=dict(type='CoreSetStrategy', block=0)), 'block must be a positive integer'),
    (dict(strategy=dict(type='UncertaintyStrategy', empty_value='x')),
     'empty_value must be a number'),
    (dict(strategy=dict(type='UncertaintyStrategy', background='drop')),
     "background must be 'exclude' or 'include'"),
    (dict(strategy=dict(type='UncertaintyStrategy', pre_nms_topk=0)),
     'pre_nms_topk must be a positive integer'),
    (dict(strategy=dict(type='TopScoreUncertaintyStrategy', measure='gini')),
     'measure must be one of'),
    (dict(source_ratio=(float('inf'), 1)), 'source_ratio must be two positive numbers'),
    (dict(seed=-1), 'seed must be a non-negative integer'),
    (dict(metric=123), 'metric must be the name of a validation metric'),
    (dict(iters_per_cycle=0), 'iters_per_cycle must be a positive integer'),
])
def test_hook_refuses_options_that_cannot_work_when_built(change, message):
    with pytest.raises((ValueError, KeyError), match=message):
        ActivePoolHook(**dict(GOOD, **change))


def test_hook_accepts_the_edges_that_work():
    ActivePoolHook(**GOOD, subset=4, source_ratio=(3, 1), epochs_per_cycle=1,
                   strategy=dict(type='TAALStrategy', margin=0.0))


@pytest.mark.parametrize('argv', [['--budget', '0'], ['--epochs-per-cycle', '0'],
                                  ['--cycles', '-2'], ['--initial-size', 'ten'],
                                  ['--iters-per-cycle', '0'], ['--seed', '-1']])
def test_cli_refuses_non_positive_counts(argv, capsys):
    with pytest.raises(SystemExit):
        al_train.parse_args(['x.py', *argv])
    assert 'must be a' in capsys.readouterr().err


@pytest.mark.parametrize('cycles, message', [(0, 'cycles must be a positive integer'),
                                             (-1, 'cycles must be a positive integer')])
def test_cli_names_bad_cycles_of_the_config(cycles, message, scenes_root, tmp_path):
    cfg = tiny_al_cfg(scenes_root, None)
    cfg.custom_hooks[0]['cycles'] = cycles
    path = str(tmp_path / 'cfg.py')
    cfg.dump(path)
    with pytest.raises(ValueError, match=message):
        _run_cli(path, str(tmp_path / 'work'))
    with pytest.raises(SystemExit, match='cannot tell the epochs per cycle'):
        _run_cli(path, str(tmp_path / 'work'), '--cycles', '2')


def test_hook_refuses_a_score_pipeline_that_does_not_build(scenes_root, tmp_path):
    from mmengine.runner import Runner
    cfg = tiny_al_cfg(scenes_root, str(tmp_path / 'work'),
                      score_pipeline=[dict(type='NoSuchTransform')])
    with pytest.raises(KeyError, match='NoSuchTransform'):
        Runner.from_cfg(cfg).train()
    assert not os.path.exists(tmp_path / 'work' / 'pool')


def _run_cli(cfg_path, work, *extra):
    return al_train.main([cfg_path, '--work-dir', work, *extra])


def test_pool_images_missing_from_disk_are_listed_before_training(scenes_root, tmp_path):
    data = str(tmp_path / 'data')
    shutil.copytree(scenes_root, data)
    images = sorted(os.listdir(os.path.join(data, 'JPEGImages')))
    with open(os.path.join(data, 'ImageSets', 'Main', 'trainval.txt')) as f:
        trainval = f.read().split()
    gone = trainval[:7]
    for img_id in gone:
        os.remove(os.path.join(data, 'JPEGImages', f'{img_id}.jpg'))
    assert len(os.listdir(os.path.join(data, 'JPEGImages'))) == len(images) - 7
    cfg = str(tmp_path / 'cfg.py')
    tiny_al_cfg(data, None).dump(cfg)
    work = str(tmp_path / 'work')
    with pytest.raises(FileNotFoundError, match=r'7 of 24 pool images are missing from disk: '
                       rf'{gone[0]} .* and 2 more'):
        _run_cli(cfg, work)
    assert not os.path.exists(os.path.join(work, 'pool'))


@pytest.mark.parametrize('extra, error, message', [
    (['--initial-size', '100000'], ValueError, 'initial_size=100000 is larger than the pool'),
    (['--strategy', 'nosuchthing'], KeyError, 'nosuchthing'),
    (['--resume', 'missing.pth'], FileNotFoundError, 'missing.pth'),
])
def test_cli_refuses_bad_runs_before_training(extra, error, message, scenes_root, tmp_path):
    cfg = str(tmp_path / 'cfg.py')
    tiny_al_cfg(scenes_root, None).dump(cfg)
    work = str(tmp_path / 'work')
    with pytest.raises(error, match=message):
        _run_cli(cfg, work, *extra)
    assert not os.path.exists(os.path.join(work, 'pool'))


@pytest.mark.parametrize('ids, message', [
    (['no_such_image'], "not in the pool, e.g. 'no_such_image'"),
    (['DUP', 'DUP'], 'duplicate image id'),
])
def test_cli_refuses_a_bad_initial_split(ids, message, scenes_root, tmp_path):
    with open(os.path.join(scenes_root, 'ImageSets', 'Main', 'trainval.txt')) as f:
        first = f.read().split()[0]
    split = tmp_path / 'split.txt'
    split.write_text('\n'.join(first if i == 'DUP' else i for i in ids) + '\n')
    cfg = str(tmp_path / 'cfg.py')
    tiny_al_cfg(scenes_root, None).dump(cfg)
    with pytest.raises(ValueError, match=message):
        _run_cli(cfg, str(tmp_path / 'work'), '--initial-split', str(split))
    with pytest.raises(FileNotFoundError, match='initial_split .* not found'):
        _run_cli(cfg, str(tmp_path / 'work'), '--initial-split', str(tmp_path / 'none.txt'))


def test_hook_refuses_an_unknown_score_context():
    with pytest.raises(ValueError, match="score_context must be one of"):
        ActivePoolHook(**GOOD, score_context='mixed')


def test_taal_run_refuses_a_box_dependent_train_pipeline(scenes_root, tmp_path):
    from mmengine.runner import Runner
    cfg = tiny_al_cfg(scenes_root, str(tmp_path / 'work'))
    cfg.train_dataloader.dataset.pipeline.insert(
        2, dict(type='MinIoURandomCrop', min_ious=(0.5, ), min_crop_size=0.3))
    with pytest.raises(ValueError, match='MinIoURandomCrop depends on the ground-truth boxes'):
        Runner.from_cfg(cfg).train()
    assert not os.path.exists(tmp_path / 'work' / 'pool')
