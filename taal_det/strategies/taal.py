"""The TAAL rule: label the images the sampler finds least labelled-looking (or, the
paper's rule, those whose score lies closest to a margin)."""
from .base import STRATEGIES, BaseStrategy, rank_lowest


def taal_priority(scores, margin=0.1, mode='lowest'):
    """Lower is picked first: ``|s - margin|`` (paper) or ``s`` (most unlabelled-looking)."""
    if mode == 'margin':
        return (scores - margin).abs()
    if mode == 'lowest':
        return scores
    raise ValueError(f"mode must be 'margin' or 'lowest', got {mode!r}")


@STRATEGIES.register_module()
class TAALStrategy(BaseStrategy):
    """Pick the K images with the smallest sampler score s (``mode='lowest'``, the
    default: it gave the higher AUBC on both development seeds, docs/method.md) or with
    the smallest ``|s - margin|`` (``mode='margin'``, the paper's rule)."""

    requires = ('sampler_scores',)

    def __init__(self, margin=0.1, mode='lowest'):
        if mode not in ('margin', 'lowest'):
            raise ValueError(f"mode must be 'margin' or 'lowest', got {mode!r}")
        if isinstance(margin, bool) or not isinstance(margin, (int, float)) or \
                not 0 <= margin <= 1:
            raise ValueError(f'TAALStrategy: margin must lie in [0, 1] (sampler scores are '
                             f'probabilities), got {margin!r}')
        self.margin, self.mode = margin, mode

    def select(self, candidates, budget, labelled=None, seed=0):
        scores = candidates.require('sampler_scores', 'TAALStrategy')
        return rank_lowest(candidates.ids, taal_priority(scores, self.margin, self.mode), budget)
