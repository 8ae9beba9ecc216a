"""What a stock mmdet config brings that active-learning cycles must handle, checked
before any training: the pool behind dataset wrappers, the train loop, the parameter
schedulers, hooks that switch at absolute epochs, and the user's batch sampler. Each
refusal is one line naming what is unsupported and what to change."""
from mmengine.dataset import ClassBalancedDataset, ConcatDataset, RepeatDataset
from mmengine.runner import EpochBasedTrainLoop
from mmdet.datasets import MultiImageMixDataset

from taal_det.datasets import ActivePoolDataset
from .errors import refuse
from .restart import param_schedulers

ABSOLUTE_EPOCH_HOOKS = ('PipelineSwitchHook', 'YOLOXModeSwitchHook')


def pool_parts(dataset):
    """The datasets a pool concatenates (the pool itself if it concatenates none)."""
    if isinstance(dataset, ConcatDataset):
        return [p for d in dataset.datasets for p in pool_parts(d)]
    return [dataset]


def _check_parts(dataset):
    for part in pool_parts(dataset):
        if isinstance(part, ClassBalancedDataset):
            refuse('ClassBalancedDataset repeats images by the labels of the whole pool, '
                   'unlabelled images included; remove it from train_dataloader.dataset')
        if isinstance(part, MultiImageMixDataset):
            refuse('MultiImageMixDataset pastes random pool images, unlabelled ones and their '
                   'boxes included; remove it (and its mosaic / mix-up transforms)')
        if isinstance(part, RepeatDataset):  # the outer ones are unwrapped
            refuse('a RepeatDataset inside the ConcatDataset repeats image ids; '
                   'remove it (the hook sets what an epoch is)')


def pool_dataset(dataset):
    """The pool behind the train dataset: ActivePoolDataset and RepeatDataset unwrapped
    (the hook sets what an epoch is), wrappers that would read unlabelled images'
    annotations refused."""
    while isinstance(dataset, (ActivePoolDataset, RepeatDataset)):
        dataset = dataset.dataset
    _check_parts(dataset)
    return dataset


def check_train_loop(runner):
    if not isinstance(runner.train_loop, EpochBasedTrainLoop):
        refuse(f'{type(runner.train_loop).__name__} is not supported: use '
               "train_cfg=dict(type='EpochBasedTrainLoop', max_epochs=CYCLES * EPOCHS) and the "
               "hook's iters_per_cycle for a fixed number of iterations per cycle")


def check_hooks(runner):
    for hook in runner.hooks:
        if type(hook).__name__ in ABSOLUTE_EPOCH_HOOKS:
            refuse(f'{type(hook).__name__} switches the pipeline at an absolute epoch, which '
                   'restarting cycles do not keep; remove it from custom_hooks')


def _converted(cfg):
    schedulers = cfg.get('param_scheduler') or []
    schedulers = schedulers if isinstance(schedulers, list) else [schedulers]
    return [s.get('type') for s in schedulers
            if isinstance(s, dict) and s.get('convert_to_iter_based')]


def _last_step(scheduler):
    """The last epoch (or iteration) at which a built scheduler changes the value:
    milestones and T_max count from ``begin``; nothing changes after ``end``."""
    parts = [scheduler.begin + max(m) for m in [getattr(scheduler, 'milestones', None)] if m]
    if getattr(scheduler, 'T_max', None):
        parts.append(scheduler.begin + scheduler.T_max)
    return min(scheduler.end, max(parts)) if parts else scheduler.end


def convert_schedulers(runner, cycles, epochs_per_cycle, iters_per_cycle):
    """With ``iters_per_cycle``, rebuild the parameter schedulers with the Runner's own
    builder so that ``convert_to_iter_based`` ones are converted with a cycle's epoch
    length (the Runner converted them with the whole pool's). Called in before_run, before
    load_or_resume restores their state. Each scheduled value is first set back to where
    the first build started, so that its first step (a warm-up factor) is not applied
    twice."""
    loop, converted = runner.train_loop, _converted(runner.cfg)
    if not (iters_per_cycle and converted and isinstance(loop, EpochBasedTrainLoop)):
        return
    epochs = cycle_epochs(loop, cycles, epochs_per_cycle)
    if not epochs or iters_per_cycle % epochs:
        return  # refused in before_train (set_cycle_schedule)
    for scheduler in param_schedulers(runner):
        for group in scheduler.optimizer.param_groups:
            group[scheduler.param_name] = group[f'initial_{scheduler.param_name}']
            if getattr(scheduler, 'use_betas', False):  # Adam's momentum is betas[0]
                group['betas'] = (group['momentum'], group['betas'][1])
    loader, loop.dataloader = loop.dataloader, range(iters_per_cycle // epochs)
    try:  # the Runner converts with len(train_dataloader)
        runner.param_schedulers = runner.build_param_scheduler(runner.cfg.param_scheduler)
    finally:
        loop.dataloader = loader
    runner.logger.info(f'active learning: {", ".join(converted)} converted with epochs of '
                       f'{iters_per_cycle // epochs} iterations (iters_per_cycle)')


def cycle_epochs(loop, cycles, epochs_per_cycle):
    """``epochs_per_cycle``, by default ``max_epochs // cycles`` of the train loop."""
    if epochs_per_cycle is not None:
        return epochs_per_cycle
    if loop.max_epochs % cycles:
        raise ValueError(f'max_epochs={loop.max_epochs} is not a multiple of '
                         f'cycles={cycles}; set epochs_per_cycle')
    return loop.max_epochs // cycles


def set_cycle_schedule(runner, cycles, epochs_per_cycle, iters_per_cycle):
    """Fit the train loop to ``cycles`` cycles of ``epochs_per_cycle`` epochs (default
    ``max_epochs // cycles``), validating at cycle ends only; return epochs_per_cycle."""
    loop = runner.train_loop
    epochs_per_cycle = cycle_epochs(loop, cycles, epochs_per_cycle)
    if iters_per_cycle and iters_per_cycle % epochs_per_cycle:
        refuse(f'iters_per_cycle={iters_per_cycle} is not a multiple of '
               f'epochs_per_cycle={epochs_per_cycle}')
    loop._max_epochs = cycles * epochs_per_cycle
    # The loop resets val_interval from its dynamic intervals after every epoch, so those
    # are set too.
    loop.val_interval, loop.dynamic_milestones = epochs_per_cycle, [0]
    loop.dynamic_intervals = [epochs_per_cycle]
    check_schedulers(runner, epochs_per_cycle, iters_per_cycle)
    return epochs_per_cycle


def check_schedulers(runner, epochs_per_cycle, iters_per_cycle):
    """Every scheduler restarts each cycle, so its span must fit in one cycle. The built
    schedulers are read (mmengine fills a missing ``end`` with the run's length);
    iteration-based ones are checked when the cycle's iterations are fixed (converted ones
    need them: see convert_schedulers)."""
    converted = _converted(runner.cfg)
    if converted and not iters_per_cycle:
        refuse(f'{converted[0]} has convert_to_iter_based=True, but epochs change length every '
               "cycle: set the hook's iters_per_cycle, or give it by_epoch=True (epochs of "
               'a cycle) or by_epoch=False with begin/end in iterations')
    for scheduler in param_schedulers(runner):
        length = epochs_per_cycle if scheduler.by_epoch else iters_per_cycle
        last = _last_step(scheduler)
        if length is not None and last > length:
            unit = 'epochs' if scheduler.by_epoch else 'iterations'
            refuse(f'{type(scheduler).__name__} spans {unit} up to {last}, beyond a cycle '
                   f'of {length} {unit}: the schedule restarts every cycle; scale its '
                   'milestones / end / T_max to the cycle')


def check_batch_sampler(cfg, trains_on_unlabelled):
    """The user's batch sampler is kept for models trained on labelled images only."""
    batch_sampler = cfg.get('batch_sampler')
    if batch_sampler and trains_on_unlabelled:
        refuse(f"{batch_sampler.get('type')} would regroup the fixed labelled : unlabelled "
               'batches a TAALDetector trains on; set train_dataloader.batch_sampler=None')
