"""TAALDetector: any mmdet detector trained jointly with a TAAL sampler head."""
import torch
import torch.nn.functional as F
from mmdet.registry import MODELS

from taal_det.datasets.active_pool import LABELLED_KEY
from .confidence_sampler import head_confidences
from .wrapper import DetectorWrapper, features_given

SAMPLER_BCE = 'sampler_bce'


def labelled_mask(data_samples, device=None):
    """True for images whose annotations may be used (metainfo ``al_labelled``)."""
    return torch.tensor([bool(s.metainfo.get(LABELLED_KEY, True)) for s in data_samples],
                        device=device)


@MODELS.register_module()
class TAALDetector(DetectorWrapper):
    """Wraps a detector; adds ``loss_sampler`` = weight * BCE(labelled vs unlabelled).

    The detector's losses use the labelled images of the batch only; the sampler sees
    every image (the unweighted BCE is logged as ``sampler_bce``). Features are
    extracted once per batch. ``detach=True`` stops the
    sampler's gradient at the features (ablation). ``predict`` is the detector's.
    A plain mmdet checkpoint of the inner detector loads into this wrapper.
    """

    def __init__(self, detector, sampler, sampler_loss_weight=0.5, detach=False,
                 data_preprocessor=None, init_cfg=None):
        super().__init__(detector, data_preprocessor, init_cfg)
        self.sampler = MODELS.build(sampler)
        self.sampler_loss_weight, self.detach = sampler_loss_weight, detach

    @property
    def trains_on_unlabelled(self):
        return True

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
        logits, _ = self.sampler(self.sampler_inputs(feats))
        target = labelled.to(logits.device, logits.dtype)
        bce = F.binary_cross_entropy_with_logits(logits, target)
        losses['loss_sampler'] = self.sampler_loss_weight * bce
        losses[SAMPLER_BCE] = bce.detach()  # logged, not optimised: the sampler's health
        return losses

    def sampler_inputs(self, feats):
        """What the sampler reads: the features, or (a sampler that ``reads``
        'class_scores') the head's confidences of all priors."""
        feats = [f.detach() for f in feats] if self.detach else feats
        if getattr(self.sampler, 'reads', 'features') != 'class_scores':
            return feats
        head = self.detector.bbox_head
        if getattr(head, 'use_sigmoid_cls', False) and self.sampler.confidences == 'softmax':
            raise ValueError("ConfidenceTokenSampler(confidences='softmax') needs a softmax "
                             f"head; {type(head).__name__} is sigmoid: use 'logits'")
        confidences = head_confidences(head, feats)
        return confidences.detach() if self.sampler.detach_head else confidences

    @torch.no_grad()
    def score(self, batch_inputs):
        """Sampler scores s (B,) and its tokens (B, D); no NMS (and, for a feature
        sampler, no detection head)."""
        logits, tokens = self.sampler(self.sampler_inputs(self.extract_feat(batch_inputs)))
        return logits.sigmoid(), tokens
