"""A killed run resumes to the same result; two processes select what one selects."""
import json
import os
import signal
import socket
import subprocess
import sys
import time

from taal_testing import ROOT, tiny_al_cfg

AL_TRAIN = os.path.join(ROOT, 'tools', 'al_train.py')


def write_cfg(tmp_path, name, **kwargs):
    path = str(tmp_path / f'{name}.py')
    tiny_al_cfg(work_dir=None, **kwargs).dump(path)
    return path


def al_train(cfg, work, *extra, launcher=None, wait=True):
    cmd = [sys.executable, AL_TRAIN, cfg, '--work-dir', work, *extra]
    if launcher:
        with socket.socket() as s:
            s.bind(('127.0.0.1', 0))
            port = s.getsockname()[1]
        cmd = [sys.executable, '-m', 'torch.distributed.run', '--nproc_per_node=2',
               '--master_addr=127.0.0.1', f'--master_port={port}', AL_TRAIN, cfg,
               '--work-dir', work, '--launcher', launcher, *extra]
    env = dict(os.environ, OMP_NUM_THREADS='1', PYTHONPATH=ROOT)
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


def test_sigkilled_run_resumes_to_the_uninterrupted_result(scenes_root, tmp_path):
    cfg = write_cfg(tmp_path, 'resume', data_root=scenes_root, cycles=2, epochs_per_cycle=2)
    whole = str(tmp_path / 'whole')
    printed = al_train(cfg, whole)
    assert '| cycle | labelled_images |' in printed  # the per-cycle table
    killed = str(tmp_path / 'killed')
    proc = al_train(cfg, killed, wait=False)
    deadline = time.time() + 300
    while not os.path.exists(os.path.join(killed, 'epoch_2.pth')) and time.time() < deadline:
        assert proc.poll() is None, proc.stdout.read()[-3000:]
        time.sleep(0.02)
    os.kill(proc.pid, signal.SIGKILL)  # at the end of cycle 0: validation or selection
    proc.wait()
    assert not os.path.exists(os.path.join(killed, 'epoch_4.pth'))
    al_train(cfg, killed, '--resume')
    assert outcome(killed) == outcome(whole)


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
