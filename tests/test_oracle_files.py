"""A person as the oracle (ActivePoolHook(oracle='files')) on the trees data: each cycle
ends with a query and a stop, a scripted annotator copies the hidden true labels of
exactly the queried images into place as Label Studio exports them, and --resume
continues. With the same seed the run ends exactly as the simulation does."""
import json
import os
import shutil
import subprocess
import sys

import pytest
from mmdet.datasets import CocoDataset, VOCDataset

from scripted_annotator import annotate_coco, annotate_voc, coco_pool, uploaded, voc_pool
from taal_det.datasets import PartlyAnnotatedCocoDataset, PartlyAnnotatedVOCDataset
from taal_det.demo_data.coco import write_coco
from taal_testing import ROOT, tiny_al_cfg

CYCLES = 3
TIMING = ('train_seconds', 'selection_seconds', 'health_seconds')
QUERY_FILES = {'ids.txt', 'query.csv', 'label_studio_tasks.json', 'contact_sheet.png',
               'query_state.json'}


@pytest.fixture(scope='module')
def truth(trees_root, tmp_path_factory):
    """The trees data, fully annotated, with a pool of every third trainval image
    (ImageSets/Main/pool.txt, and as COCO JSON: annotations/pool.json) and six test images
    (ImageSets/Main/val.txt)."""
    root = str(tmp_path_factory.mktemp('truth') / 'trees')
    shutil.copytree(trees_root, root)
    for split, name, ids in (('trainval', 'pool', slice(None, None, 3)),
                             ('test', 'val', slice(6))):
        with open(os.path.join(root, 'ImageSets', 'Main', f'{split}.txt')) as f:
            kept = f.read().split()[ids]
        with open(os.path.join(root, 'ImageSets', 'Main', f'{name}.txt'), 'w') as f:
            f.write(''.join(i + '\n' for i in kept))
    write_coco(root, 'pool', ('Tree',), os.path.join(root, 'annotations', 'pool.json'))
    return root


def trees_cfg(work, truth_root, pool=None, cycles=CYCLES, **hook):
    """TAAL (or another strategy) on the trees pool, tiny: 5 initial images, +4 a cycle,
    one epoch a cycle, 64 px."""
    cfg = tiny_al_cfg(truth_root, work, cycles=cycles, budget=4, initial_size=5, **hook)
    cfg.model.get('detector', cfg.model).bbox_head.num_classes = 1
    for loader in (cfg.train_dataloader, cfg.val_dataloader):
        loader.dataset.metainfo = dict(classes=('Tree',))
    cfg.train_dataloader.dataset.ann_file = 'ImageSets/Main/pool.txt'
    cfg.val_dataloader.dataset.ann_file = 'ImageSets/Main/val.txt'
    if pool:
        cfg.train_dataloader.dataset.update(pool)
    return cfg


def al_train(cfg, work, *extra, refused=False, env=None):
    """Run tools/al_train.py (one thread, as every run compared here); its output."""
    path = os.path.join(os.path.dirname(work), os.path.basename(work) + '_cfg.py')
    cfg.dump(path)
    env = dict(os.environ, **(env or {}), OMP_NUM_THREADS='1',
               PYTHONPATH=os.pathsep.join([ROOT, os.path.join(ROOT, 'tests')]))
    done = subprocess.run([sys.executable, os.path.join(ROOT, 'tools', 'al_train.py'), path,
                           '--work-dir', work, *extra], capture_output=True, text=True,
                          cwd=ROOT, env=env)
    assert bool(done.returncode) == refused, done.stdout[-3000:] + done.stderr[-3000:]
    return done.stdout + done.stderr


def read(work, name):
    with open(os.path.join(work, name)) as f:
        return json.load(f)


def query_ids(work, cycle):
    with open(os.path.join(work, 'query', f'cycle_{cycle}', 'ids.txt')) as f:
        return f.read().split()


def outcome(work):
    """The split, its history and the per-cycle rows without their timing columns."""
    state = read(work, 'pool/state.json')
    rows = [{k: v for k, v in r.items() if k not in TIMING}
            for r in read(work, 'al_results.json')['cycles']]
    return state['labelled'], state['history'], rows


def snapshot(work):
    """{path: bytes} of what a run keeps: split, query, checkpoints, results."""
    out = {}
    for folder, _, files in os.walk(work):
        top = os.path.relpath(folder, work).split(os.sep)[0]
        for name in files:
            if top in ('pool', 'query') or top == '.' and (
                    name.endswith(('.pth', '.csv', '.json')) or name == 'last_checkpoint'):
                with open(os.path.join(folder, name), 'rb') as f:
                    out[os.path.relpath(os.path.join(folder, name), work)] = f.read()
    return out


@pytest.fixture(scope='module')
def simulated(truth, tmp_path_factory):
    """The simulation: the same run with every annotation there from the start."""
    work = str(tmp_path_factory.mktemp('simulated') / 'work')
    al_train(trees_cfg(work, truth), work)
    return work


def test_voc_round_trip_ends_as_the_simulation(simulated, truth, tmp_path):
    initial = read(simulated, 'pool/initial.json')['ids']
    pool = voc_pool(truth, str(tmp_path / 'pool'), initial)
    work = str(tmp_path / 'work')
    cfg = trees_cfg(work, truth, oracle='files',
                    initial_split=os.path.join(simulated, 'pool', 'initial.json'),
                    pool=dict(type='PartlyAnnotatedVOCDataset', data_root=pool,
                              filter_cfg=dict(filter_empty_gt=True)))
    printed = al_train(cfg, work)
    history = read(simulated, 'pool/state.json')['history']
    for cycle in range(1, CYCLES):
        folder = os.path.join(work, 'query', f'cycle_{cycle}')
        assert set(os.listdir(folder)) == QUERY_FILES
        ids = query_ids(work, cycle)
        assert ids == history[cycle]['added']  # the simulation's picks, in its order
        tasks = read(work, f'query/cycle_{cycle}/label_studio_tasks.json')
        assert [t['data']['img_id'] for t in tasks] == ids
        assert len(read(work, 'al_results.json')['cycles']) == cycle  # stopped after it
        assert f"put the XML files into {os.path.join(pool, 'Annotations')}/" in printed
        assert printed.rstrip().endswith('run the same command again with --resume')
        if cycle == 1:  # a new run, then one queried image unlabelled: refused, no change
            annotate_voc(truth, pool, ids[1:])
            before = snapshot(work)
            assert 'holds the queries of an earlier run: continue it with --resume' in \
                al_train(cfg, work, refused=True)
            printed = al_train(cfg, work, '--resume', refused=True)
            assert f'no annotation for 1 of 4 images queried: {ids[0]} (an image without ' \
                'objects needs an empty annotation' in printed
            assert snapshot(work) == before
        annotate_voc(truth, pool, ids)
        printed = al_train(cfg, work, '--resume')
    assert not os.path.exists(os.path.join(work, 'query', f'cycle_{CYCLES}'))
    assert outcome(work) == outcome(simulated)
    assert len(os.listdir(os.path.join(pool, 'Annotations'))) == 5 + 4 * (CYCLES - 1)
    assert uploaded(history[1]['added'][0]) + '.xml' in os.listdir(os.path.join(pool,
                                                                                'Annotations'))


def test_a_run_killed_before_its_query_writes_it_on_resume(simulated, truth, tmp_path):
    pool = voc_pool(truth, str(tmp_path / 'pool'), read(simulated, 'pool/initial.json')['ids'])
    work = str(tmp_path / 'work')
    cfg = trees_cfg(work, truth, oracle='files',
                    initial_split=os.path.join(simulated, 'pool', 'initial.json'),
                    pool=dict(type='PartlyAnnotatedVOCDataset', data_root=pool))
    cfg.custom_imports = dict(imports=['taal_det', 'kill_switch'])
    cfg.custom_hooks = cfg.custom_hooks + [dict(type='KillSwitch', priority='HIGH')]
    al_train(cfg, work, refused=True, env=dict(TAAL_KILL_AT='val_end:1'))  # before the hook
    assert os.path.isfile(os.path.join(work, 'epoch_1.pth'))
    assert not os.path.exists(os.path.join(work, 'query'))
    printed = al_train(cfg, work, '--resume')  # validates cycle 0 again, then queries
    assert printed.rstrip().endswith('run the same command again with --resume')
    assert query_ids(work, 1) == read(simulated, 'pool/state.json')['history'][1]['added']
    assert outcome(work)[2] == outcome(simulated)[2][:1]


def test_coco_round_trip_through_al_train_ends_as_the_simulation(truth, tmp_path):
    # a bare detector and its own uncertainty this time; the labels come as one COCO
    # export per query, laid out as Label Studio's converter writes it
    kwargs = dict(cycles=2, taal=False, strategy='TopScoreUncertaintyStrategy')
    coco = dict(type='CocoDataset', data_root=truth, ann_file='annotations/pool.json',
                data_prefix=dict(img=''))
    simulated = str(tmp_path / 'simulated')
    al_train(trees_cfg(simulated, truth, pool=coco, **kwargs), simulated)
    pool_json, labels = str(tmp_path / 'pool.json'), str(tmp_path / 'labels')
    truth_json = os.path.join(truth, 'annotations', 'pool.json')
    annotated = coco_pool(truth_json, pool_json, read(simulated, 'pool/initial.json')['ids'])
    work = str(tmp_path / 'work')
    cfg = trees_cfg(work, truth, oracle='files', **kwargs,
                    initial_split=os.path.join(simulated, 'pool', 'initial.json'),
                    pool=dict(coco, type='PartlyAnnotatedCocoDataset', ann_file=pool_json,
                              labels_dir=labels, annotated_ids=annotated))
    printed = al_train(cfg, work)
    assert f'save it as {labels}/cycle_1.json' in printed
    assert printed.rstrip().endswith('run the same command again with --resume')
    ids = query_ids(work, 1)
    assert ids == read(simulated, 'pool/state.json')['history'][1]['added']
    annotate_coco(truth_json, labels, ids, 'cycle_1.json')
    al_train(cfg, work, '--resume')
    assert outcome(work) == outcome(simulated)


def dataset(cls, root, **kwargs):
    kwargs.setdefault('ann_file', 'ImageSets/Main/trainval.txt')
    kwargs.setdefault('data_prefix', dict(sub_data_root=''))
    return cls(data_root=root, metainfo=dict(classes=('Tree',)), pipeline=[], **kwargs)


def infos(ds):
    return {str(ds.get_data_info(i)['img_id']): ds.get_data_info(i) for i in range(len(ds))}


def test_voc_pool_keeps_every_image_and_reads_label_studio_files(truth, tmp_path):
    full = infos(dataset(VOCDataset, truth))
    ids = sorted(full)
    empty = next(i for i in ids if not full[i]['instances'])  # a tile without trees
    boxed = [i for i in ids if full[i]['instances']]
    plain, exported, renamed = boxed[:3], [boxed[3], empty], boxed[4]
    pool = voc_pool(truth, str(tmp_path / 'pool'), plain)
    annotate_voc(truth, pool, exported + [renamed])
    xml = os.path.join(pool, 'Annotations', f'{uploaded(renamed)}.xml')
    with open(xml) as f:
        text = f.read().replace('<name>Tree</name>', '<name>tree</name>')
    with open(xml, 'w') as f:
        f.write(text)
    got = infos(dataset(PartlyAnnotatedVOCDataset, pool, filter_cfg=dict(filter_empty_gt=True)))
    assert sorted(got) == ids  # unannotated and empty images kept
    assert {i for i in ids if got[i]['annotated']} == set(plain + exported + [renamed])
    for i in ids:
        assert (got[i]['width'], got[i]['height']) == (full[i]['width'], full[i]['height'])
        assert got[i]['instances'] == (full[i]['instances'] if got[i]['annotated'] and
                                       i != renamed else [])
    assert got[empty]['annotated'] and got[empty]['label_digest']  # no objects, labelled
    assert got[renamed]['unknown_classes'] == ['tree'] and got[boxed[3]]['unknown_classes'] == []
    # the same labels under their own names in mmdet's layout: the same fingerprints
    again = infos(dataset(PartlyAnnotatedVOCDataset,
                          voc_pool(truth, str(tmp_path / 'plain'), plain + exported)))
    assert all(again[i]['label_digest'] == got[i]['label_digest'] for i in plain + exported)
    assert not again[renamed]['annotated'] and again[renamed]['label_digest'] is None


def test_coco_pool_tells_labelled_without_objects_from_not_labelled_yet(truth, tmp_path):
    truth_json = str(tmp_path / 'trainval.json')
    write_coco(truth, 'trainval', ('Tree',), truth_json)
    coco = dict(data_prefix=dict(img=''))
    full = infos(dataset(CocoDataset, truth, ann_file=truth_json, **coco))
    ids = sorted(full, key=int)
    empties = [i for i in ids if not full[i]['instances']]
    boxed = [i for i in ids if full[i]['instances']]
    initial, exported = [boxed[0], empties[0]], [boxed[1], empties[1]]
    pool_json, labels = str(tmp_path / 'pool.json'), str(tmp_path / 'labels')
    listed = coco_pool(truth_json, pool_json, initial)
    annotate_coco(truth_json, labels, exported, 'cycle_1.json')
    got = infos(dataset(PartlyAnnotatedCocoDataset, truth, ann_file=pool_json, **coco,
                        labels_dir=labels, annotated_ids=listed,
                        filter_cfg=dict(filter_empty_gt=True)))
    assert sorted(got, key=int) == ids
    assert {i for i in ids if got[i]['annotated']} == set(initial + exported)
    for i in ids:
        assert got[i]['instances'] == (full[i]['instances'] if got[i]['annotated'] else [])
    without_list = infos(dataset(PartlyAnnotatedCocoDataset, truth, ann_file=pool_json, **coco,
                                 labels_dir=labels))
    assert not without_list[empties[0]]['annotated']  # no boxes, not listed: not labelled yet
    assert without_list[empties[1]]['annotated']  # in an export without boxes: labelled


@pytest.mark.parametrize('pool, checkpoint, message', [
    ('VOCDataset', 1, "oracle='files' needs a pool that tells unannotated images apart: use "
     'PartlyAnnotatedVOCDataset or PartlyAnnotatedCocoDataset instead of VOCDataset'),
    ('PartlyAnnotatedVOCDataset', 2, "oracle='files' resumes from the checkpoint of a "
     "cycle's end: set default_hooks.checkpoint=dict.type='CheckpointHook', interval=N. with "
     'N dividing epochs_per_cycle=1'),
])
def test_a_pool_or_schedule_the_file_oracle_cannot_serve_is_refused(pool, checkpoint, message,
                                                                     truth, tmp_path):
    from mmengine.runner import Runner
    work = str(tmp_path / 'work')
    cfg = trees_cfg(work, truth, oracle='files', pool=dict(type=pool))
    cfg.default_hooks.checkpoint.interval = checkpoint
    with pytest.raises(ValueError, match=message):
        Runner.from_cfg(cfg).train()
    assert not os.path.exists(os.path.join(work, 'pool'))


def test_an_initial_split_must_list_exactly_the_annotated_images(tmp_path):
    from taal_det.hooks.oracle import FileOracle
    oracle = FileOracle()
    oracle.labels = {'a': ('d1', []), 'b': ('d2', [])}  # what start() reads of the pool
    oracle.folder = str(tmp_path / 'query')
    assert oracle.initial_ids(None, ['a', 'b', 'c']) == ['a', 'b']
    split = tmp_path / 'split.txt'
    split.write_text('b\na\n')
    assert oracle.initial_ids(str(split), ['a', 'b', 'c']) == ['b', 'a']  # its order
    split.write_text('a\nc\n')
    with pytest.raises(ValueError, match='must list exactly the 2 annotated pool images: '
                       'listed without annotation: c; annotated, not listed: b'):
        oracle.initial_ids(str(split), ['a', 'b', 'c'])


def test_resume_keeps_the_checked_answer_and_the_row_or_refuses_in_one_line(tmp_path):
    from taal_det.hooks.oracle import STATE, FileOracle
    from taal_det.pool import PoolState
    pool = PoolState(['a', 'b', 'c', 'd'])
    pool.init_from_ids(['a'])
    row = dict(cycle=0, labelled_images=1, mAP=0.5)
    folder = tmp_path / 'query' / 'cycle_1'
    folder.mkdir(parents=True)
    (folder / STATE).write_text(json.dumps(dict(cycle=1, ids=['c', 'b'], scores=None,
                                                selection_seconds=1.5, row=row,
                                                labelled={'a': 'da'})))

    def resumed(labels, **kwargs):
        oracle = FileOracle(**kwargs)
        oracle.folder, oracle.labels = str(tmp_path / 'query'), labels  # as start() reads
        return oracle, oracle.resume(pool, [], {'a': 'da'}, at_cycle_end=True)

    oracle, rows = resumed({'a': ('da', []), 'b': ('db', []), 'c': ('dc', [])})
    assert rows == [row] and oracle.answered(1) and oracle.take() == (['c', 'b'], None, 1.5)
    changed = {'a': ('new', []), 'b': ('db', []), 'c': ('dc', [])}
    assert resumed(changed, allow_corrections=True)[0].answered(1)
    with pytest.raises(ValueError) as info:
        resumed(changed)
    assert str(info.value) == (
        f'ActivePoolHook: the labels for {folder} are not complete: annotations of 1 image of '
        "the labelled set changed: a (restore them, or set the hook's allow_corrections=True to "
        'accept corrections). Fix them and run the same command with --resume again (the '
        'query, the split and the checkpoint are unchanged)')
    pool = PoolState(['a', 'b', 'c', 'd'])  # a checkpoint of another split than the query's
    pool.init_from_ids(['d'])
    with pytest.raises(ValueError, match='was written for another labelled set than the '
                       "checkpoint's; remove the folder to query again"):
        resumed({'d': ('dd', [])})


def test_a_resume_inside_a_cycle_checks_the_labelled_images_against_the_checkpoint(tmp_path):
    from taal_det.hooks.oracle import FileOracle
    from taal_det.pool import PoolState
    pool = PoolState(['a', 'b', 'c'])
    pool.init_from_ids(['a', 'b'])

    def resumed(labels, **kwargs):
        oracle = FileOracle(**kwargs)
        oracle.folder, oracle.labels = str(tmp_path / 'query'), labels  # as start() reads
        return oracle.resume(pool, ['row'], {'a': 'da', 'b': 'db'}, at_cycle_end=False)

    assert resumed({'a': ('da', []), 'b': ('db', [])}) == ['row']
    assert resumed({'a': ('new', []), 'b': ('db', [])}, allow_corrections=True) == ['row']
    with pytest.raises(ValueError, match='the labels of the labelled images are not complete: '
                       'annotations removed for 1 image of the labelled set: b; annotations '
                       'of 1 image of the labelled set changed: a'):
        resumed({'a': ('new', [])})


@pytest.mark.parametrize('change, message', [
    (dict(val_dataloader=None, val_cfg=None, val_evaluator=None),
     "oracle='files' writes each query after the cycle's validation"),
    (dict(default_hooks=dict(checkpoint=dict(save_begin=2))),
     r"oracle='files' resumes from the checkpoint of a cycle's end: .* \(and save_begin 0\)"),
])
def test_a_run_without_a_validation_or_a_checkpoint_at_each_cycle_end_is_refused(
        change, message, truth, tmp_path):
    from mmengine.runner import Runner
    work = str(tmp_path / 'work')
    cfg = trees_cfg(work, truth, oracle='files', pool=dict(type='PartlyAnnotatedVOCDataset'))
    cfg.merge_from_dict(change)
    with pytest.raises(ValueError, match=message):
        Runner.from_cfg(cfg).train()
    assert not os.path.exists(os.path.join(work, 'query'))


def test_coco_pool_images_of_one_file_name_are_refused_only_when_an_export_names_them(
        truth, tmp_path):
    from taal_det.labels import LabelError
    truth_json = str(tmp_path / 'trainval.json')
    write_coco(truth, 'trainval', ('Tree',), truth_json)
    with open(truth_json) as f:
        data = json.load(f)
    twin = dict(data['images'][1], id=max(i['id'] for i in data['images']) + 1,
                file_name='other/' + os.path.basename(data['images'][1]['file_name']))
    data['images'].append(twin)  # the same file name in another folder
    with open(truth_json, 'w') as f:
        json.dump(data, f)
    pool_json, labels = str(tmp_path / 'pool.json'), str(tmp_path / 'labels')
    coco_pool(truth_json, pool_json, [data['images'][0]['id']])
    coco = dict(ann_file=pool_json, data_prefix=dict(img=''), labels_dir=labels)
    assert len(infos(dataset(PartlyAnnotatedCocoDataset, truth, **coco))) == len(data['images'])
    annotate_coco(truth_json, labels, [str(data['images'][1]['id'])], 'cycle_1.json')
    with pytest.raises(LabelError, match=f"have the same file name "
                       f"{os.path.splitext(os.path.basename(twin['file_name']))[0]}; the "
                       'export of .* cannot be matched to one of them'):
        infos(dataset(PartlyAnnotatedCocoDataset, truth, **coco))
