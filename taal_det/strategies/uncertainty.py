"""Detection uncertainty: per-box entropy, least confidence or margin, reduced per image.

``UncertaintyStrategy`` reads each kept box's class distribution (``box_probs``, see
``taal_det.models.class_probs``); ``TopScoreUncertaintyStrategy`` reads only the one
score mmdet's predict keeps per box (the detected class against the rest). An image
with no box has nothing to be uncertain about: it gets ``empty_value`` (default 0, the
least uncertain, so it is picked last).
"""
import math

import torch

from .base import STRATEGIES, BaseStrategy, rank_lowest

EPS = 1e-12


def class_distribution(class_probs, background_last, include_background=False):
    """Each box's distribution over classes (rows sum to 1).

    Softmax heads (``background_last``): the foreground part renormalised, which is the
    softmax over the foreground logits alone; ``include_background`` keeps all C + 1.
    Sigmoid heads: the C per-class sigmoids renormalised.
    """
    p = torch.as_tensor(class_probs).double()
    if background_last and not include_background:
        p = p[:, :-1]
    return p / p.sum(1, keepdim=True).clamp_min(EPS)


def box_entropy(p):
    """Entropy per box normalised to [0, 1]; (n,) top scores: binary entropy."""
    p = p.clamp(EPS, 1 - EPS)
    if p.dim() == 1:
        return -(p * p.log() + (1 - p) * (1 - p).log()) / math.log(2)
    return -(p * p.log()).sum(1) / math.log(p.shape[1])


def box_least_confidence(p):
    """One minus the top class probability (or the top score)."""
    return 1 - (p if p.dim() == 1 else p.max(1).values)


def box_margin(p):
    """One minus (top-1 - top-2) probability; (n,) top scores: 1 - (p - (1 - p))."""
    if p.dim() == 1:
        return 2 * (1 - p)
    top = p.topk(2, dim=1).values
    return 1 - (top[:, 0] - top[:, 1])


BOX_MEASURES = dict(entropy=box_entropy, least_confidence=box_least_confidence,
                    margin=box_margin)
REDUCTIONS = dict(max=lambda u: u.max(), mean=lambda u: u.mean(), sum=lambda u: u.sum())


def image_uncertainty(box_values, measure='entropy', reduce='max', empty_value=0.0):
    """One uncertainty per image (higher = more uncertain) from its boxes' (n,) top
    scores or (n, K) class distributions."""
    per_box, reduction = BOX_MEASURES[measure], REDUCTIONS[reduce]
    out = []
    for values in box_values:
        values = torch.as_tensor(values).double()
        if not torch.isfinite(values).all():
            raise ValueError('box scores contain NaN or infinite values')
        out.append(float(reduction(per_box(values))) if values.numel() else empty_value)
    return torch.tensor(out, dtype=torch.float64)


def _check(measure, reduce, empty_value):
    if measure not in BOX_MEASURES:
        raise ValueError(f'measure must be one of {sorted(BOX_MEASURES)}, got {measure!r}')
    if reduce not in REDUCTIONS:
        raise ValueError(f'reduce must be one of {sorted(REDUCTIONS)}, got {reduce!r}')
    if isinstance(empty_value, bool) or not isinstance(empty_value, (int, float)):
        raise ValueError(f'empty_value must be a number, got {empty_value!r}')


@STRATEGIES.register_module()
class UncertaintyStrategy(BaseStrategy):
    """The K images whose boxes' class distributions are the most uncertain.

    ``background``: 'exclude' (the foreground classes only) or 'include' (softmax heads'
    C + 1 classes). ``pre_nms_topk``: score the k priors / proposals of highest
    foreground probability before NMS instead of the kept detections.
    """

    requires = ('box_probs',)

    def __init__(self, measure='entropy', reduce='max', empty_value=0.0, background='exclude',
                 pre_nms_topk=None):
        _check(measure, reduce, empty_value)
        if background not in ('exclude', 'include'):
            raise ValueError(f"background must be 'exclude' or 'include', got {background!r}")
        if pre_nms_topk is not None and (isinstance(pre_nms_topk, bool) or
                                         not isinstance(pre_nms_topk, int) or pre_nms_topk <= 0):
            raise ValueError(f'pre_nms_topk must be a positive integer, got {pre_nms_topk!r}')
        self.measure, self.reduce, self.empty_value = measure, reduce, empty_value
        self.background, self.pre_nms_topk = background, pre_nms_topk

    def check_head(self, num_classes, background_last):
        """Refuse a head whose distributions would all be certain or undefined."""
        include = self.background == 'include'
        if include and not background_last:
            raise ValueError("UncertaintyStrategy: background='include', but the head has "
                             'no background class (sigmoid classification)')
        if num_classes < 2 and not include:
            raise ValueError("UncertaintyStrategy: the detector has one class, so its "
                             'foreground distribution is always certain; use '
                             "background='include' or TopScoreUncertaintyStrategy")

    def uncertainty(self, candidates):
        """(N,) image uncertainties of the candidates (higher = picked first)."""
        probs = candidates.require('box_probs', 'UncertaintyStrategy')
        background_last = bool(candidates.background_last)
        if probs:
            self.check_head(probs[0].shape[1] - background_last, background_last)
        include = self.background == 'include'
        dists = [class_distribution(p, background_last, include) for p in probs]
        return image_uncertainty(dists, self.measure, self.reduce, self.empty_value)

    def select(self, candidates, budget, labelled=None, seed=0):
        return rank_lowest(candidates.ids, -self.uncertainty(candidates), budget)


@STRATEGIES.register_module()
class TopScoreUncertaintyStrategy(BaseStrategy):
    """The K images whose detections' top scores (predict's one score per box) are the
    most uncertain: the detected class against all others."""

    requires = ('box_scores',)

    def __init__(self, measure='entropy', reduce='max', empty_value=0.0):
        _check(measure, reduce, empty_value)
        self.measure, self.reduce, self.empty_value = measure, reduce, empty_value

    def uncertainty(self, candidates):
        """(N,) image uncertainties of the candidates (higher = picked first)."""
        boxes = candidates.require('box_scores', 'TopScoreUncertaintyStrategy')
        return image_uncertainty(boxes, self.measure, self.reduce, self.empty_value)

    def select(self, candidates, budget, labelled=None, seed=0):
        return rank_lowest(candidates.ids, -self.uncertainty(candidates), budget)
