import json
import os

import pytest
from mmengine.runner import Runner

from taal_testing import tiny_al_cfg


def read(work_dir, name):
    with open(os.path.join(work_dir, name)) as f:
        return json.load(f)


def run(cfg):
    runner = Runner.from_cfg(cfg)
    runner.train()
    return runner


def split_ids(root, split):
    with open(os.path.join(root, 'ImageSets', 'Main', f'{split}.txt')) as f:
        return f.read().split()


@pytest.mark.parametrize('strategy, taal', [('TAALStrategy', True), ('RandomStrategy', False),
                                            ('UncertaintyStrategy', False),
                                            ('CoreSetStrategy', False)])
def test_two_cycles_grow_the_split_with_unlabelled_trainval_images(strategy, taal, scenes_root,
                                                                    tmp_path):
    work = str(tmp_path / strategy)
    run(tiny_al_cfg(scenes_root, work, strategy=strategy, taal=taal, cycles=3))
    trainval, test = set(split_ids(scenes_root, 'trainval')), set(split_ids(scenes_root, 'test'))
    labelled = read(work, 'pool/cycle_0.json')['labelled']
    assert len(labelled) == 6
    for k in (1, 2):
        cycle = read(work, f'pool/cycle_{k}.json')
        assert len(cycle['added']) == 4 and not set(cycle['added']) & set(labelled)
        assert set(cycle['added']) <= trainval and not set(cycle['added']) & test
        assert cycle['labelled'] == labelled + cycle['added']
        labelled = cycle['labelled']
    results = read(work, 'al_results.json')
    assert [r['labelled_images'] for r in results['cycles']] == [6, 10, 14]
    assert all(0.0 <= r['mAP'] <= 1.0 for r in results['cycles'])
    assert results['meta']['strategy']['type'] == strategy
    assert os.path.getsize(os.path.join(work, 'al_curve.png')) > 1000
    with open(os.path.join(work, 'al_results.csv')) as f:
        assert f.readline().startswith('cycle,labelled_images,labelled_boxes,mAP')


def test_same_seed_same_split_and_initial_split_reuse(scenes_root, tmp_path):
    a, b = str(tmp_path / 'a'), str(tmp_path / 'b')
    run(tiny_al_cfg(scenes_root, a, seed=5))
    run(tiny_al_cfg(scenes_root, b, seed=5))
    assert read(a, 'pool/state.json') == read(b, 'pool/state.json')
    c = str(tmp_path / 'c')
    run(tiny_al_cfg(scenes_root, c, seed=6, strategy='RandomStrategy', taal=False,
                    initial_size=None, initial_split=os.path.join(a, 'pool', 'initial.json')))
    assert read(c, 'pool/cycle_0.json')['labelled'] == read(a, 'pool/cycle_0.json')['labelled']


def test_budget_beyond_the_pool_takes_the_rest_and_stops(scenes_root, tmp_path):
    work = str(tmp_path / 'all')
    runner = run(tiny_al_cfg(scenes_root, work, strategy='RandomStrategy', taal=False,
                             budget=15, initial_size=10, cycles=4))
    rows = read(work, 'al_results.json')['cycles']
    assert [r['labelled_images'] for r in rows] == [10, 24]
    assert runner.epoch == 2  # stopped after the cycle that labelled everything


@pytest.mark.parametrize('change, message', [
    (dict(budget=0), 'budget must be a positive integer'),
    (dict(initial_size=25), 'initial_size=25 is larger than the pool'),
    (dict(taal=False), 'needs sampler scores'),
])
def test_bad_settings_fail_before_training_and_write_no_split(change, message, scenes_root,
                                                             tmp_path):
    work = str(tmp_path / 'bad')
    with pytest.raises(ValueError, match=message):
        run(tiny_al_cfg(scenes_root, work, **change))
    assert not os.path.exists(os.path.join(work, 'pool'))
