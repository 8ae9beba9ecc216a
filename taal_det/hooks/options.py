"""Checks of ActivePoolHook's options (when the hook is built) and of what they meet
(once the runner is built, before training): each refusal is one message that names
the option."""
import math
import numbers
import os

from mmengine.dataset import Compose

from taal_det.datasets import check_images_exist, check_pool_pipelines
from taal_det.models.class_probs import class_probs_layout
from .drop_in import check_batch_sampler
from .errors import refuse
from .oracle import ORACLES

SCORE_CONTEXTS = ('unlabelled', 'training')


def _int(value):
    return isinstance(value, int) and not isinstance(value, bool)


def _positive_int(value):
    return _int(value) and value > 0


def check_hook_options(budget, cycles, initial_size, initial_split, epochs_per_cycle,
                       iters_per_cycle, subset, source_ratio, score_batch_size, score_context,
                       seed, strategy, metric, oracle='simulation'):
    """Raise ``ValueError`` (``FileNotFoundError`` for a missing split file) on the first
    option that cannot work."""
    if oracle not in ORACLES:
        refuse(f'oracle must be one of {ORACLES}, got {oracle!r}')
    for name, value in (('budget', budget), ('cycles', cycles)):
        if not _positive_int(value):
            refuse(f'{name} must be a positive integer, got {value!r}')
    if initial_split is None and not _positive_int(initial_size) and oracle != 'files':
        refuse(f'initial_size must be a positive integer (or give initial_split), '
               f'got {initial_size!r}')
    if initial_split is not None and not os.path.isfile(initial_split):
        raise FileNotFoundError(f'ActivePoolHook: initial_split {initial_split} not found')
    for name, value in (('epochs_per_cycle', epochs_per_cycle),
                        ('iters_per_cycle', iters_per_cycle),
                        ('score_batch_size', score_batch_size)):
        if value is not None and not _positive_int(value):
            refuse(f'{name} must be a positive integer (or None), got {value!r}')
    if subset is not None and not (_positive_int(subset) and subset >= budget):
        refuse(f'subset must be an integer >= budget={budget} (the images scored per '
               f'cycle, of which budget are labelled) or None, got {subset!r}')
    ratio = tuple(source_ratio) if isinstance(source_ratio, (list, tuple)) else ()
    if len(ratio) != 2 or not all(isinstance(r, numbers.Real) and not isinstance(r, bool)
                                  and 0 < r < math.inf for r in ratio):
        refuse('source_ratio must be two positive numbers (labelled, unlabelled images '
               f'per batch), got {source_ratio!r}')
    if score_context not in SCORE_CONTEXTS:
        refuse(f'score_context must be one of {SCORE_CONTEXTS}, got {score_context!r}')
    if seed is not None and not (_int(seed) and seed >= 0):
        refuse(f'seed must be a non-negative integer or None, got {seed!r}')
    if not isinstance(strategy, dict) or 'type' not in strategy:
        refuse(f"strategy must be a config dict with a type, e.g. dict(type='TAALStrategy'), "
               f'got {strategy!r}')
    if metric is not None and not isinstance(metric, str):
        refuse(f'metric must be the name of a validation metric (str) or None, '
               f'got {metric!r}')


def check_model_serves(strategy, model):
    """Refuse a strategy whose inputs the model cannot give."""
    if 'sampler_scores' in strategy.requires and not hasattr(model, 'score'):
        raise ValueError(f'{type(strategy).__name__} needs sampler scores, but the '
                         f'model ({type(model).__name__}) has no sampler; wrap the '
                         "detector in model=dict(type='TAALDetector', ...)")
    if 'predicted_loss' in strategy.requires and not hasattr(model, 'predicted_loss'):
        raise ValueError(f'{type(strategy).__name__} needs predicted losses, but the model '
                         f"({type(model).__name__}) has no loss module; wrap the detector "
                         "in model=dict(type='LossPredictionDetector', ...)")
    if 'box_probs' in strategy.requires:
        strategy.check_head(*class_probs_layout(getattr(model, 'detector', model)))


def check_inputs(runner, model, strategy, dataset, score_pipeline):
    """What can be refused once the runner is built: a strategy the model cannot serve,
    a batch sampler it cannot keep, pool images missing from disk, a score pipeline that
    does not build, augmentation that depends on the boxes (for models that train on
    unlabelled images)."""
    on_unlabelled = getattr(model, 'trains_on_unlabelled', False)
    check_model_serves(strategy, model)
    check_batch_sampler(runner.cfg.train_dataloader, on_unlabelled)
    check_images_exist(dataset)
    if score_pipeline is not None:
        Compose(score_pipeline)
    if on_unlabelled:
        check_pool_pipelines(dataset)


def never_detached(model, epochs_per_cycle):
    """The warning for a loss-prediction model whose ``detach_from_epoch`` lies beyond
    the cycle (its features then reach the module attached all cycle), else None."""
    epoch = getattr(model, 'detach_from_epoch', None)
    if epoch is None or epoch < epochs_per_cycle:
        return None
    return (f'detach_from_epoch={epoch} is not inside a cycle of {epochs_per_cycle} '
            'epochs: the loss module never reads detached features (LL4AL detaches at '
            '60 % of the cycle)')
