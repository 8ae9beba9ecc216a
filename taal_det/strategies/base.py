"""What every acquisition strategy shares: the registry, the model outputs it reads,
the ranking rule with ties broken by image id, and LL4AL's random subset."""
import math
import random
from dataclasses import dataclass
from typing import List, Optional, Sequence

import torch
from mmengine.registry import Registry

STRATEGIES = Registry('acquisition strategy', scope='taal_det',
                      locations=['taal_det.strategies'])


@dataclass
class PoolOutputs:
    """Per-image model outputs, aligned with ``ids`` (any subset may be ``None``).

    sampler_scores: (N,) P(labelled) from the TAAL sampler.
    features: (N, D) pooled backbone tokens (core-set).
    box_scores: N tensors (n_i,): the one score predict keeps per detection.
    predicted_loss: (N,) the loss-prediction module's output (LL4AL).
    box_probs: N tensors (n_i, K): each detection's class probabilities as the head gives
        them; ``background_last`` says whether column K - 1 is a background class.
    """
    ids: List[str]
    sampler_scores: Optional[torch.Tensor] = None
    features: Optional[torch.Tensor] = None
    box_scores: Optional[List[torch.Tensor]] = None
    predicted_loss: Optional[torch.Tensor] = None
    box_probs: Optional[List[torch.Tensor]] = None
    background_last: Optional[bool] = None

    def require(self, field, strategy):
        value = getattr(self, field)
        if value is None:
            raise ValueError(f'{strategy} needs {field} for every candidate image, '
                             'but the model gave none')
        if len(value) != len(self.ids):
            raise ValueError(f'{strategy}: {field} has {len(value)} entries for '
                             f'{len(self.ids)} images (scores missing for some ids)')
        if field not in ('box_scores', 'box_probs') and not torch.isfinite(value).all():
            bad = self.ids[int((~torch.isfinite(value).reshape(len(value), -1).all(1))
                               .nonzero()[0])]
            raise ValueError(f'{strategy}: {field} of image {bad!r} is NaN or infinite')
        return value


def check_budget(budget):
    if isinstance(budget, bool) or not isinstance(budget, int) or budget <= 0:
        raise ValueError(f'budget must be a positive integer, got {budget!r}')


def rank_lowest(ids: Sequence[str], priority, k: int) -> List[str]:
    """The ``k`` ids of lowest priority; equal priorities are ordered by image id."""
    values = torch.as_tensor(priority, dtype=torch.float64).tolist()
    if any(math.isnan(v) for v in values):
        raise ValueError('priority contains NaN')
    order = sorted(range(len(ids)), key=lambda i: (values[i], ids[i]))
    return [ids[i] for i in order[:k]]


def random_subset(ids: Sequence[str], size: Optional[int], seed) -> List[str]:
    """A seeded random subset of ``size`` ids (all of them when size is None or larger)."""
    ids = sorted(ids)
    if size is None or size >= len(ids):
        return ids
    if size <= 0:
        raise ValueError(f'subset must be positive, got {size}')
    return sorted(random.Random(f'subset-{seed}').sample(ids, size))


class BaseStrategy:
    """A strategy reads ``requires`` from :class:`PoolOutputs` and returns chosen ids."""

    requires: tuple = ()

    def select(self, candidates: PoolOutputs, budget: int, labelled: Optional[PoolOutputs] = None,
               seed=0) -> List[str]:
        raise NotImplementedError

    def __call__(self, candidates, budget, labelled=None, seed=0):
        check_budget(budget)
        if len(set(candidates.ids)) != len(candidates.ids):
            raise ValueError('candidate ids are not unique')
        chosen = self.select(candidates, min(budget, len(candidates.ids)), labelled, seed)
        assert len(set(chosen)) == len(chosen) == min(budget, len(candidates.ids))
        return chosen

    def __repr__(self):
        args = ', '.join(f'{k}={v!r}' for k, v in vars(self).items())
        return f'{type(self).__name__}({args})'
