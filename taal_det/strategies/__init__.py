from .base import STRATEGIES, BaseStrategy, PoolOutputs, random_subset, rank_lowest
from .coreset import CoreSetStrategy, k_center_greedy
from .loss_prediction import LossPredictionStrategy
from .random_sampling import RandomStrategy
from .taal import TAALStrategy, taal_priority
from .uncertainty import (TopScoreUncertaintyStrategy, UncertaintyStrategy, class_distribution,
                          image_uncertainty)

__all__ = ['STRATEGIES', 'BaseStrategy', 'PoolOutputs', 'random_subset', 'rank_lowest',
           'TAALStrategy', 'taal_priority', 'RandomStrategy', 'UncertaintyStrategy',
           'TopScoreUncertaintyStrategy', 'class_distribution', 'image_uncertainty',
           'CoreSetStrategy', 'k_center_greedy', 'LossPredictionStrategy']
