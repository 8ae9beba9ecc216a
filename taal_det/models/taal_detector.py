"""TAALDetector: any mmdet detector trained jointly with a TAAL sampler head."""
import copy
from contextlib import contextmanager

import torch
import torch.nn.functional as F
from mmdet.models.detectors import BaseDetector
from mmdet.registry import MODELS

from taal_det.datasets.active_pool import LABELLED_KEY

SAMPLER_BCE = 'sampler_bce'


@contextmanager
def features_given(detector, feats):
    """Let ``detector.loss`` reuse already extracted features (no second backbone pass)."""
    detector.extract_feat = lambda inputs: feats
    try:
        yield
    finally:
        del detector.extract_feat


def labelled_mask(data_samples, device=None):
    """True for images whose annotations may be used (metainfo ``al_labelled``)."""
    return torch.tensor([bool(s.metainfo.get(LABELLED_KEY, True)) for s in data_samples],
                        device=device)


@MODELS.register_module()
class TAALDetector(BaseDetector):
    """Wraps a detector; adds ``loss_sampler`` = weight * BCE(labelled vs unlabelled).

    The detector's losses use the labelled images of the batch only; the sampler sees
    every image (the unweighted BCE is logged as ``sampler_bce``). Features are
    extracted once per batch. ``detach=True`` stops the
    sampler's gradient at the features (ablation). ``predict`` is the detector's.
    A plain mmdet checkpoint of the inner detector loads into this wrapper.
    """

    def __init__(self, detector, sampler, sampler_loss_weight=0.5, detach=False,
                 data_preprocessor=None, init_cfg=None):
        detector = copy.deepcopy(detector)
        if not isinstance(detector, dict) or 'type' not in detector:
            raise TypeError('TAALDetector.detector must be an mmdet detector config dict '
                            f'with a type, got {detector!r}')
        inner_preprocessor = detector.pop('data_preprocessor', None)
        super().__init__(data_preprocessor=data_preprocessor or inner_preprocessor,
                         init_cfg=init_cfg)
        self.detector = MODELS.build(detector)
        if not isinstance(self.detector, BaseDetector):
            raise TypeError(f"TAALDetector.detector must build an mmdet detector, but "
                            f"type={detector['type']!r} built {type(self.detector).__name__}")
        self.sampler = MODELS.build(sampler)
        self.sampler_loss_weight, self.detach = sampler_loss_weight, detach

    @property
    def trains_on_unlabelled(self):
        return True

    def extract_feat(self, batch_inputs):
        return self.detector.extract_feat(batch_inputs)

    def loss(self, batch_inputs, batch_data_samples):
        labelled = labelled_mask(batch_data_samples)
        if not labelled.any():
            raise ValueError('TAALDetector: a training batch holds no labelled image; '
                             'train it through ActivePoolHook, whose sampler mixes both')
        feats = self.extract_feat(batch_inputs)
        idx = labelled.nonzero().flatten()
        losses = {}
        if len(idx) == len(labelled):
            det_feats, det_inputs, det_samples = feats, batch_inputs, batch_data_samples
        else:
            det_feats = tuple(f[idx.to(f.device)] for f in feats)
            det_inputs = batch_inputs[idx.to(batch_inputs.device)]
            det_samples = [batch_data_samples[i] for i in idx.tolist()]
        with features_given(self.detector, det_feats):
            losses.update(self.detector.loss(det_inputs, det_samples))
        logits, _ = self.sampler([f.detach() for f in feats] if self.detach else feats)
        target = labelled.to(logits.device, logits.dtype)
        bce = F.binary_cross_entropy_with_logits(logits, target)
        losses['loss_sampler'] = self.sampler_loss_weight * bce
        losses[SAMPLER_BCE] = bce.detach()  # logged, not optimised: the sampler's health
        return losses

    def predict(self, batch_inputs, batch_data_samples, rescale=True):
        return self.detector.predict(batch_inputs, batch_data_samples, rescale=rescale)

    def _forward(self, batch_inputs, batch_data_samples=None):
        return self.detector._forward(batch_inputs, batch_data_samples)

    @torch.no_grad()
    def score(self, batch_inputs):
        """Sampler scores s (B,) and pooled tokens (B, D): no detection head, no NMS."""
        logits, tokens = self.sampler(self.extract_feat(batch_inputs))
        return logits.sigmoid(), tokens

    def _load_from_state_dict(self, state_dict, prefix, *args, **kwargs):
        """Accept a plain mmdet checkpoint of the inner detector (keys without
        ``detector.``): those keys are moved under ``detector.``."""
        own = ('detector.', 'sampler.', 'data_preprocessor.')
        for key in [k for k in state_dict if k.startswith(prefix)]:
            rest = key[len(prefix):]
            if not rest.startswith(own):
                state_dict[prefix + 'detector.' + rest] = state_dict.pop(key)
        super()._load_from_state_dict(state_dict, prefix, *args, **kwargs)
