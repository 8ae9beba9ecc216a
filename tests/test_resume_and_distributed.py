"""A killed run resumes to the same result; two processes select what one selects, with
the simulated oracle or a person's labels."""
import json
import os
import re
import signal
import socket
import subprocess
import sys

import pytest

from scripted_annotator import annotate_voc, voc_pool
from taal_testing import ROOT, cycle_schedules, scheduled_lrs, tiny_al_cfg

AL_TRAIN = os.path.join(ROOT, 'tools', 'al_train.py')


def write_cfg(tmp_path, name, **kwargs):
    path = str(tmp_path / f'{name}.py')
    tiny_al_cfg(work_dir=None, **kwargs).dump(path)
    return path


def al_train(cfg, work, *extra, launcher=None, wait=True, env=None):
    cmd = [sys.executable, AL_TRAIN, cfg, '--work-dir', work, *extra]
    if launcher:
        with socket.socket() as s:
            s.bind(('127.0.0.1', 0))
            port = s.getsockname()[1]
        cmd = [sys.executable, '-m', 'torch.distributed.run', '--nproc_per_node=2',
               '--master_addr=127.0.0.1', f'--master_port={port}', AL_TRAIN, cfg,
               '--work-dir', work, '--launcher', launcher, *extra]
    env = dict(os.environ, OMP_NUM_THREADS='1', **(env or {}),
               PYTHONPATH=os.pathsep.join([ROOT, os.path.join(ROOT, 'tests')]))
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                            env=env, cwd=ROOT)
    if not wait:
        return proc
    out, _ = proc.communicate(timeout=600)
    assert proc.returncode == 0, out[-3000:]
    return out


def outcome(work):
    with open(os.path.join(work, 'pool', 'state.json')) as f:
        state = json.load(f)
    with open(os.path.join(work, 'al_results.json')) as f:
        rows = json.load(f)['cycles']
    return state, [(r['cycle'], r['labelled_images'], r['labelled_boxes'], r['mAP']) for r in rows]


def killable_cfg(tmp_path, name, priority, cfg_options=None, **kwargs):
    """A tiny run with a checkpoint every epoch and a KillSwitch at ``priority``;
    ``cfg_options`` are merged into its config."""
    cfg = tiny_al_cfg(work_dir=None, **kwargs)
    cfg.merge_from_dict(cfg_options or {})
    cfg.custom_imports = dict(imports=['taal_det', 'kill_switch'])
    cfg.custom_hooks = cfg.custom_hooks + [dict(type='KillSwitch', priority=priority)]
    path = str(tmp_path / f'{name}.py')
    cfg.dump(path)
    return path


def checkpoints(work):
    """{epoch: file bytes} of the work dir's epoch checkpoints."""
    out = {}
    for name in os.listdir(work):
        match = re.fullmatch(r'epoch_(\d+)\.pth', name)
        if match:
            with open(os.path.join(work, name), 'rb') as f:
                out[int(match.group(1))] = f.read()
    return out


@pytest.mark.parametrize('point, priority, first_epoch, budget', [
    ('train_iter:1', 'NORMAL', 2, 4),    # mid-cycle (epoch_1.pth is the last checkpoint)
    ('epoch_start:2', 'HIGH', 3, 4),     # after cycle 0's checkpoint, before its selection
    ('epoch_start:2', 'LOW', 3, 4),      # just after the selection (split saved, not in ckpt)
    ('val_end:2', 'LOW', None, 20),      # the pool ran out at cycle 1: the run's last point
])
def test_sigkilled_run_resumes_to_the_uninterrupted_result(point, priority, first_epoch, budget,
                                                            scenes_root, tmp_path):
    cfg = killable_cfg(tmp_path, 'resume', priority, data_root=scenes_root, cycles=3 if
                       budget > 4 else 2, epochs_per_cycle=1 if budget > 4 else 2,
                       budget=budget)
    whole = str(tmp_path / 'whole')
    printed = al_train(cfg, whole)
    assert '| cycle | labelled_images |' in printed  # the per-cycle table
    killed = str(tmp_path / 'killed')
    proc = al_train(cfg, killed, wait=False, env=dict(TAAL_KILL_AT=point))
    out, _ = proc.communicate(timeout=600)
    assert proc.returncode == -signal.SIGKILL, out[-3000:]
    before = checkpoints(killed)
    al_train(cfg, killed, '--resume')
    assert outcome(killed) == outcome(whole)
    after = checkpoints(killed)  # it resumed: finished epochs were not trained again
    assert all(after[e] == data for e, data in before.items())
    assert sorted(set(after) - set(before)) == \
        ([] if first_epoch is None else list(range(first_epoch, 5)))


def logged_lrs(work):
    """[(iteration, learning rate)] logged by each process of a run, in process order."""
    runs = []
    for stamp in sorted(os.listdir(work)):
        path = os.path.join(work, stamp, 'vis_data', 'scalars.json')
        if os.path.isfile(path):
            with open(path) as f:
                rows = [json.loads(line) for line in f]
            runs.append([(row['step'], row['lr']) for row in rows if 'lr' in row])
    return runs


def test_a_converted_schedule_fires_in_every_cycle_across_kills(scenes_root, tmp_path):
    """Killed mid-cycle (epoch 1, whose first iteration is the milestone), resumed and
    killed again at cycle 1's start, resumed again: every iteration has the schedule's
    learning rate at its place in the cycle."""
    length, lr = 3, 0.01  # iterations per epoch of a cycle
    converted, in_iterations = cycle_schedules(length)['MultiStepLR']
    vis = dict(type='Visualizer', vis_backends=[dict(type='LocalVisBackend')])
    cfg = killable_cfg(tmp_path, 'schedule', 'NORMAL', data_root=scenes_root, taal=False,
                       strategy='RandomStrategy', cycles=2, epochs_per_cycle=2,
                       iters_per_cycle=2 * length, lr=lr,
                       cfg_options=dict(param_scheduler=converted, visualizer=vis))
    work = str(tmp_path / 'work')
    for kill_at, extra in (('train_iter:1', []), ('epoch_start:2', ['--resume'])):
        proc = al_train(cfg, work, *extra, wait=False, env=dict(TAAL_KILL_AT=kill_at))
        out, _ = proc.communicate(timeout=600)
        assert proc.returncode == -signal.SIGKILL, out[-3000:]
    al_train(cfg, work, '--resume')
    runs = logged_lrs(work)
    # each process went on from the last checkpoint: epoch 1, then cycle 1
    assert [[i for i, _ in run] for run in runs] == [
        list(range(1, length + 1)), list(range(length + 1, 2 * length + 1)),
        list(range(2 * length + 1, 4 * length + 1))]
    expected, _ = scheduled_lrs(in_iterations, lr, 2 * length)
    assert [rate for run in runs for _, rate in run] == pytest.approx(expected * 2)


def test_two_processes_select_the_same_split_as_one(scenes_root, tmp_path):
    # lr 0 and frozen BN statistics: both runs keep the same model, so any difference
    # would come from sharded scoring, gathering or broadcasting the selection.
    cfg = write_cfg(tmp_path, 'dist', data_root=scenes_root, cycles=3, lr=0.0, frozen_bn=True)
    one, two = str(tmp_path / 'one'), str(tmp_path / 'two')
    al_train(cfg, one)
    al_train(cfg, two, launcher='pytorch')
    state_one, state_two = outcome(one)[0], outcome(two)[0]
    assert len(state_two['history']) == 3
    assert state_one['labelled'] == state_two['labelled']
    assert state_one['history'] == state_two['history']  # same ids and same scores


def test_two_processes_with_a_person_as_oracle_end_as_one_process_simulating(scenes_root,
                                                                             tmp_path):
    # As above, lr 0 and frozen BN: the queries are the simulation's picks, both processes
    # stop after each (one that went on would find no checked labels) and resume, and the
    # run ends with the simulation's split, picks, scores and per-cycle rows.
    simulated, work = str(tmp_path / 'simulated'), str(tmp_path / 'work')
    al_train(write_cfg(tmp_path, 'simulated', data_root=scenes_root, cycles=3, lr=0.0,
                       frozen_bn=True), simulated)
    initial = os.path.join(simulated, 'pool', 'initial.json')
    with open(initial) as f:
        pool = voc_pool(scenes_root, str(tmp_path / 'pool'), json.load(f)['ids'])
    cfg = tiny_al_cfg(scenes_root, None, cycles=3, lr=0.0, frozen_bn=True, oracle='files',
                      initial_split=initial)
    cfg.train_dataloader.dataset.update(type='PartlyAnnotatedVOCDataset', data_root=pool)
    cfg.dump(str(tmp_path / 'files.py'))
    printed = al_train(str(tmp_path / 'files.py'), work, launcher='pytorch')
    state, rows = outcome(simulated)
    history = state['history']
    for cycle in (1, 2):
        assert printed.rstrip().endswith('run the same command again with --resume')
        with open(os.path.join(work, 'query', f'cycle_{cycle}', 'ids.txt')) as f:
            ids = f.read().split()
        assert ids == history[cycle]['added']
        annotate_voc(scenes_root, pool, ids)
        printed = al_train(str(tmp_path / 'files.py'), work, '--resume', launcher='pytorch')
    files_state, files_rows = outcome(work)
    assert (files_state['labelled'], files_state['history'], files_rows) == \
        (state['labelled'], state['history'], rows)


def test_fork_continues_another_runs_cycle_0_without_training_it_again(scenes_root, tmp_path):
    cfg = write_cfg(tmp_path, 'fork', data_root=scenes_root, cycles=2, taal=False,
                    strategy='RandomStrategy')
    source, fork = str(tmp_path / 'random'), str(tmp_path / 'coreset')
    al_train(cfg, source, '--strategy', 'random')
    al_train(cfg, fork, '--strategy', 'coreset', '--fork', source)
    (state_s, rows_s), (state_f, rows_f) = outcome(source), outcome(fork)
    assert rows_f[0] == rows_s[0]  # the same cycle-0 model, validated again
    assert state_f['history'][0] == state_s['history'][0]
    assert state_f['history'][1]['added'] != state_s['history'][1]['added']  # its own picks
    with open(os.path.join(fork, 'al_results.json')) as f:
        assert {r['strategy'] for r in json.load(f)['cycles']} == {'coreset'}
    # Cycle 0 was not trained again: a re-saved checkpoint would differ (its meta time).
    with open(os.path.join(fork, 'epoch_1.pth'), 'rb') as a, \
            open(os.path.join(source, 'epoch_1.pth'), 'rb') as b:
        assert a.read() == b.read()
    # After a selection, resuming with another rule is refused (the fork above was at
    # cycle 0, before any selection).
    cmd = [sys.executable, AL_TRAIN, cfg, '--work-dir', str(tmp_path / 'switched'),
           '--strategy', 'coreset', '--resume', os.path.join(source, 'epoch_2.pth')]
    done = subprocess.run(cmd, capture_output=True, text=True, cwd=ROOT,
                          env=dict(os.environ, PYTHONPATH=ROOT, OMP_NUM_THREADS='1'))
    assert done.returncode and 'the resumed run selected with RandomStrategy' in done.stderr, \
        done.stderr[-2000:]


def test_fork_refuses_a_run_of_another_model_or_seed(scenes_root, tmp_path):
    bare = write_cfg(tmp_path, 'bare', data_root=scenes_root, cycles=2, taal=False,
                     strategy='RandomStrategy')
    source = str(tmp_path / 'random')
    al_train(bare, source, '--strategy', 'random')
    taal = write_cfg(tmp_path, 'taal', data_root=scenes_root, cycles=2)
    for cfg, extra, message in ((taal, ['--strategy', 'taal-random'],
                                 "model='SingleStageDetector'"),
                                (bare, ['--strategy', 'coreset', '--seed', '3'], 'seed=0')):
        cmd = [sys.executable, AL_TRAIN, cfg, '--work-dir', str(tmp_path / 'fork'),
               '--fork', source, *extra]
        done = subprocess.run(cmd, capture_output=True, text=True, cwd=ROOT,
                              env=dict(os.environ, PYTHONPATH=ROOT))
        assert done.returncode and message in done.stderr, done.stderr[-2000:]
