"""The TAAL sampler head: pooled detector features -> transformer over the batch ->
discriminator giving s = P(labelled | image, batch)."""
from typing import Sequence

import torch
import torch.nn as nn
import torch.nn.functional as F
from mmengine.model import BaseModule
from mmdet.registry import MODELS

LAYOUTS = ('batch_tokens', 'channel_tokens', 'none')


def _encoder(d_model, num_heads, mlp_ratio, depth, dropout):
    layer = nn.TransformerEncoderLayer(d_model, num_heads, int(d_model * mlp_ratio), dropout,
                                       batch_first=True)
    return nn.TransformerEncoder(layer, depth, enable_nested_tensor=False)


@MODELS.register_module()
class TransformerSampler(BaseModule):
    """Scores how "labelled" each image of a batch looks, from the detector's features.

    Args:
        in_channels: channels of each feature level the detector returns.
        levels: indices of the levels pooled into the token (default: all of them).
        embed_dims: size of the per-image token.
        depth, num_heads, mlp_ratio, dropout: the transformer encoder.
        layout: ``'batch_tokens'`` (one token per image, images attend to each other),
            ``'none'`` (JLS ablation: no transformer) or ``'channel_tokens'`` (the
            authors' code layout: channels are tokens, the batch is the embedding, so
            every batch must hold exactly ``batch_size`` images).
        batch_size: the fixed batch size of the ``'channel_tokens'`` layout.
        scale: the discriminator's input is ``scale`` times the L2-normalised token
            (default ``sqrt(embed_dims)``: entries of unit size, so the logits differ
            between images from the first step); ``learn_scale`` makes it a parameter.
    """

    reads = 'features'

    def __init__(self, in_channels: Sequence[int], embed_dims=256, depth=1, num_heads=4,
                 mlp_ratio=2.0, dropout=0.0, layout='batch_tokens', batch_size=None,
                 scale=None, learn_scale=False, levels=None, init_cfg=None):
        super().__init__(init_cfg)
        if layout not in LAYOUTS:
            raise ValueError(f'sampler.layout must be one of {LAYOUTS}, got {layout!r}')
        self.in_channels = list(in_channels)
        levels = range(len(self.in_channels)) if levels is None else \
            [levels] if isinstance(levels, int) else levels
        self.levels = list(levels)
        if not self.levels or len(set(self.levels)) < len(self.levels) or not all(
                isinstance(i, int) and 0 <= i < len(self.in_channels) for i in self.levels):
            raise ValueError(f'sampler.levels={self.levels!r} must name some of the '
                             f'{len(self.in_channels)} levels of in_channels (0 to '
                             f'{len(self.in_channels) - 1}), each once')
        self.layout, self.batch_size = layout, batch_size
        pooled = sum(self.in_channels[i] for i in self.levels)
        self.embed = nn.Sequential(nn.Linear(pooled, embed_dims),
                                   nn.LayerNorm(embed_dims))
        if layout == 'batch_tokens':
            if embed_dims % num_heads:
                raise ValueError(f'sampler.embed_dims={embed_dims} is not divisible by '
                                 f'sampler.num_heads={num_heads}')
            self.transformer = _encoder(embed_dims, num_heads, mlp_ratio, depth, dropout)
        elif layout == 'channel_tokens':
            if not batch_size or batch_size % num_heads:
                raise ValueError("sampler.layout='channel_tokens' needs sampler.batch_size "
                                 f'(the fixed batch size) divisible by num_heads={num_heads}, '
                                 f'got batch_size={batch_size}')
            self.transformer = _encoder(batch_size, num_heads, mlp_ratio, depth, dropout)
        if scale is not None and not scale > 0:
            raise ValueError(f'sampler.scale must be positive (or None), got {scale!r}')
        scale = torch.tensor(float(scale or embed_dims ** 0.5)).log()
        self.log_scale = nn.Parameter(scale, requires_grad=learn_scale)
        self.discriminator = nn.Sequential(
            nn.Linear(embed_dims, embed_dims), nn.ReLU(inplace=True),
            nn.Linear(embed_dims, embed_dims), nn.ReLU(inplace=True), nn.Linear(embed_dims, 1))

    @property
    def fixed_batch(self):
        """Whether every forward needs exactly ``batch_size`` images."""
        return self.layout == 'channel_tokens'

    def pool(self, feats):
        """One token per image: average-pool the chosen levels, concatenate, project."""
        channels = [f.shape[1] for f in feats]
        if channels != self.in_channels:
            raise ValueError(f'sampler.in_channels={self.in_channels} does not fit the '
                             f"detector's feature maps (channels {channels}); set "
                             f'sampler.in_channels={channels}')
        return self.embed(torch.cat([feats[i].mean((2, 3)) for i in self.levels], 1))

    def mix(self, tokens):
        """Let the images of the batch attend to each other (per ``layout``)."""
        if self.layout == 'none':
            return tokens
        if self.layout == 'batch_tokens':
            return self.transformer(tokens[None])[0]
        if len(tokens) != self.batch_size:
            raise ValueError(f"sampler.layout='channel_tokens' needs batches of exactly "
                             f'sampler.batch_size={self.batch_size} images, got '
                             f'{len(tokens)}; use drop_last=True or another layout')
        return self.transformer(tokens.T[None])[0].T

    def forward(self, feats):
        """Return (logits (B,), tokens (B, D)); s = sigmoid(logits)."""
        tokens = self.pool(feats)
        mixed = F.normalize(self.mix(tokens), dim=1) * self.log_scale.exp()
        return self.discriminator(mixed).squeeze(1), tokens
