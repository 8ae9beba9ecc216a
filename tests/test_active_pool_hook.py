import json
import os

import pytest
from mmengine.runner import Runner

from mmdet.registry import DATASETS

from taal_det.hooks.run_meta import content_digest
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
                                            ('TopScoreUncertaintyStrategy', False),
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
    assert results['meta']['source_ratio'] == [1, 1]  # the report compares it
    cfg = tiny_al_cfg(scenes_root, work)
    val = DATASETS.build(cfg.val_dataloader.dataset)
    assert results['meta']['test_set']['digest'] == \
        content_digest([val.get_data_info(i) for i in range(len(val))])
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


@pytest.mark.parametrize('context', ['unlabelled', 'training'])
def test_taal_rows_report_sampler_health_from_the_scores_selection_uses(context, scenes_root,
                                                                      tmp_path):
    import math

    from taal_det.evaluation import roc_auc
    work = str(tmp_path / context)
    run(tiny_al_cfg(scenes_root, work, cycles=2, score_context=context))
    rows = read(work, 'al_results.json')['cycles']
    for row in rows:
        scores = read(work, f"pool/sampler_scores_cycle_{row['cycle']}.json")
        assert len(scores['labelled']) == row['labelled_images']
        assert len(scores['unlabelled']) == 24 - row['labelled_images']
        assert len(scores['test']) == 8
        assert row['sampler_auc'] == roc_auc(scores['labelled'], scores['unlabelled'])
        assert row['sampler_auc_test'] == roc_auc(scores['unlabelled'], scores['test'])
        assert row['sampler_bce_chance'] == pytest.approx(math.log(2), abs=1e-6)  # 2 + 2
        assert 0 < row['sampler_bce'] < 5
    # Selection read the same scores: the picks' scores are those of the file.
    picked = read(work, 'pool/cycle_1.json')['scores']
    before = read(work, 'pool/sampler_scores_cycle_0.json')['unlabelled']
    assert set(picked.values()) <= set(before)
    assert os.path.getsize(os.path.join(work, 'sampler_scores.png')) > 1000
    assert read(work, 'al_results.json')['meta']['score_context'] == context


def test_class_distribution_uncertainty_of_a_one_class_detector_is_refused_before_training(
        scenes_root, tmp_path):
    cfg = tiny_al_cfg(scenes_root, str(tmp_path / 'one'), strategy='UncertaintyStrategy',
                      taal=False)
    cfg.model.bbox_head.num_classes = 1
    with pytest.raises(ValueError, match="one class.*background='include'"):
        run(cfg)
    assert not os.path.exists(tmp_path / 'one' / 'pool' / 'cycle_0.json')


def test_bare_detector_rows_have_no_sampler_health(scenes_root, tmp_path):
    work = str(tmp_path / 'random')
    run(tiny_al_cfg(scenes_root, work, strategy='RandomStrategy', taal=False, cycles=2))
    rows = read(work, 'al_results.json')['cycles']
    assert not any(k.startswith('sampler_') for row in rows for k in row)
    assert rows[1]['added_boxes_per_class'] and sum(
        rows[1]['added_boxes_per_class'].values()) == rows[1]['labelled_boxes'] - rows[0][
        'labelled_boxes']


def test_iters_per_cycle_fixes_the_cycle_length_whatever_the_labelled_set(scenes_root,
                                                                         tmp_path):
    # 2 labelled images per batch: one pass over 6 / 10 labelled images is 3 / 5 steps.
    default = run(tiny_al_cfg(scenes_root, str(tmp_path / 'epochs'), cycles=2))
    assert default.iter == 3 + 5
    fixed = run(tiny_al_cfg(scenes_root, str(tmp_path / 'iters'), cycles=2, epochs_per_cycle=2,
                            iters_per_cycle=8))
    assert fixed.iter == 2 * 8 and fixed.epoch == 4
    assert read(str(tmp_path / 'iters'), 'al_results.json')['meta']['iters_per_cycle'] == 8
    with pytest.raises(ValueError, match='iters_per_cycle=7 is not a multiple of '
                       'epochs_per_cycle=2'):
        run(tiny_al_cfg(scenes_root, str(tmp_path / 'odd'), epochs_per_cycle=2,
                        iters_per_cycle=7))


@pytest.mark.parametrize('context', ['unlabelled', 'training'])
def test_taal_run_that_labels_the_whole_pool_reports_and_stops(context, scenes_root, tmp_path):
    work = str(tmp_path / context)
    runner = run(tiny_al_cfg(scenes_root, work, budget=15, initial_size=10, cycles=4,
                             score_context=context))
    rows = read(work, 'al_results.json')['cycles']
    assert [r['labelled_images'] for r in rows] == [10, 24] and runner.epoch == 2
    assert rows[1]['sampler_auc'] is None  # no unlabelled image left to compare with
    assert rows[0]['sampler_auc'] is not None
