"""Random acquisition, the baseline every curve is compared with."""
import random

from .base import STRATEGIES, BaseStrategy


@STRATEGIES.register_module()
class RandomStrategy(BaseStrategy):
    """K unlabelled images drawn uniformly, seeded."""

    def select(self, candidates, budget, labelled=None, seed=0):
        return random.Random(f'random-{seed}').sample(sorted(candidates.ids), budget)
