"""Learning loss (LL4AL): the images whose predicted detection loss is highest."""
from .base import STRATEGIES, BaseStrategy, rank_lowest


@STRATEGIES.register_module()
class LossPredictionStrategy(BaseStrategy):
    """The K images of highest predicted loss (``LossPredictionDetector``)."""

    requires = ('predicted_loss',)

    def select(self, candidates, budget, labelled=None, seed=0):
        predicted = candidates.require('predicted_loss', 'LossPredictionStrategy')
        return rank_lowest(candidates.ids, -predicted, budget)
