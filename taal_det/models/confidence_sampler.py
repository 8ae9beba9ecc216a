"""The TAAL paper's detection sampler: a transformer over the priors of SSD's
confidence head (as the first author described it; no code was released).

Input: the class confidences of every prior of the head's levels, (B, P, C). Tokens are
the priors; a token's vector is that prior's C confidences for each of the B images of
the batch (C * B entries, image-major), so the batch size is fixed. The transformed
confidences, [B, P * C], feed the discriminator, whose first layer (P * C -> embed_dims)
holds most of the parameters. ``num_tokens`` (not in the paper) averages runs of
consecutive priors into fewer tokens first, to bound the attention and that layer.
"""
import torch
import torch.nn as nn
import torch.nn.functional as F
from mmengine.model import BaseModule
from mmdet.registry import MODELS

from .sampler import _encoder

CONFIDENCES = ('softmax', 'logits')


@MODELS.register_module()
class ConfidenceTokenSampler(BaseModule):
    """s = P(labelled | image, batch) from the head's confidences of all priors.

    Args:
        num_priors: priors of the head over all levels (SSD300: 8,732).
        num_classes: confidences per prior (the head's ``cls_out_channels``; 21 for
            SSD on VOC, background included).
        batch_size: the fixed number of images per forward (training batches and
            scoring chunks).
        embed_dims: width of the discriminator after its first layer.
        confidences: ``'softmax'`` (a softmax head's probabilities, as SSD's) or
            ``'logits'``.
        detach_head: stop the BCE at the head's outputs (default), so the detector
            trains exactly as the bare detector on the labelled images; ``False`` lets it
            reach the classification head and the backbone.
        depth: transformer layers; ``0`` drops the transformer (an ablation, not the
            paper's: the discriminator reads each image's own confidences).
        num_tokens: ``None`` (the paper: one token per prior), or average the priors, in
            mmdet's prior order, into this many tokens (``adaptive_avg_pool1d``): the
            attention holds num_tokens^2 instead of num_priors^2 scores per head and the
            first layer num_tokens x C x embed_dims weights.
    """

    reads = 'class_scores'
    fixed_batch = True

    def __init__(self, num_priors, num_classes, batch_size, embed_dims=256, depth=1,
                 num_heads=4, mlp_ratio=2.0, dropout=0.0, confidences='softmax',
                 detach_head=True, num_tokens=None, init_cfg=None):
        super().__init__(init_cfg)
        width = num_classes * batch_size
        if isinstance(depth, bool) or not isinstance(depth, int) or depth < 0:
            raise ValueError(f'sampler.depth must be an integer >= 0, got {depth!r}')
        if depth and width % num_heads:
            raise ValueError(f'sampler: num_heads={num_heads} does not divide num_classes x '
                             f'batch_size = {num_classes} x {batch_size} = {width}')
        if confidences not in CONFIDENCES:
            raise ValueError(f'sampler.confidences must be one of {CONFIDENCES}, '
                             f'got {confidences!r}')
        if num_tokens is not None and (isinstance(num_tokens, bool) or not (
                isinstance(num_tokens, int) and 0 < num_tokens <= num_priors)):
            raise ValueError(f'sampler.num_tokens must be an integer in 1..num_priors='
                             f'{num_priors} or None, got {num_tokens!r}')
        self.num_priors, self.num_classes, self.batch_size = num_priors, num_classes, batch_size
        self.confidences, self.detach_head = confidences, detach_head
        self.num_tokens = num_tokens
        self.transformer = (_encoder(width, num_heads, mlp_ratio, depth, dropout) if depth
                            else nn.Identity())
        self.first = nn.Linear((num_tokens or num_priors) * num_classes, embed_dims)
        self.discriminator = nn.Sequential(
            nn.ReLU(inplace=True), nn.Linear(embed_dims, embed_dims), nn.ReLU(inplace=True),
            nn.Linear(embed_dims, 1))

    def check(self, confidences):
        b, p, c = confidences.shape
        if (p, c) != (self.num_priors, self.num_classes):
            raise ValueError(f'sampler.num_priors={self.num_priors}, num_classes='
                             f'{self.num_classes} do not fit the head ({p} priors x {c} '
                             f'classes); set num_priors={p}, num_classes={c}')
        if b != self.batch_size:
            raise ValueError(f'ConfidenceTokenSampler needs batches of exactly '
                             f'sampler.batch_size={self.batch_size} images, got {b}')

    def forward(self, confidences):
        """(B, P, C) head outputs -> (logits (B,), tokens (B, embed_dims))."""
        self.check(confidences)
        b, p, c = confidences.shape
        x = confidences.softmax(-1) if self.confidences == 'softmax' else confidences
        if self.num_tokens:
            x = F.adaptive_avg_pool1d(x.transpose(1, 2), self.num_tokens).transpose(1, 2)
            p = self.num_tokens
        tokens = x.permute(1, 0, 2).reshape(p, b * c)  # prior p: [image 0's C, image 1's C..]
        mixed = self.transformer(tokens[None])[0]
        hidden = self.first(mixed.reshape(p, b, c).permute(1, 0, 2).reshape(b, p * c))
        return self.discriminator(hidden).squeeze(1), hidden


def head_confidences(head, feats):
    """A dense head's classification outputs for all priors of all levels, (B, P, C),
    in mmdet's prior order (level, then position, then anchor)."""
    cls_scores = head(feats)[0]
    return torch.cat([c.permute(0, 2, 3, 1).reshape(c.shape[0], -1, head.cls_out_channels)
                      for c in cls_scores], 1)
