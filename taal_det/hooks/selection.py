"""A cycle's selection: score the candidates (the unlabelled pool or its seeded subset)
with the model that ends the cycle and pick the next images; the sampler's health is
measured in the same context, and its scoring reused by the selection that follows."""
import time

from mmengine.dist import broadcast_object_list, is_main_process

from taal_det.datasets import image_ids
from taal_det.strategies import PoolOutputs, random_subset
from .restart import unwrapped_model
from .scoring import PoolScorer
from .train_loader import pool_sampler

SAMPLER_OUTPUTS = frozenset({'sampler_scores', 'features'})  # one model.score() gives both


def sampler_scores(outputs):
    """Sampler scores as a list ([] for no images)."""
    return [] if outputs.sampler_scores is None else outputs.sampler_scores.tolist()


def score_map(outputs):
    """{id: sampler score} of the candidates, or None without a sampler."""
    return None if outputs.sampler_scores is None else \
        dict(zip(outputs.ids, sampler_scores(outputs)))


class PoolSelector:
    """Scores a pool's images for a strategy and picks ``budget`` of them.

    Args:
        strategy: the built acquisition strategy.
        dataset, index_of: the pool and ``{image id: index}`` into it.
        seed: seeds the candidate subset and the strategy (with the cycle).
        subset, score_pipeline, score_batch_size, score_context, progress: as
            :class:`~taal_det.hooks.ActivePoolHook` documents them.
    """

    def __init__(self, strategy, dataset, index_of, seed, subset=None, score_pipeline=None,
                 score_batch_size=None, score_context='unlabelled', progress=True):
        self.strategy, self.dataset, self.index_of, self.seed = strategy, dataset, index_of, seed
        self.subset, self.score_pipeline = subset, score_pipeline
        self.score_batch_size, self.score_context = score_batch_size, score_context
        self.progress = progress
        self._scored = None  # (cycle, candidates' sampler outputs, seconds)

    def select(self, runner, pool, budget):
        """(ids in rank order, the candidates' outputs, seconds)."""
        t0 = time.perf_counter()
        model = unwrapped_model(runner)
        take = min(budget, len(pool.unlabelled))
        if take < budget:
            runner.logger.warning(f'active learning: budget {budget} > {take} unlabelled '
                                  'images left; labelling all of them in this last cycle')
        needs = set(self.strategy.requires)
        outputs, cached_seconds = self._candidate_outputs(runner, model, pool, needs)
        labelled = None
        if getattr(self.strategy, 'needs_labelled', False):
            labelled = self._labelled_outputs(runner, model, pool, needs)
        chosen = [None]
        if is_main_process():
            chosen[0] = self.strategy(outputs, take, labelled=labelled,
                                      seed=f'{self.seed}-{pool.cycle}')
        broadcast_object_list(chosen)
        return chosen[0], outputs, time.perf_counter() - t0 + cached_seconds

    def health(self, runner, pool, health):
        """``health.measure`` of the model that ends this cycle: the candidates, the
        labelled images and the test images scored in the context selection uses."""
        model, t0 = unwrapped_model(runner), time.perf_counter()
        outputs, _ = self._candidate_outputs(runner, model, pool, SAMPLER_OUTPUTS)
        self._scored = (pool.cycle, outputs, time.perf_counter() - t0)
        t0 = time.perf_counter()
        labelled = self._labelled_outputs(runner, model, pool, SAMPLER_OUTPUTS)
        test_scores = []
        if runner.val_loop is not None:
            test = runner.val_dataloader.dataset
            ids = image_ids(test)
            test_scores = sampler_scores(self._scorer(runner, model).score(
                ids, SAMPLER_OUTPUTS, companions=pool.labelled, dataset=test,
                index_of={i: k for k, i in enumerate(ids)}))
        n_lab, n_unl = pool_sampler(runner.train_loop.dataloader).per_batch
        row = health.measure(pool.cycle, sampler_scores(labelled), sampler_scores(outputs),
                             test_scores, n_lab / (n_lab + n_unl))
        return dict(row, health_seconds=round(time.perf_counter() - t0, 2))

    def _scorer(self, runner, model):
        training = self.score_context == 'training' and hasattr(model, 'sampler')
        return PoolScorer(
            model, self.dataset, self.index_of,
            self.score_pipeline or runner.cfg.val_dataloader.dataset.pipeline,
            self.score_batch_size or runner.cfg.train_dataloader.batch_size,
            per_batch=pool_sampler(runner.train_loop.dataloader).per_batch if training else None,
            num_workers=runner.cfg.val_dataloader.get('num_workers', 0), progress=self.progress,
            pre_nms_topk=getattr(self.strategy, 'pre_nms_topk', None))

    def _candidates(self, pool):
        """This cycle's candidates: the unlabelled pool, or its seeded random subset."""
        return random_subset(pool.unlabelled, self.subset, f'{self.seed}-{pool.cycle}')

    def _candidate_outputs(self, runner, model, pool, needs):
        """(what the strategy reads of the candidates, seconds of a reused scoring): the
        sampler outputs already computed for the health row are reused."""
        if self._scored and self._scored[0] == pool.cycle and needs <= SAMPLER_OUTPUTS:
            return self._scored[1], self._scored[2]  # counted as selection time
        candidates = self._candidates(pool)
        if not needs:
            return PoolOutputs(ids=sorted(candidates)), 0.0
        return self._scorer(runner, model).score(candidates, needs,
                                                 companions=pool.labelled), 0.0

    def _labelled_outputs(self, runner, model, pool, needs):
        """The labelled images, scored in the context selection uses (their companions:
        the candidates)."""
        return self._scorer(runner, model).score(pool.labelled, needs, as_labelled=True,
                                                 companions=self._candidates(pool))
