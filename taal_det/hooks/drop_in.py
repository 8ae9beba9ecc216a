"""What a stock mmdet config brings that active-learning cycles must handle, checked
before any training: the pool behind dataset wrappers, the train loop, the parameter
schedulers, hooks that switch at absolute epochs, and the user's batch sampler. Each
refusal is one line naming what is unsupported and what to change."""
from mmengine.dataset import ClassBalancedDataset, ConcatDataset, RepeatDataset
from mmengine.runner import EpochBasedTrainLoop
from mmdet.datasets import MultiImageMixDataset

from taal_det.datasets import ActivePoolDataset
from .restart import param_schedulers

ABSOLUTE_EPOCH_HOOKS = ('PipelineSwitchHook', 'YOLOXModeSwitchHook')


def _refuse(message):
    raise ValueError(f'ActivePoolHook: {message}')


def _check_part(dataset):
    if isinstance(dataset, ClassBalancedDataset):
        _refuse('ClassBalancedDataset repeats images by the labels of the whole pool, '
                'unlabelled images included; remove it from train_dataloader.dataset')
    if isinstance(dataset, MultiImageMixDataset):
        _refuse('MultiImageMixDataset pastes random pool images, unlabelled ones and their '
                'boxes included; remove it (and its mosaic / mix-up transforms)')
    if isinstance(dataset, ConcatDataset):
        for part in dataset.datasets:
            if isinstance(part, RepeatDataset):
                _refuse('a RepeatDataset inside the ConcatDataset repeats image ids; '
                        'remove it (the hook sets what an epoch is)')
            _check_part(part)


def pool_dataset(dataset):
    """The pool behind the train dataset: ActivePoolDataset and RepeatDataset unwrapped
    (the hook sets what an epoch is), wrappers that would read unlabelled images'
    annotations refused."""
    while isinstance(dataset, (ActivePoolDataset, RepeatDataset)):
        dataset = dataset.dataset
    _check_part(dataset)
    return dataset


def check_train_loop(runner):
    if not isinstance(runner.train_loop, EpochBasedTrainLoop):
        _refuse(f'{type(runner.train_loop).__name__} is not supported: use '
                "train_cfg=dict(type='EpochBasedTrainLoop', max_epochs=CYCLES * EPOCHS) and the "
                "hook's iters_per_cycle for a fixed number of iterations per cycle")


def check_hooks(runner):
    for hook in runner.hooks:
        if type(hook).__name__ in ABSOLUTE_EPOCH_HOOKS:
            _refuse(f'{type(hook).__name__} switches the pipeline at an absolute epoch, which '
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


def check_schedulers(runner, epochs_per_cycle, iters_per_cycle):
    """Every scheduler restarts each cycle, so its span must fit in one cycle. The built
    schedulers are read (mmengine fills a missing ``end`` with the run's length);
    iteration-based ones are checked when the cycle's iterations are fixed."""
    for name in _converted(runner.cfg):
        _refuse(f"{name} has convert_to_iter_based=True, converted with the whole pool's "
                'epoch length; give it by_epoch=True (epochs of a cycle) or by_epoch=False '
                'with begin/end in iterations')
    for scheduler in param_schedulers(runner):
        length = epochs_per_cycle if scheduler.by_epoch else iters_per_cycle
        last = _last_step(scheduler)
        if length is not None and last > length:
            unit = 'epochs' if scheduler.by_epoch else 'iterations'
            _refuse(f'{type(scheduler).__name__} spans {unit} up to {last}, beyond a cycle '
                    f'of {length} {unit}: the schedule restarts every cycle; scale its '
                    'milestones / end / T_max to the cycle')


def check_batch_sampler(cfg, trains_on_unlabelled):
    """The user's batch sampler is kept for models trained on labelled images only."""
    batch_sampler = cfg.get('batch_sampler')
    if batch_sampler and trains_on_unlabelled:
        _refuse(f"{batch_sampler.get('type')} would regroup the fixed labelled : unlabelled "
                'batches a TAALDetector trains on; set train_dataloader.batch_sampler=None')
