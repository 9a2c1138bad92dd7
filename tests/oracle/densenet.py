"""DenseNet's modules (torchvision layout) with the CSP fusions around each dense block.

The channel arithmetic, validation and plan twins are in ``cspnet/families/densenet.py``, which
documents the layout of every fusion.
"""
from __future__ import annotations

import torch
from torch import nn

from cspnet.families.densenet import all_stage_channels

from ._common import ClassifierHead, Concat, make_act
from ._dense import DenseCSPStage


class DenseLayer(nn.Module):
    """torchvision ``_DenseLayer``: concat the inputs -> BN-act-1x1 conv -> BN-act-3x3 conv.

    Takes the list of feature maps so far and returns only its ``growth_rate`` new channels.
    Plan twin: ``cspnet.families.densenet.plan_dense_layer``.
    """

    def __init__(self, in_ch: int, growth: int, bn_size: int, act: str):
        super().__init__()
        self.cat = Concat()
        self.norm1 = nn.BatchNorm2d(in_ch)
        self.relu1 = make_act(act)
        self.conv1 = nn.Conv2d(in_ch, bn_size * growth, 1, 1, 0, bias=False)
        self.norm2 = nn.BatchNorm2d(bn_size * growth)
        self.relu2 = make_act(act)
        self.conv2 = nn.Conv2d(bn_size * growth, growth, 3, 1, 1, bias=False)

    def forward(self, features: list) -> torch.Tensor:
        x = self.cat(*features)
        x = self.conv1(self.relu1(self.norm1(x)))
        return self.conv2(self.relu2(self.norm2(x)))


class DenseBlock(nn.Module):
    """torchvision ``_DenseBlock``: ``denselayer1..N`` over a growing feature list, one concat at the end.

    Plan twin: ``cspnet.families.densenet.plan_block``."""

    def __init__(self, in_ch: int, repeats: int, growth: int, bn_size: int, act: str):
        super().__init__()
        for j in range(repeats):
            self.add_module(f"denselayer{j + 1}", DenseLayer(in_ch + j * growth, growth, bn_size, act))
        self.cat = Concat()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        features = [x]
        for name, layer in self.named_children():
            if name.startswith("denselayer"):
                features.append(layer(features))
        return self.cat(*features)


class Transition(nn.Sequential):
    """torchvision ``_Transition``: BN -> act -> 1x1 conv [-> 2x2 average pool].

    Plan twin: ``cspnet.families.densenet.plan_transition``."""

    def __init__(self, in_ch: int, out_ch: int, act: str, pool: bool):
        super().__init__()
        self.norm = nn.BatchNorm2d(in_ch)
        self.relu = make_act(act)
        self.conv = nn.Conv2d(in_ch, out_ch, 1, 1, 0, bias=False)
        if pool:
            self.pool = nn.AvgPool2d(2, 2)


class DenseStage(DenseCSPStage):
    """One stage: a dense block with the fusion's split / transitions / concat around it.

    Plan twin: ``cspnet.families.densenet.plan_stage``."""

    def __init__(self, cfg, i: int, ch: dict):
        act = cfg.activation
        block = DenseBlock(ch["block_in"], cfg.repeats[i], cfg.growth_rate[i], cfg.bn_size[i], act)
        super().__init__(cfg.fusion, ch, block, lambda c_in, c_out, pool: Transition(c_in, c_out, act, pool))


def build_stem(cfg) -> nn.Sequential:
    """``conv0`` [-> ``norm0`` -> ``relu0``] [-> ``pool0``].  Plan twin: ``cspnet.families.densenet.plan_stem``."""
    k = cfg.stem_kernel
    stem = nn.Sequential()
    stem.add_module("conv0", nn.Conv2d(3, cfg.stem_channels, k, cfg.stem_stride, k // 2, bias=False))
    if cfg.stem_norm:
        stem.add_module("norm0", nn.BatchNorm2d(cfg.stem_channels))
        stem.add_module("relu0", make_act(cfg.activation))
    if cfg.stem_pool == "max":
        stem.add_module("pool0", nn.MaxPool2d(3, 2, 1))
    return stem


def build(cfg):
    """The real modules: (stem, [stage modules], head).  Plan twin: ``cspnet.families.densenet.plan``."""
    chans = all_stage_channels(cfg)
    stages = [DenseStage(cfg, i, ch) for i, ch in enumerate(chans)]
    head = ClassifierHead(chans[-1]["output"], cfg.num_classes, norm_act=cfg.activation if cfg.head_norm else None)
    return build_stem(cfg), stages, head
