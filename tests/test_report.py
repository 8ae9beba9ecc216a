import itertools
import json
import os
import sys
from types import SimpleNamespace

import pytest

from taal_det.evaluation import aubc, markdown_table
from taal_det.evaluation.report import (ProtocolMismatch, check_protocols, load_run,
                                        markdown_report, summarise,
                                        varied_settings)
from taal_det.hooks.run_meta import content_digest, describe_test_set
from taal_testing import ROOT

sys.path.insert(0, os.path.join(ROOT, 'tools'))
import al_report  # noqa: E402


def test_aubc_is_the_normalised_trapezoid_area():
    assert aubc([100, 200, 300], [0.2, 0.4, 0.4]) == pytest.approx((0.3 * 100 + 0.4 * 100) / 200)
    assert aubc([50], [0.7]) == 0.7
    with pytest.raises(ValueError):
        aubc([1, 2], [0.5])


def make_run(tmp_path, label, seed, maps, initial=('a', 'b'), budget=2, pool='p1',
             warm_start=False, test_set=None):
    folder = tmp_path / f'{label}_{seed}'
    folder.mkdir()
    meta = dict(label=label, strategy=dict(type=label), seed=seed, budget=budget,
                pool_digest=pool, test_set=test_set or dict(images=10, ann_file='t.txt'),
                initial=dict(ids=list(initial)), warm_start=warm_start)
    cycles = [dict(cycle=i, labelled_images=2 + budget * i, mAP=m) for i, m in enumerate(maps)]
    (folder / 'al_results.json').write_text(json.dumps(dict(meta=meta, cycles=cycles)))
    return str(folder)


def test_mean_std_table_and_aubc_per_method(tmp_path):
    runs = [load_run(make_run(tmp_path, 'taal', 0, [0.1, 0.3])),
            load_run(make_run(tmp_path, 'taal', 1, [0.3, 0.5], initial=('c', 'd'))),
            load_run(make_run(tmp_path, 'random', 0, [0.1, 0.2])),
            load_run(make_run(tmp_path, 'random', 1, [0.1, 0.2], initial=('c', 'd')))]
    check_protocols(runs)
    summary = summarise(runs)
    assert summary['taal']['curve'][4][:2] == pytest.approx((0.4, 0.1414), abs=1e-4)
    assert summary['taal']['aubc'] == pytest.approx((0.3, 0.1414, 2), abs=1e-4)
    text = markdown_report(summary)
    assert '| 4 | 0.2000 ± 0.0000 | 0.4000 ± 0.1414 |' in text
    assert '| taal | 0.3000 ± 0.1414 | 2 |' in text


@pytest.mark.parametrize('change, message', [(dict(budget=3), 'differ in budget'),
                                             (dict(pool='p2'), 'differ in pool_digest'),
                                             (dict(initial=('x', 'y')), 'different initial splits')])
def test_refuses_runs_of_different_protocols(tmp_path, change, message):
    a = make_run(tmp_path, 'taal', 0, [0.1, 0.3])
    b = make_run(tmp_path, 'random', 0, [0.1, 0.2], **change)
    with pytest.raises(ProtocolMismatch, match=message):
        check_protocols([load_run(a), load_run(b)])
    with pytest.raises(SystemExit, match=message):
        al_report.main([a, b, '--out', str(tmp_path / 'r')])
    al_report.main([a, b, '--out', str(tmp_path / 'r'), '--allow-mixed'])
    assert os.path.getsize(str(tmp_path / 'r.png')) > 1000


def test_a_test_set_is_its_images_wherever_its_folder(tmp_path):
    (tmp_path / 'data').mkdir()
    (tmp_path / 'data' / 'test.txt').write_text('t1\nt2\n')
    (tmp_path / 'copy').mkdir()
    (tmp_path / 'copy' / 'test.txt').write_text('t1\nt2\n')
    os.symlink(tmp_path / 'data', tmp_path / 'link')
    data, link, copy = (str(tmp_path / d / 'test.txt') for d in ('data', 'link', 'copy'))
    accepted = [
        (dict(ann_file='/a/test.txt', digest='d1'), dict(ann_file='/b/test.txt', digest='d1')),
        (dict(ann_file=data), dict(ann_file=link)),  # older runs: one file, two paths
        (dict(ann_file='/a/test.txt'), dict(ann_file='/a/test.txt', digest='d1'))]
    refused = [
        (dict(ann_file='/a/test.txt', digest='d1'), dict(ann_file='/a/test.txt', digest='d2')),
        (dict(ann_file=data), dict(ann_file=copy)),  # older runs: equal lists, not one file
        (dict(ann_file='/a/test.txt'), dict(ann_file='/b/test.txt', digest='d1')),
        (dict(ann_file='/a/test.txt', digest='d1', images=3),
         dict(ann_file='/b/test.txt', digest='d1'))]
    for i, (a, b) in enumerate(accepted + refused):
        runs = [load_run(make_run(tmp_path, f'{method}{i}', 0, [0.1],
                                  test_set=dict(dict(images=2), **test_set)))
                for method, test_set in (('taal', a), ('random', b))]
        if i < len(accepted):
            check_protocols(runs)
        else:
            with pytest.raises(ProtocolMismatch, match='differ in test_set'):
                check_protocols(runs)


def test_the_test_set_check_does_not_depend_on_the_runs_order(tmp_path):
    bridged = [dict(ann_file='/a/test.txt'), dict(ann_file='/a/test.txt', digest='d1'),
               dict(ann_file='/b/test.txt', digest='d1')]  # the middle run ties the others
    conflicting = [dict(ann_file='/a/test.txt'), dict(ann_file='/a/test.txt', digest='d1'),
                   dict(ann_file='/a/test.txt', digest='d2')]
    for name, sets in (('bridged', bridged), ('conflicting', conflicting)):
        runs = [load_run(make_run(tmp_path, f'{name}{i}', 0, [0.1],
                                  test_set=dict(images=2, **test_set)))
                for i, test_set in enumerate(sets)]
        for order in itertools.permutations(runs):
            if name == 'bridged':
                check_protocols(list(order))
            else:
                with pytest.raises(ProtocolMismatch, match=r'differ in test_set: \(2 images'):
                    check_protocols(list(order))
    for order in itertools.permutations([load_run(make_run(tmp_path, 'one', i, [0.1],
                                                           test_set=dict(images=2, **t)))
                                         for i, t in enumerate(bridged)]):
        check_protocols(list(order), vary=['test_set'])  # one method's seeds, bridged
    assert varied_settings(runs, ['test_set'])[0] == (
        'test_set: conflicting0 (2 images, ann_file /a/test.txt), conflicting1 (2 images, '
        'digest d1, ann_file /a/test.txt), conflicting2 (2 images, digest d2, '
        'ann_file /a/test.txt)')


def test_runs_without_a_test_set_match_only_each_other(tmp_path):
    def run(name, test_set):
        run = load_run(make_run(tmp_path, name, 0, [0.1]))
        run['meta']['test_set'] = test_set
        return run
    check_protocols([run('a', None), run('b', None)])
    for pair in ([run('c', None), run('d', dict(images=10))],
                 [run('e', dict(images=10)), run('f', None)]):
        with pytest.raises(ProtocolMismatch, match='differ in test_set'):
            check_protocols(pair)


@pytest.mark.parametrize('key, values, accepted', [
    ('score_context', [None, 'unlabelled', 'unlabelled'], True),  # None: an older run
    ('score_context', [None, 'unlabelled', 'training'], False),
    ('source_ratio', [None, [1, 1], [3, 1]], False),
    ('source_ratio', [None, [1, 1], [2, 2]], True),  # the same batches at any batch size
    ('source_ratio', [[2, 1], [4, 2], [3, 1]], False),
    ('source_ratio', [[0.5, 0.5], [1, 1], [2, 2]], True),
    ('source_ratio', [[3, 1], [0.75, 0.25], [1.5, 1]], False),
    ('source_ratio', [[1, 1], [0.25, 0.75]], False),
    ('detector', ['SSD', 'SSD(VGG, SSDNeck, SSDHead)', 'SSD(VGG, SSDNeck, SSDHead)'], True),
    ('detector', ['SSD', 'SSD(VGG, SSDNeck, SSDHead)', 'SSD(Lite0, SSDNeck, SSDHead)'], False),
    ('detector', ['SSD', 'SSD(VGG, SSDNeck, SSDHead)', 'FasterRCNN'], False)])
def test_a_setting_older_runs_record_less_of_is_checked_whatever_the_order(tmp_path, key,
                                                                           values, accepted):
    runs = []
    for i, value in enumerate(values):
        runs.append(load_run(make_run(tmp_path, f'm{i}', 0, [0.1])))
        runs[-1]['meta'][key] = value
    for order in itertools.permutations(runs):
        if accepted:
            check_protocols(list(order))
            assert varied_settings(list(order), [key]) == varied_settings(runs, [key])
        else:
            with pytest.raises(ProtocolMismatch, match=f'differ in {key}'):
                check_protocols(list(order))


def test_a_content_digest_tells_same_named_images_apart():
    def info(img_id, box=(1, 2, 3, 4), label=0):
        return dict(img_id=img_id, width=8, height=8,
                    instances=[dict(bbox=list(box), bbox_label=label)])
    digest = content_digest([info('a'), info('b')])
    assert content_digest([info('b'), info('a')]) == digest
    for other in ([info('a'), info('b', box=(1, 2, 3, 5))], [info('a'), info('b', label=1)],
                  [info('a'), info('c')]):
        assert content_digest(other) != digest
    assert content_digest([info('a'), info(None)]) is None


def test_a_test_set_is_recorded_with_its_absolute_annotation_file(tmp_path, monkeypatch):
    class Dataset(list):
        ann_file = 'data/test.txt'  # relative, as a config's data_root often gives it
        get_data_info = list.__getitem__
    dataset = Dataset([dict(img_id='a', width=8, height=8, instances=[])])
    runner = SimpleNamespace(val_loop=object(), val_dataloader=SimpleNamespace(dataset=dataset))
    monkeypatch.chdir(tmp_path)
    assert describe_test_set(runner) == dict(images=1, ann_file=str(tmp_path / 'data/test.txt'),
                                             digest=content_digest(dataset))
    Dataset.ann_file = 's3://bucket/test.json'  # remote: kept as it is
    assert describe_test_set(runner)['ann_file'] == 's3://bucket/test.json'
    assert describe_test_set(SimpleNamespace(val_loop=None)) is None


def test_per_run_table_lists_every_cycle():
    text = markdown_table([dict(cycle=0, labelled_images=5, mAP=0.25), dict(cycle=1, labelled_images=9, mAP=0.5)])
    assert text.splitlines()[0] == '| cycle | labelled_images | mAP |'
    assert text.splitlines()[3] == '| 1 | 9 | 0.5000 |'


def test_an_ablation_names_the_setting_its_methods_differ_in(tmp_path):
    runs = [make_run(tmp_path, 'taal', 0, [0.1, 0.3]),
            make_run(tmp_path, 'taal-warm', 0, [0.1, 0.2], warm_start=True),
            make_run(tmp_path, 'taal-warm', 1, [0.1, 0.4], warm_start=True, initial=('c', 'd')),
            make_run(tmp_path, 'taal', 1, [0.1, 0.3], initial=('c', 'd'))]
    with pytest.raises(SystemExit, match='differ in warm_start'):
        al_report.main(runs + ['--out', str(tmp_path / 'r')])
    al_report.main(runs + ['--out', str(tmp_path / 'r'), '--vary', 'warm_start',
                           '--reference', 'taal'])
    with open(tmp_path / 'r.md') as f:
        assert f.readline().startswith("Methods differ in warm_start: taal False, "
                                       "taal-warm True.")
    odd = make_run(tmp_path, 'taal', 2, [0.1, 0.3], warm_start=True, initial=('e', 'f'))
    with pytest.raises(ProtocolMismatch, match='differ in warm_start'):
        check_protocols([load_run(p) for p in runs + [odd]], vary=['warm_start'])
