"""Paired statistics of the report: per-seed AUBC differences against a reference, their
t-interval and sign count, curves against boxes, and the runs it refuses to compare."""
import json
import math
import os
import statistics
import sys

import pytest
from scipy import stats

from taal_det.evaluation.paired import interpolated_aubc, paired_differences, run_areas
from taal_det.evaluation.report import ProtocolMismatch, check_protocols, load_run
from taal_testing import ROOT

sys.path.insert(0, os.path.join(ROOT, 'tools'))
import al_report  # noqa: E402


def make_run(tmp_path, label, seed, maps, boxes=None, cycles=None, **meta):
    folder = tmp_path / f'{label}_{seed}'
    folder.mkdir()
    boxes = boxes or [10 * (i + 1) for i in range(len(maps))]
    info = dict(label=label, strategy=dict(type=label), seed=seed, budget=2, pool_size=100,
                cycles=cycles or len(maps), pool_digest='p', test_set=dict(images=5),
                epochs_per_cycle=3, initial=dict(ids=[f'init{seed}']))
    info.update(meta)
    rows = [dict(cycle=i, labelled_images=2 + 2 * i, labelled_boxes=b, mAP=m,
                 added_boxes_per_class=dict(cat=i, dog=1))
            for i, (m, b) in enumerate(zip(maps, boxes))]
    (folder / 'al_results.json').write_text(json.dumps(dict(meta=info, cycles=rows)))
    return str(folder)


CURVES = {'random': [[0.1, 0.2, 0.3], [0.2, 0.2, 0.2], [0.1, 0.3, 0.3]],
          'taal': [[0.1, 0.3, 0.4], [0.2, 0.1, 0.2], [0.1, 0.4, 0.5]]}


def all_runs(tmp_path):
    return [make_run(tmp_path, label, seed, maps)
            for label, curves in CURVES.items() for seed, maps in enumerate(curves)]


def test_paired_difference_mean_interval_and_signs(tmp_path):
    runs = [load_run(p) for p in all_runs(tmp_path)]
    areas, _ = run_areas(runs)
    paired = paired_differences(areas, 'random')['taal']
    diffs = [areas['taal'][s] - areas['random'][s] for s in range(3)]
    assert paired['differences'] == pytest.approx(diffs)
    assert (paired['wins'], paired['losses'], paired['ties']) == (2, 1, 0)
    half = stats.t.ppf(0.975, 2) * statistics.stdev(diffs) / math.sqrt(3)
    assert paired['ci95'] == pytest.approx((statistics.mean(diffs) - half,
                                            statistics.mean(diffs) + half))


def test_area_against_boxes_over_the_common_range_by_interpolation():
    # y = x / 100 on [10, 50]: its mean over [20, 40] is 0.3, whatever the knots.
    assert interpolated_aubc([10, 35, 50], [0.1, 0.35, 0.5], 20, 40) == pytest.approx(0.3)
    with pytest.raises(ValueError):
        interpolated_aubc([10, 20], [0.1, 0.2], 5, 20)


def test_report_writes_paired_tables_json_and_box_curves(tmp_path):
    paths = all_runs(tmp_path)
    out = str(tmp_path / 'report')
    al_report.main([*paths, '--out', out])
    with open(out + '.json') as f:
        result = json.load(f)
    assert result['paired_images']['taal']['wins'] == 2
    assert result['box_range'] == [10, 30]
    text = open(out + '.md').read()
    assert '| taal |' in text and 'minus random' in text and '| cat | dog |' in text
    assert os.path.getsize(out + '.png') > 1000


@pytest.mark.parametrize('change, message', [
    (dict(cycles=5), 'truncated: 3 of 5 cycles'),
    (dict(epochs_per_cycle=9), 'differ in epochs_per_cycle'),
    (dict(subset=50), 'differ in subset'),
    (dict(warm_start=True), 'differ in warm_start'),
    (dict(detector='TwoStageDetector'), 'differ in detector'),
    (dict(metric='coco/bbox_mAP'), 'differ in metric'),
])
def test_refuses_runs_that_cannot_be_compared(tmp_path, change, message):
    paths = all_runs(tmp_path)
    odd = make_run(tmp_path, 'odd', 0, [0.1, 0.2, 0.3], **change)
    with pytest.raises(ProtocolMismatch, match=message):
        check_protocols([load_run(p) for p in paths[:1] + [odd]])


def test_refuses_methods_with_different_seed_sets(tmp_path):
    paths = all_runs(tmp_path)[:-1]  # taal lacks seed 2
    with pytest.raises(SystemExit, match=r'taal ran seeds \[0, 1\] but random ran \[0, 1, 2\]'):
        al_report.main([*paths, '--out', str(tmp_path / 'r')])


def test_a_truncated_run_is_refused_even_when_protocols_may_differ(tmp_path):
    paths = all_runs(tmp_path)
    odd = make_run(tmp_path, 'odd', 0, [0.1, 0.2], cycles=3)
    with pytest.raises(SystemExit, match='truncated: 2 of 3 cycles'):
        al_report.main([*paths, odd, '--out', str(tmp_path / 'r'), '--allow-mixed'])


def test_a_missing_reference_is_said_not_skipped(tmp_path):
    paths = [p for p in all_runs(tmp_path) if 'taal' in p]
    al_report.main([*paths, '--out', str(tmp_path / 'r')])
    text = open(tmp_path / 'r.md').read()
    assert "reference method 'random' is not among the runs (taal)" in text


def test_the_json_holds_health_classes_and_per_class_ap(tmp_path):
    paths = all_runs(tmp_path)
    for path in paths:  # rows as a run with a sampler and a per-class metric writes them
        file = os.path.join(path, 'al_results.json')
        run = json.load(open(file))
        seed = run['meta']['seed']
        for r in run['cycles']:
            r.update(sampler_auc=0.5 + 0.1 * seed, class_ap=dict(cat=0.2 * seed, dog=0.1))
        json.dump(run, open(file, 'w'))
    al_report.main([*paths, '--out', str(tmp_path / 'r')])
    result = json.load(open(tmp_path / 'r.json'))
    health = [h for h in result['health'] if h['method'] == 'taal' and h['cycle'] == 1][0]
    assert health['sampler_auc'] == pytest.approx(0.6) and health['runs'] == 3
    classes = [c for c in result['classes'] if c['method'] == 'random' and c['cycle'] == 2][0]
    assert classes['added_boxes'] == dict(cat=2, dog=1)
    assert classes['class_ap'] == pytest.approx(dict(cat=0.2, dog=0.1))
    assert '| 2 | random | 2.0 / 0.200 | 1.0 / 0.100 |' in open(tmp_path / 'r.md').read()


def test_a_methods_rule_is_one_across_seeds_and_older_detector_records_match(tmp_path):
    paths = all_runs(tmp_path)
    runs = [load_run(p) for p in paths]
    for run in runs:
        run['meta']['selection'] = f"{run['meta']['label']}Strategy()"
        run['meta']['detector'] = 'SingleStageDetector(EfficientNetLite0, SSDNeck, SSDHead)'
    runs[0]['meta']['detector'] = 'SingleStageDetector'  # recorded before parts were
    check_protocols(runs)
    runs[-1]['meta']['selection'] = "TAALStrategy(mode='margin')"  # taal, seed 2
    with pytest.raises(ProtocolMismatch, match='differ in selection'):
        check_protocols(runs)
    runs[-1]['meta']['selection'] = runs[-2]['meta']['selection']
    runs[0]['meta']['detector'] = runs[2]['meta']['detector']
    runs[1]['meta']['detector'] = 'SingleStageDetector(SSDVGG, SSDNeck, SSDHead)'
    with pytest.raises(ProtocolMismatch, match='differ in detector'):
        check_protocols(runs)


def test_a_run_given_twice_is_refused_even_when_protocols_may_differ(tmp_path):
    paths = all_runs(tmp_path)
    twice = tmp_path / 'again'
    twice.mkdir()
    (twice / 'al_results.json').write_text(open(os.path.join(paths[0], 'al_results.json')).read())
    with pytest.raises(SystemExit, match='give each run once'):
        al_report.main([*paths, str(twice), '--out', str(tmp_path / 'r'), '--allow-mixed'])


def test_time_spent_per_method_counts_every_cycle_of_every_run(tmp_path):
    paths = all_runs(tmp_path)
    for k, path in enumerate(paths):
        file = os.path.join(path, 'al_results.json')
        run = json.load(open(file))
        for r in run['cycles']:
            r.update(train_seconds=100.0 * (k + 1), selection_seconds=10.0)
        json.dump(run, open(file, 'w'))
    al_report.main([*paths, '--out', str(tmp_path / 'r')])
    cost = {c['method']: c for c in json.load(open(tmp_path / 'r.json'))['cost']}
    # random: runs 1-3 (k = 0, 1, 2), taal: runs 4-6; three cycles each
    assert cost['random']['train_seconds'] == pytest.approx(3 * 200.0)
    assert cost['taal']['selection_seconds'] == pytest.approx(30.0)
    assert cost['taal']['total_hours'] == pytest.approx(3 * (3 * 500.0 + 30.0) / 3600)
