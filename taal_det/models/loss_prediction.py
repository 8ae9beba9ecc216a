"""Learning loss (Yoo & Kweon, CVPR 2019): a module that predicts each image's detection
loss from the detector's features, trained with a pairwise ranking loss.

Per feature level: global average pooling, a fully connected layer and ReLU; the levels
are concatenated and a last fully connected layer gives one scalar per image. From
``detach_from_epoch`` of every cycle on, the module reads detached features: it keeps
learning, the detector no longer receives its gradient (as the original does after
epoch 120 of 200).
"""
import torch
import torch.nn as nn
import torch.nn.functional as F
from mmengine.logging import MessageHub
from mmengine.model import BaseModule
from mmdet.models.dense_heads import SSDHead
from mmdet.registry import MODELS

from .wrapper import DetectorWrapper, features_given

EPOCH_IN_CYCLE = 'al_epoch_in_cycle'  # runtime info ActivePoolHook keeps up to date


def ranking_loss(predicted, target, margin=1.0):
    """LL4AL's loss: image i of the batch is paired with image B - 1 - i; a pair costs
    max(0, margin - sign * (predicted_i - predicted_j)), sign = +1 when target_i >
    target_j, else -1; the mean over the B // 2 pairs."""
    if len(predicted) < 2:
        return predicted.sum() * 0
    half = len(predicted) // 2
    diff = (predicted - predicted.flip(0))[:half]
    sign = torch.where((target - target.flip(0))[:half] > 0, 1.0, -1.0).to(diff.dtype)
    return F.relu(margin - sign * diff).mean()


def per_image_losses(losses, batch_size):
    """Each image's detection loss: the sum of the loss terms the head gives per image
    (SSD's loss_cls and loss_bbox are lists of B per-image terms)."""
    terms = [v for k, v in losses.items() if 'loss' in k]
    if not terms or not all(isinstance(v, (list, tuple)) and len(v) == batch_size
                            for v in terms):
        raise TypeError('LossPredictionDetector needs a detector whose losses come per image '
                        '(as lists, like SSDHead); this one returns batch means '
                        f'({", ".join(k for k in losses if "loss" in k)})')
    return torch.stack([sum(v[i].sum() for v in terms) for i in range(batch_size)])


@MODELS.register_module()
class LossPredictionModule(BaseModule):
    """Features (one map per level) -> predicted loss (B,)."""

    def __init__(self, in_channels, hidden=128, init_cfg=None):
        super().__init__(init_cfg)
        self.in_channels = list(in_channels)
        self.levels = nn.ModuleList(nn.Linear(c, hidden) for c in self.in_channels)
        self.out = nn.Linear(hidden * len(self.in_channels), 1)

    def forward(self, feats):
        channels = [f.shape[1] for f in feats]
        if channels != self.in_channels:
            raise ValueError(f'loss_module.in_channels={self.in_channels} does not fit the '
                             f"detector's feature maps (channels {channels})")
        pooled = [F.relu(fc(f.mean((2, 3)))) for fc, f in zip(self.levels, feats)]
        return self.out(torch.cat(pooled, 1)).squeeze(1)


@MODELS.register_module()
class LossPredictionDetector(DetectorWrapper):
    """Wraps a detector; adds ``loss_pred`` = weight * ranking loss of the module's
    predictions against the images' (detached) detection losses; ``predicted_loss``
    scores images for selection."""

    def __init__(self, detector, loss_module, loss_weight=1.0, margin=1.0,
                 detach_from_epoch=None, data_preprocessor=None, init_cfg=None):
        super().__init__(detector, data_preprocessor, init_cfg)
        if not isinstance(getattr(self.detector, 'bbox_head', None), SSDHead):
            raise TypeError('LossPredictionDetector needs a detector whose losses come per '
                            f'image (an SSDHead); {type(self.detector).__name__} gives batch '
                            'means')
        self.loss_module = MODELS.build(loss_module)
        self.loss_weight, self.margin = loss_weight, margin
        self.detach_from_epoch = detach_from_epoch

    def features_detached(self):
        """True from ``detach_from_epoch`` of the current cycle on."""
        if self.detach_from_epoch is None:
            return False
        epoch = MessageHub.get_current_instance().get_info(EPOCH_IN_CYCLE, 0)
        return epoch >= self.detach_from_epoch

    def loss(self, batch_inputs, batch_data_samples):
        feats = self.extract_feat(batch_inputs)
        with features_given(self.detector, feats):
            losses = self.detector.loss(batch_inputs, batch_data_samples)
        target = per_image_losses(losses, len(batch_data_samples)).detach()
        predicted = self.loss_module([f.detach() for f in feats]
                                     if self.features_detached() else feats)
        losses['loss_pred'] = self.loss_weight * ranking_loss(predicted, target, self.margin)
        return losses

    @torch.no_grad()
    def predicted_loss(self, batch_inputs):
        """The module's predicted loss per image (B,)."""
        return self.loss_module(self.extract_feat(batch_inputs))
