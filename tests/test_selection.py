"""PoolSelector without a Runner: the health pass's sampler outputs are reused by the
selection of the same cycle (and their time counted as selection time), not after."""
import types

import pytest
import torch

from taal_det.hooks.selection import PoolSelector
from taal_det.pool import PoolState
from taal_det.strategies import PoolOutputs, TAALStrategy


class CountingScorer:
    def __init__(self):
        self.calls = 0

    def score(self, ids, needs, companions=None, **kwargs):
        self.calls += 1
        ids = sorted(ids)
        return PoolOutputs(ids=ids, sampler_scores=torch.arange(len(ids), dtype=torch.float),
                           features=torch.zeros(len(ids), 2))


@pytest.fixture
def selector_and_pool(monkeypatch):
    pool = PoolState([f'im{i}' for i in range(10)])
    pool.init_random(4, seed=0)
    selector = PoolSelector(TAALStrategy(), dataset=None, index_of={}, seed=0)
    scorer = CountingScorer()
    monkeypatch.setattr(selector, '_scorer', lambda runner, model: scorer)
    runner = types.SimpleNamespace(model=torch.nn.Linear(1, 1),
                                   logger=types.SimpleNamespace(warning=print))
    return selector, pool, scorer, runner


def test_the_health_pass_scoring_is_reused_and_its_time_counted(selector_and_pool):
    selector, pool, scorer, runner = selector_and_pool
    cached = CountingScorer().score(pool.unlabelled, ())
    selector._scored = (pool.cycle, cached, 7.5)  # as health() leaves it
    chosen, outputs, seconds = selector.select(runner, pool, 2)
    assert outputs is cached and scorer.calls == 0 and seconds >= 7.5
    assert chosen == cached.ids[:2]  # the lowest scores


def test_another_cycles_scoring_is_not_reused(selector_and_pool):
    selector, pool, scorer, runner = selector_and_pool
    selector._scored = (pool.cycle - 1, CountingScorer().score(pool.unlabelled, ()), 7.5)
    _, outputs, seconds = selector.select(runner, pool, 2)
    assert scorer.calls == 1 and seconds < 7.5 and outputs.ids == sorted(pool.unlabelled)
