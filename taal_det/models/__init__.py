from .confidence_sampler import ConfidenceTokenSampler
from .efficientnet_lite import EfficientNetLite0, lite0_weights_path
from .loss_prediction import LossPredictionDetector, LossPredictionModule
from .sampler import TransformerSampler
from .ssd_predict_fix import ensure_ssd_head_predicts
from .taal_detector import TAALDetector

ensure_ssd_head_predicts()

__all__ = ['EfficientNetLite0', 'TransformerSampler', 'ConfidenceTokenSampler', 'TAALDetector',
           'LossPredictionDetector', 'LossPredictionModule', 'lite0_weights_path',
           'ensure_ssd_head_predicts']
