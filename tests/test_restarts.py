"""Every cycle starts where training started: weights (unless warm_start), no optimizer
momentum, schedulers at their first step, the EMA average restarted, no gradient left;
and the schedule's milestones fire inside every cycle."""
import os
import re

import pytest
import torch
from mmengine.hooks import Hook
from mmengine.registry import HOOKS
from mmengine.runner import Runner

from taal_testing import cycle_schedules, scheduled_lrs, tiny_al_cfg

EPOCH_LENGTH = 3  # iterations of an epoch of a fixed-length cycle (the whole pool's: 6)


@HOOKS.register_module(force=True)
class CycleStartProbe(Hook):
    """Records the training state at every epoch start (after ActivePoolHook's restart)
    and the learning rate of every iteration."""

    priority = 'LOW'

    def __init__(self):
        self.starts, self.lrs = {}, []

    def before_train_epoch(self, runner):
        model = runner.model
        ema = next((h for h in runner.hooks if type(h).__name__ == 'EMAHook'), None)
        self.starts[runner.epoch] = dict(
            weights={k: v.clone() for k, v in model.state_dict().items()},
            momentum=len(runner.optim_wrapper.optimizer.state),
            lr=runner.optim_wrapper.get_lr()['lr'][0],
            steps=[s.last_step for s in runner.param_schedulers],
            grads=sum(float(p.grad.abs().sum()) for p in model.parameters()
                      if p.grad is not None),
            ema_steps=int(ema.ema_model.steps) if ema else None,
            ema_equal=all(torch.equal(a, b) for a, b in zip(
                ema.ema_model.module.state_dict().values(), model.state_dict().values()))
            if ema else None)

    def before_train_iter(self, runner, batch_idx, data_batch=None):
        self.lrs.append((runner.epoch, runner.optim_wrapper.get_lr()['lr'][0]))


def run_with_probe(cfg, param_scheduler=None):
    cfg.custom_hooks = cfg.custom_hooks + [dict(type='EMAHook', momentum=0.5),
                                           dict(type='CycleStartProbe')]
    cfg.param_scheduler = param_scheduler or [
        dict(type='LinearLR', start_factor=0.5, by_epoch=False, begin=0, end=2),
        dict(type='MultiStepLR', by_epoch=True, begin=0, end=2, milestones=[1], gamma=0.1)]
    runner = Runner.from_cfg(cfg)
    runner.train()
    probe = next(h for h in runner.hooks if isinstance(h, CycleStartProbe))
    return runner, probe


@pytest.mark.parametrize('warm_start', [False, True])
def test_every_cycle_restarts_optimizer_schedulers_ema_and_weights(warm_start, scenes_root,
                                                                    tmp_path):
    cfg = tiny_al_cfg(scenes_root, str(tmp_path), strategy='RandomStrategy', taal=False,
                      cycles=3, epochs_per_cycle=2, warm_start=warm_start)
    runner, probe = run_with_probe(cfg)
    initial = torch.load(os.path.join(str(tmp_path), 'pool', 'initial_state.pth'),
                         weights_only=True)['model']
    first = probe.starts[0]
    for epoch in (2, 4):  # cycle starts
        start = probe.starts[epoch]
        same = all(torch.equal(start['weights'][k], v) for k, v in initial.items())
        assert same != warm_start  # restored unless warm_start
        assert start['momentum'] == 0 and start['grads'] == 0
        assert start['lr'] == pytest.approx(first['lr']) and start['steps'] == first['steps']
        assert start['ema_steps'] == 0 and start['ema_equal']
    assert probe.starts[1]['momentum'] > 0  # mid-cycle, momentum does build up


def test_milestones_fire_inside_every_cycle(scenes_root, tmp_path):
    cfg = tiny_al_cfg(scenes_root, str(tmp_path), strategy='RandomStrategy', taal=False,
                      cycles=2, epochs_per_cycle=2)
    _, probe = run_with_probe(cfg)
    base = cfg.optim_wrapper.optimizer.lr
    for cycle in range(2):
        epochs = [lr for e, lr in probe.lrs if e // 2 == cycle]
        per_epoch = len(epochs) // 2
        assert epochs[0] == pytest.approx(base * 0.5)  # iteration warm-up restarts
        assert epochs[1] == pytest.approx(base)
        assert epochs[per_epoch] == pytest.approx(base * 0.1)  # the epoch-1 milestone


@pytest.mark.parametrize('name', ['MultiStepLR', 'CosineAnnealingLR'])
def test_converted_schedulers_run_inside_every_fixed_length_cycle(name, scenes_root, tmp_path):
    """Converted with the cycle's epoch length (not the whole pool's): every cycle follows
    the schedule written in iterations, and the saved training start holds it."""
    converted, in_iterations = cycle_schedules(EPOCH_LENGTH)[name]
    cfg = tiny_al_cfg(scenes_root, str(tmp_path), strategy='RandomStrategy', taal=False,
                      cycles=2, epochs_per_cycle=2, iters_per_cycle=2 * EPOCH_LENGTH)
    _, probe = run_with_probe(cfg, converted)
    expected, start = scheduled_lrs(in_iterations, cfg.optim_wrapper.optimizer.lr,
                                    2 * EPOCH_LENGTH)
    for cycle in range(2):
        assert [lr for e, lr in probe.lrs if e // 2 == cycle] == pytest.approx(expected)
    saved = torch.load(os.path.join(str(tmp_path), 'pool', 'initial_state.pth'),
                       weights_only=True)
    assert saved['schedulers'] == start


@pytest.mark.parametrize('iters_per_cycle, milestone, message', [
    (None, 1, "MultiStepLR has convert_to_iter_based=True, but epochs change length every "
              "cycle: set the hook's iters_per_cycle"),
    (2 * EPOCH_LENGTH, 3, f'MultiStepLR spans iterations up to {3 * EPOCH_LENGTH}, beyond a '
                          f'cycle of {2 * EPOCH_LENGTH} iterations'),
])
def test_converted_schedulers_need_fixed_length_cycles_and_must_fit_in_one(
        iters_per_cycle, milestone, message, scenes_root, tmp_path):
    cfg = tiny_al_cfg(scenes_root, str(tmp_path), strategy='RandomStrategy', taal=False,
                      epochs_per_cycle=2, iters_per_cycle=iters_per_cycle)
    cfg.param_scheduler = [dict(type='MultiStepLR', by_epoch=True, milestones=[milestone],
                                convert_to_iter_based=True)]
    with pytest.raises(ValueError, match=re.escape(message)):
        Runner.from_cfg(cfg).train()


@pytest.mark.parametrize('scheduler, message', [
    (dict(type='CosineAnnealingLR', by_epoch=True), 'CosineAnnealingLR spans epochs up to 4'),
    (dict(type='MultiStepLR', by_epoch=True, begin=1, milestones=[1]), None),
    (dict(type='MultiStepLR', by_epoch=True, begin=1, milestones=[2]),
     'MultiStepLR spans epochs up to 3'),
    (dict(type='MultiStepLR', by_epoch=True, end=2, milestones=[5]), None),
])
def test_a_schedule_is_checked_as_mmengine_built_it(scheduler, message, scenes_root, tmp_path):
    """No end: the run's length (4 epochs); milestones count from begin; a milestone
    after end never fires. Cycles are 2 epochs."""
    cfg = tiny_al_cfg(scenes_root, str(tmp_path), strategy='RandomStrategy', taal=False,
                      epochs_per_cycle=2, initial_size=20, budget=4)
    cfg.param_scheduler = [scheduler]
    if message is None:
        Runner.from_cfg(cfg).train()
    else:
        with pytest.raises(ValueError, match=message):
            Runner.from_cfg(cfg).train()


def test_a_batch_sampler_is_refused_for_taal_before_any_file_is_written(scenes_root, tmp_path):
    cfg = tiny_al_cfg(scenes_root, str(tmp_path))
    cfg.train_dataloader.batch_sampler = dict(type='AspectRatioBatchSampler')
    with pytest.raises(ValueError, match='AspectRatioBatchSampler would regroup'):
        Runner.from_cfg(cfg).train()
    assert not os.path.exists(os.path.join(str(tmp_path), 'pool'))
