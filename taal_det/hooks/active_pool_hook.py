"""ActivePoolHook: the active-learning cycle driver inside one mmengine Runner.

Training runs ``cycles * epochs_per_cycle`` epochs. At the start of every cycle but the
first, the hook scores the unlabelled pool with the model trained in the cycle before
(after that cycle's validation), labels ``budget`` more images, rebuilds the train
dataloader and restarts the model, optimizer and parameter schedulers.
"""
import os
import random
import time

import numpy as np
import torch
from mmengine.dist import barrier, is_main_process
from mmengine.hooks import Hook
from mmdet.registry import HOOKS

from taal_det.datasets import boxes_per_class, image_ids
from taal_det.evaluation import markdown_table, plot_curve, write_results
from taal_det.evaluation.results import split_class_metrics
from taal_det.models.loss_prediction import EPOCH_IN_CYCLE
from taal_det.pool import PoolState, load_initial_ids
from taal_det.query import query_scores
from taal_det.strategies import STRATEGIES
from .drop_in import (check_hooks, check_train_loop, convert_schedulers, pool_dataset,
                      set_cycle_schedule)
from .options import check_hook_options, check_inputs, never_detached
from .oracle import build_oracle
from .restart import TrainingStart, unwrapped_model
from .run_meta import describe_test_set, run_meta
from .sampler_health import SamplerHealth
from .selection import PoolSelector, score_map
from .train_loader import build_pool_loader, pool_sampler

CKPT_KEY = 'active_learning'
REPORTED = ('mAP', 'labelled_images', 'labelled_boxes', 'sampler_bce', 'sampler_bce_chance',
            'sampler_auc', 'sampler_auc_test')  # sent to the visualizer backends


@HOOKS.register_module()
class ActivePoolHook(Hook):
    """Grow the labelled split of the train dataset cycle by cycle.

    Args:
        budget: images labelled per cycle.
        cycles: training cycles (the first trains on the initial split).
        initial_size: size of the random initial split (ignored with initial_split).
        initial_split: an ``initial.json`` of another run, or a txt of image ids.
        epochs_per_cycle: defaults to ``max_epochs // cycles`` of the train loop.
        iters_per_cycle: train every cycle for exactly this many iterations, whatever
            the size of the labelled set: ``epochs_per_cycle`` epochs of
            ``iters_per_cycle // epochs_per_cycle`` iterations each (so by-epoch
            milestones stay inside the cycle). Default: an epoch is one pass over the
            labelled images.
        strategy: config of an acquisition strategy (``taal_det.strategies``).
        subset: score only a seeded random subset of this many unlabelled images.
        warm_start: keep the weights between cycles (the optimizer and the parameter
            schedulers restart every cycle either way).
        source_ratio: labelled : unlabelled images per batch, for models that train on
            unlabelled images (``TAALDetector``).
        score_pipeline: inference pipeline for scoring; defaults to the val pipeline.
        score_batch_size: images per scoring chunk; defaults to the train batch size.
        score_context: how a sampler's chunks are filled: ``'unlabelled'`` (the scored
            images only) or ``'training'`` (completed with fixed images of the other
            kind in the training batches' ratio; their outputs discarded).
        metric: the validation metric reported as ``mAP``; ``None`` picks the first
            key ending in ``mAP``.
        seed: seed of the initial split and of the strategy; defaults to the runner's.
        label: the method's name in reports (default: the strategy type).
        progress: show a progress bar while scoring.
        oracle: ``'simulation'`` (annotations revealed) or ``'files'`` (a person labels
            each cycle's query between runs; see :mod:`taal_det.hooks.oracle`).
        allow_corrections: ``oracle='files'``: accept (and log) changed annotations of
            labelled images instead of refusing them.
    """

    priority = 'ABOVE_NORMAL'

    def __init__(self, budget, cycles, initial_size=None, initial_split=None,
                 epochs_per_cycle=None, iters_per_cycle=None,
                 strategy=dict(type='TAALStrategy'), subset=None,
                 warm_start=False, source_ratio=(1, 1), score_pipeline=None,
                 score_batch_size=None, score_context='unlabelled', metric=None, seed=None,
                 label=None, progress=True, oracle='simulation', allow_corrections=False):
        check_hook_options(budget, cycles, initial_size, initial_split, epochs_per_cycle,
                           iters_per_cycle, subset, source_ratio, score_batch_size,
                           score_context, seed, strategy, metric, oracle)
        self.oracle = build_oracle(oracle, allow_corrections)
        self.budget, self.cycles = budget, cycles
        self.initial_size, self.initial_split = initial_size, initial_split
        self.epochs_per_cycle, self.iters_per_cycle = epochs_per_cycle, iters_per_cycle
        self.subset, self.warm_start = subset, warm_start
        self.strategy_cfg = dict(strategy)
        self.strategy = STRATEGIES.build(self.strategy_cfg)
        self.source_ratio, self.score_pipeline = tuple(source_ratio), score_pipeline
        self.score_batch_size, self.score_context = score_batch_size, score_context
        self.metric, self.seed = metric, seed
        self.label, self.progress = label or self.strategy_cfg['type'], progress
        self.pool, self.rows, self._pending, self.metric_key = None, [], None, None

    # ------------------------------------------------------------ set-up
    def before_run(self, runner):
        if self._training(runner):  # before load_or_resume restores the schedulers' state
            convert_schedulers(runner, self.cycles, self.epochs_per_cycle, self.iters_per_cycle)

    def before_train(self, runner):
        model = unwrapped_model(runner)
        check_train_loop(runner)
        check_hooks(runner)
        self.dataset = pool_dataset(runner.train_loop.dataloader.dataset)
        self.ids = image_ids(self.dataset)
        check_inputs(runner, model, self.strategy, self.dataset, self.score_pipeline)
        self.index_of = {img_id: i for i, img_id in enumerate(self.ids)}
        self.seed = runner.seed if self.seed is None else self.seed
        self.test_set = describe_test_set(runner)
        self.selector = PoolSelector(self.strategy, self.dataset, self.index_of, self.seed,
                                     self.subset, self.score_pipeline, self.score_batch_size,
                                     self.score_context, self.progress)
        self.epochs_per_cycle = set_cycle_schedule(runner, self.cycles, self.epochs_per_cycle,
                                                   self.iters_per_cycle)
        warning = never_detached(model, self.epochs_per_cycle)
        if warning:
            runner.logger.warning(warning)
        if self.oracle:
            self.oracle.start(runner, self.dataset, self.epochs_per_cycle)
        resumed = runner.epoch > 0 or runner.iter > 0
        if resumed:
            self._restore_pool(runner)
        else:
            self.pool, self.rows = self._initial_pool(), []
        self.pool_dir = os.path.join(runner.work_dir, 'pool')
        self.health = SamplerHealth(self.pool_dir) if hasattr(model, 'score') else None
        if resumed and self.health:
            self.health.load_state_dict(self._pending.get('health', {}))
        self.start = TrainingStart(runner, os.path.join(self.pool_dir, 'initial_state.pth'),
                                   load=resumed)
        if not resumed:
            self._save_pool()
        runner.logger.info(f'active learning: pool {len(self.ids)} images, '
                           f'{len(self.pool.labelled)} labelled, budget {self.budget} x '
                           f'{self.cycles} cycles of {self.epochs_per_cycle} epochs, '
                           f'strategy {self.strategy}')
        self._use_labelled_split(runner)
        self._cycle_started = time.perf_counter()
        if resumed:
            self._continue_resumed(runner)

    def _restore_pool(self, runner):
        """The pool and rows of the checkpoint; a person's labels are checked first."""
        if not self._pending:
            raise ValueError('the resumed checkpoint holds no active-learning state (it was not '
                             'saved by a run with ActivePoolHook); start a new run instead')
        self.pool = PoolState.from_state_dict(self._pending['pool'])
        saved = self._pending.get('selection', repr(self.strategy))
        if self.pool.cycle > 0 and saved != repr(self.strategy):  # cycle 0 may be forked
            raise ValueError(f'the resumed run selected with {saved}, this config with '
                             f'{self.strategy}: resume with the strategy it ran')
        self.rows = list(self._pending['rows'])
        if self.oracle:
            self.rows = self.oracle.resume(self.pool, self.rows, self._pending.get('labels'),
                                           self._at_cycle_end(runner))

    def _continue_resumed(self, runner):
        """Stop a run resumed after the cycle that took the last images; write the query a
        run stopped at a cycle end before writing it (``oracle='files'``)."""
        if not self.pool.unlabelled and \
                runner.epoch >= (self.pool.cycle + 1) * self.epochs_per_cycle:
            runner.train_loop.stop_training = True
        if self.oracle and self._at_cycle_end(runner) and \
                not self.oracle.answered(self.pool.cycle + 1):
            self._validate_if_missing(runner)  # whose after_val_epoch writes the query
            if not runner.train_loop.stop_training:  # the row was there: no validation
                self._query(runner)

    def _at_cycle_end(self, runner):
        """At the end of a cycle that another one follows (where a query is due)."""
        return bool(self.pool.unlabelled) and runner.epoch == \
            (self.pool.cycle + 1) * self.epochs_per_cycle < runner.train_loop.max_epochs

    def _initial_pool(self):
        pool = PoolState(self.ids)
        if self.oracle:  # the annotated images
            pool.init_from_ids(self.oracle.initial_ids(self.initial_split, self.ids))
        elif self.initial_split:
            pool.init_from_ids(load_initial_ids(self.initial_split, self.ids))
        else:
            pool.init_random(self.initial_size, seed=self.seed)
        return pool

    # ------------------------------------------------------------ the cycle
    def before_train_epoch(self, runner):
        epoch = runner.epoch
        if epoch // self.epochs_per_cycle > self.pool.cycle:
            self._validate_if_missing(runner)
            self._grow(runner)
            self.start.restore(runner, weights=not self.warm_start)
            self._use_labelled_split(runner)
            self._cycle_started = time.perf_counter()
        self._seed_epoch(epoch)
        runner.message_hub.update_info(EPOCH_IN_CYCLE, epoch % self.epochs_per_cycle)
        pool_sampler(runner.train_loop.dataloader).set_epoch(epoch)
        if self.health:
            self.health.start_epoch()

    def after_train_iter(self, runner, batch_idx, data_batch=None, outputs=None):
        if self.health:
            self.health.add_iter(outputs)

    def after_train_epoch(self, runner):
        if self.health:
            self.health.end_epoch()

    def after_val_epoch(self, runner, metrics=None):
        if not self._training(runner) or runner.epoch % self.epochs_per_cycle or not metrics:
            return
        cycle = runner.epoch // self.epochs_per_cycle - 1
        if cycle != self.pool.cycle or any(r['cycle'] == cycle for r in self.rows):
            return
        self.rows.append(self._row(runner, cycle, metrics))
        self._report(runner)
        if not self.pool.unlabelled and runner.epoch < runner.train_loop.max_epochs:
            runner.logger.info('active learning: every pool image is labelled; '
                               f'stopping after cycle {cycle}')
            runner.train_loop.stop_training = True
        elif self.oracle and self._at_cycle_end(runner):
            self._query(runner)

    def after_train(self, runner):
        self._validate_if_missing(runner)
        if is_main_process() and self.rows:
            runner.logger.info('active learning results:\n' + markdown_table(self.rows))

    # ------------------------------------------------------------ checkpoints
    def before_save_checkpoint(self, runner, checkpoint):
        if self.pool is not None:
            checkpoint[CKPT_KEY] = dict(pool=self.pool.state_dict(), rows=self.rows,
                                        health=self.health.state_dict() if self.health else {},
                                        selection=repr(self.strategy))
            if self.oracle:
                checkpoint[CKPT_KEY]['labels'] = self.oracle.digests(self.pool.labelled)

    def after_load_checkpoint(self, runner, checkpoint):
        self._pending = checkpoint.get(CKPT_KEY)

    # ------------------------------------------------------------ helpers
    @staticmethod
    def _training(runner):
        return runner._train_loop is not None and not isinstance(runner._train_loop, dict)

    def _seed_epoch(self, epoch):
        """Reseed the global RNGs per epoch: a resumed run augments like the original."""
        seed = (self.seed * 100003 + epoch) % 2 ** 31
        random.seed(seed)
        np.random.seed(seed)
        torch.manual_seed(seed)

    def _validate_if_missing(self, runner):
        cycle = self.pool.cycle
        done = runner.epoch >= (cycle + 1) * self.epochs_per_cycle
        if done and runner.val_loop is not None and not any(r['cycle'] == cycle for r in self.rows):
            runner.logger.info(f'active learning: validating cycle {cycle} (resumed run)')
            runner.val_loop.run()

    def _use_labelled_split(self, runner):
        loader = build_pool_loader(
            runner.cfg.train_dataloader, self.dataset,
            [self.index_of[i] for i in self.pool.labelled],
            [self.index_of[i] for i in self.pool.unlabelled], self.source_ratio,
            self.iters_per_cycle and self.iters_per_cycle // self.epochs_per_cycle, runner.seed,
            getattr(unwrapped_model(runner), 'trains_on_unlabelled', False))
        loop = runner.train_loop
        loop.dataloader = loader
        remaining = loop.max_epochs - runner.epoch
        loop._max_iters = runner.iter + remaining * len(loader)
        # gradient accumulation counts its windows (and the last update) within the cycle
        done = (runner.epoch - self.pool.cycle * self.epochs_per_cycle) * len(loader)
        runner.optim_wrapper.initialize_count_status(
            runner.model, done, self.epochs_per_cycle * len(loader))

    def _grow(self, runner):
        if self.oracle:  # the person's labels, checked in before_train
            chosen, scores, self._selection_seconds = self.oracle.take()
        else:
            chosen, outputs, self._selection_seconds = self.selector.select(
                runner, self.pool, self.budget)
            scores = score_map(outputs)
        self.pool.add(chosen, self.budget, scores=scores)
        self._save_pool()
        runner.logger.info(f'active learning: cycle {self.pool.cycle} trains on '
                           f'{len(self.pool.labelled)} labelled images ({len(chosen)} added by '
                           f'{type(self.strategy).__name__} in {self._selection_seconds:.1f} s)')

    def _query(self, runner):
        """Pick the next images, write their query and stop the run (``oracle='files'``)."""
        chosen, outputs, seconds = self.selector.select(runner, self.pool, self.budget)
        runner.logger.info(self.oracle.write(
            self.pool, self.pool.cycle + 1, chosen, score_map(outputs),
            query_scores(self.strategy, outputs), seconds, self.rows[-1]))
        runner.train_loop.stop_training = True

    def _row(self, runner, cycle, metrics):
        key = self.metric or next((k for k in metrics if k.endswith('mAP')), None)
        self.metric_key = key
        row = dict(cycle=cycle, labelled_images=len(self.pool.labelled),
                   labelled_boxes=sum(self._boxes_per_class(self.pool.labelled).values()),
                   mAP=float(metrics[key]) if key else None,
                   train_seconds=round(time.perf_counter() - self._cycle_started, 2),
                   selection_seconds=round(getattr(self, '_selection_seconds', 0.0), 2),
                   strategy=self.label, seed=self.seed,
                   added_boxes_per_class=self._boxes_per_class(self.pool.history[-1]['added']))
        scalars, class_ap = split_class_metrics(metrics, self.dataset.metainfo.get('classes', ()))
        row.update(scalars)
        if class_ap:
            row['class_ap'] = class_ap
        if self.health:
            row.update(self.selector.health(runner, self.pool, self.health))
        return row

    def _boxes_per_class(self, ids):
        return boxes_per_class(self.dataset, [self.index_of[i] for i in ids])

    def _report(self, runner):
        row = self.rows[-1]
        runner.visualizer.add_scalars(
            {f'al/{k}': row[k] for k in REPORTED if row.get(k) is not None}, step=row['cycle'])
        if is_main_process():
            write_results(runner.work_dir, self.rows, run_meta(self, runner))
            plot_curve(os.path.join(runner.work_dir, 'al_curve.png'),
                       {self.label: self.rows})
        runner.logger.info(f"active learning: cycle {row['cycle']}: "
                           f"{row['labelled_images']} images, mAP {row['mAP']}")

    def _save_pool(self):
        if is_main_process():
            self.pool.save(self.pool_dir)
        barrier()
