"""What the models that wrap an mmdet detector share: building it, delegating inference
to it, and loading a plain checkpoint of it."""
import copy
from contextlib import contextmanager

from mmdet.models.detectors import BaseDetector
from mmdet.registry import MODELS


@contextmanager
def features_given(detector, feats):
    """Let ``detector.loss`` reuse already extracted features (no second backbone pass)."""
    detector.extract_feat = lambda inputs: feats
    try:
        yield
    finally:
        del detector.extract_feat


class DetectorWrapper(BaseDetector):
    """An mmdet detector (``self.detector``) plus extra heads; ``predict`` and
    ``extract_feat`` are the detector's, and a plain mmdet checkpoint of the detector
    loads into the wrapper."""

    def __init__(self, detector, data_preprocessor=None, init_cfg=None):
        detector = copy.deepcopy(detector)
        if not isinstance(detector, dict) or 'type' not in detector:
            raise TypeError(f'{type(self).__name__}.detector must be an mmdet detector config '
                            f'dict with a type, got {detector!r}')
        inner_preprocessor = detector.pop('data_preprocessor', None)
        super().__init__(data_preprocessor=data_preprocessor or inner_preprocessor,
                         init_cfg=init_cfg)
        self.detector = MODELS.build(detector)
        if not isinstance(self.detector, BaseDetector):
            raise TypeError(f"{type(self).__name__}.detector must build an mmdet detector, but "
                            f"type={detector['type']!r} built {type(self.detector).__name__}")

    def extract_feat(self, batch_inputs):
        return self.detector.extract_feat(batch_inputs)

    def predict(self, batch_inputs, batch_data_samples, rescale=True):
        return self.detector.predict(batch_inputs, batch_data_samples, rescale=rescale)

    def _forward(self, batch_inputs, batch_data_samples=None):
        return self.detector._forward(batch_inputs, batch_data_samples)

    def _load_from_state_dict(self, state_dict, prefix, *args, **kwargs):
        """Accept a plain mmdet checkpoint of the inner detector (keys without
        ``detector.``): those keys are moved under ``detector.``."""
        own = ('detector.', 'data_preprocessor.') + tuple(
            f'{name}.' for name, _ in self.named_children() if name != 'detector')
        for key in [k for k in state_dict if k.startswith(prefix)]:
            rest = key[len(prefix):]
            if not rest.startswith(own):
                state_dict[prefix + 'detector.' + rest] = state_dict.pop(key)
        super()._load_from_state_dict(state_dict, prefix, *args, **kwargs)
