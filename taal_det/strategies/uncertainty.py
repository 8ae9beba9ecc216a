"""Detection uncertainty: per-box entropy or least confidence, reduced per image.

Box scores are either (n, C) class probabilities (entropy over classes) or (n,)
confidences of the detected class (binary entropy of that confidence). An image with
no detection has no box to be uncertain about: it gets ``empty_value`` (default 0,
the least uncertain, so it is picked last).
"""
import math

import torch

from .base import STRATEGIES, BaseStrategy, rank_lowest

EPS = 1e-12


def box_entropy(scores):
    """Entropy per box, normalised to [0, 1]."""
    p = scores.double().clamp(EPS, 1 - EPS)
    if p.dim() == 1:
        return -(p * p.log() + (1 - p) * (1 - p).log()) / math.log(2)
    return -(p * p.log()).sum(1) / math.log(p.shape[1])


def box_least_confidence(scores):
    """One minus the top class probability per box."""
    scores = scores.double()
    return 1 - (scores if scores.dim() == 1 else scores.max(1).values)


BOX_MEASURES = dict(entropy=box_entropy, least_confidence=box_least_confidence)
REDUCTIONS = dict(max=lambda u: u.max(), mean=lambda u: u.mean(), sum=lambda u: u.sum())


def image_uncertainty(box_scores, measure='entropy', reduce='max', empty_value=0.0):
    """One uncertainty per image (higher = more uncertain)."""
    per_box, reduction = BOX_MEASURES[measure], REDUCTIONS[reduce]
    out = []
    for scores in box_scores:
        scores = torch.as_tensor(scores)
        if not torch.isfinite(scores).all():
            raise ValueError('box scores contain NaN or infinite values')
        out.append(float(reduction(per_box(scores))) if scores.numel() else empty_value)
    return torch.tensor(out, dtype=torch.float64)


@STRATEGIES.register_module()
class UncertaintyStrategy(BaseStrategy):
    """The K images with the highest reduced per-box uncertainty."""

    requires = ('box_scores',)

    def __init__(self, measure='entropy', reduce='max', empty_value=0.0):
        if measure not in BOX_MEASURES:
            raise ValueError(f'measure must be one of {sorted(BOX_MEASURES)}, got {measure!r}')
        if reduce not in REDUCTIONS:
            raise ValueError(f'reduce must be one of {sorted(REDUCTIONS)}, got {reduce!r}')
        if isinstance(empty_value, bool) or not isinstance(empty_value, (int, float)):
            raise ValueError(f'empty_value must be a number, got {empty_value!r}')
        self.measure, self.reduce, self.empty_value = measure, reduce, empty_value

    def select(self, candidates, budget, labelled=None, seed=0):
        boxes = candidates.require('box_scores', 'UncertaintyStrategy')
        u = image_uncertainty(boxes, self.measure, self.reduce, self.empty_value)
        return rank_lowest(candidates.ids, -u, budget)
