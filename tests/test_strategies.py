import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from taal_det.strategies import (STRATEGIES, CoreSetStrategy, LossPredictionStrategy,
                                 PoolOutputs, RandomStrategy,
                                 TAALStrategy, TopScoreUncertaintyStrategy, UncertaintyStrategy,
                                 image_uncertainty,
                                 k_center_greedy, random_subset)


def outputs(n, seed=0, d=8):
    g = torch.Generator().manual_seed(seed)
    ids = [f'{i:05d}' for i in torch.randperm(n, generator=g).tolist()]
    boxes = [torch.rand(int(torch.randint(0, 4, (1,), generator=g)), 3, generator=g)
             for _ in range(n)]
    top = [b.max(1).values for b in boxes]
    return PoolOutputs(ids=ids, sampler_scores=torch.rand(n, generator=g),
                       features=torch.randn(n, d, generator=g), box_probs=boxes,
                       background_last=False, box_scores=top,
                       predicted_loss=torch.randn(n, generator=g))


ALL = [TAALStrategy(mode='margin'), TAALStrategy(), RandomStrategy(), CoreSetStrategy(block=3),
       UncertaintyStrategy(), UncertaintyStrategy('least_confidence', 'sum'),
       UncertaintyStrategy('margin', 'mean'), TopScoreUncertaintyStrategy(),
       LossPredictionStrategy()]


@settings(max_examples=40, deadline=None)
@given(n=st.integers(1, 30), budget=st.integers(1, 40), seed=st.integers(0, 5),
       which=st.integers(0, len(ALL) - 1))
def test_every_strategy_returns_min_k_distinct_candidates(n, budget, seed, which):
    cand, lab = outputs(n, seed), outputs(5, seed + 100)
    chosen = ALL[which](cand, budget, labelled=lab, seed=seed)
    assert len(chosen) == len(set(chosen)) == min(budget, n)
    assert set(chosen) <= set(cand.ids)
    assert chosen == ALL[which](cand, budget, labelled=lab, seed=seed)  # deterministic


@settings(max_examples=50, deadline=None)
@given(scores=st.lists(st.sampled_from([0.0, 0.05, 0.1, 0.15, 0.2, 0.9]), min_size=1, max_size=25),
       k=st.integers(1, 25))
def test_margin_rule_matches_brute_force(scores, k):
    ids = [f'id{i:03d}' for i in range(len(scores))][::-1]
    cand = PoolOutputs(ids=ids, sampler_scores=torch.tensor(scores, dtype=torch.float64))
    chosen = TAALStrategy(margin=0.1, mode='margin')(cand, k)
    dist = {i: abs(s - 0.1) for i, s in zip(ids, scores)}
    reference = sorted(ids, key=lambda i: (dist[i], i))[:k]  # ties by image id
    assert chosen == reference


def test_taal_prefers_scores_near_margin_and_lowest_mode():
    cand = PoolOutputs(ids=['a', 'b', 'c', 'd'], sampler_scores=torch.tensor([0.9, 0.12, 0.0, 0.5]))
    assert TAALStrategy(margin=0.1, mode='margin')(cand, 2) == ['b', 'c']
    assert TAALStrategy(mode='lowest')(cand, 1) == ['c']


def naive_k_center(x, labelled, k):
    x = x.astype(np.float64)
    mind = ((x[:, None] - labelled[None].astype(np.float64)) ** 2).sum(-1).min(1)
    picks = []
    for _ in range(k):
        i = int(np.argmax(mind))
        picks.append(i)
        mind = np.minimum(mind, ((x - x[i]) ** 2).sum(1))
        mind[i] = -1
    return picks


@pytest.mark.parametrize('n, m, d, k', [(40, 3, 5, 10), (100, 7, 16, 30), (12, 1, 2, 12)])
def test_k_center_greedy_matches_naive_reference(n, m, d, k):
    g = torch.Generator().manual_seed(n)
    x, lab = torch.randn(n, d, generator=g), torch.randn(m, d, generator=g)
    assert k_center_greedy(x, lab, k, block=2) == naive_k_center(x.numpy(), lab.numpy(), k)


def test_coreset_covers_far_cluster_first():
    ids = ['near1', 'near2', 'far']
    feats = torch.tensor([[0.1, 0.0], [0.0, 0.1], [10.0, 10.0]])
    lab = PoolOutputs(ids=['L'], features=torch.zeros(1, 2))
    assert CoreSetStrategy()(PoolOutputs(ids=ids, features=feats), 1, labelled=lab) == ['far']


def test_uncertainty_measures_and_empty_images():
    confident, unsure = torch.tensor([[0.98, 0.01, 0.01]]), torch.tensor([[0.4, 0.3, 0.3]])
    u = image_uncertainty([confident, unsure, torch.zeros(0, 3)], 'entropy', 'max')
    assert u[1] > u[0] > u[2] == 0.0
    assert image_uncertainty([torch.tensor([0.5])], 'entropy')[0] == pytest.approx(1.0)
    assert image_uncertainty([torch.tensor([0.9, 0.2])], 'least_confidence', 'sum')[0] == \
        pytest.approx(0.1 + 0.8)
    assert image_uncertainty([torch.tensor([0.9, 0.2])], 'margin', 'max')[0] == \
        pytest.approx(2 * 0.8)
    cand = PoolOutputs(ids=['x', 'y', 'z'], box_probs=[confident, unsure, torch.zeros(0, 3)],
                       background_last=False)
    assert UncertaintyStrategy()(cand, 2) == ['y', 'x']
    assert UncertaintyStrategy(empty_value=2.0)(cand, 1) == ['z']
    top = PoolOutputs(ids=['x', 'y', 'z'], box_scores=[torch.tensor([0.99]), torch.tensor([0.6]),
                                                        torch.zeros(0)])
    assert TopScoreUncertaintyStrategy()(top, 2) == ['y', 'x']
    with pytest.raises(ValueError, match='needs box_probs'):
        UncertaintyStrategy()(top, 1)


def test_bad_inputs_fail_with_one_clear_message():
    cand = outputs(4)
    with pytest.raises(ValueError, match='budget must be a positive'):
        TAALStrategy()(cand, 0)
    with pytest.raises(ValueError, match='missing'):
        TAALStrategy()(PoolOutputs(ids=cand.ids, sampler_scores=torch.rand(3)), 2)
    nan = cand.sampler_scores.clone()
    nan[2] = float('nan')
    with pytest.raises(ValueError, match=repr(cand.ids[2])):
        TAALStrategy()(PoolOutputs(ids=cand.ids, sampler_scores=nan), 2)
    with pytest.raises(ValueError, match='needs sampler_scores'):
        TAALStrategy()(PoolOutputs(ids=cand.ids), 2)
    with pytest.raises(ValueError, match="mode must be"):
        TAALStrategy(mode='median')


def test_registry_and_subset():
    assert isinstance(STRATEGIES.build(dict(type='RandomStrategy')), RandomStrategy)
    ids = [str(i) for i in range(20)]
    sub = random_subset(ids, 5, seed=1)
    assert len(sub) == 5 and sub == random_subset(ids[::-1], 5, seed=1) != random_subset(ids, 5, 2)
    assert random_subset(ids, None, 0) == sorted(ids)
