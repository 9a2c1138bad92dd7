"""PeleeNet's modules (the official ``Robert-JunWang/PeleeNet`` layout) with the CSP fusions.

The channel arithmetic, validation and plan twins are in ``cspnet/families/peleenet.py``, which
documents the layout of the network and of every fusion.
"""
from __future__ import annotations

import torch
from torch import nn

from cspnet.families.peleenet import all_stage_channels

from ._common import ClassifierHead, Concat, make_act
from ._dense import DenseCSPStage


class BasicConv2d(nn.Sequential):
    """The official ``BasicConv2d``: conv (no bias) -> BN -> act; children ``conv``, ``norm``, ``act``.

    Plan twin: ``cspnet.families.peleenet.plan_basic``."""

    def __init__(self, in_ch: int, out_ch: int, kernel: int, stride: int = 1, padding: int = 0, act: str = "relu"):
        super().__init__()
        self.conv = nn.Conv2d(in_ch, out_ch, kernel, stride, padding, bias=False)
        self.norm = nn.BatchNorm2d(out_ch)
        self.act = make_act(act)


class StemBlock(nn.Module):
    """The official ``_StemBlock``: stem1 -> [2x2 max pool | 1x1 -> 3x3/2] -> concat -> 1x1.

    Plan twin: ``cspnet.families.peleenet.plan_stem``."""

    def __init__(self, cfg):
        super().__init__()
        c, act, k = cfg.stem_channels, cfg.activation, cfg.stem_kernel
        self.stem1 = BasicConv2d(3, c, k, cfg.stem_stride, k // 2, act)
        self.stem2a = BasicConv2d(c, c // 2, 1, act=act)
        self.stem2b = BasicConv2d(c // 2, c, 3, 2, 1, act=act)
        if cfg.stem_pool == "max":
            self.pool = nn.MaxPool2d(2, 2)
        self.cat = Concat()
        self.stem3 = BasicConv2d(2 * c if cfg.stem_pool == "max" else c, c, 1, act=act)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.stem1(x)
        branch2 = self.stem2b(self.stem2a(x))
        if hasattr(self, "pool"):
            return self.stem3(self.cat(self.pool(x), branch2))
        return self.stem3(branch2)


class TwoWayDenseLayer(nn.Module):
    """The official ``_DenseLayer``: concat [x, 1x1 -> 3x3, 1x1 -> 3x3 -> 3x3] (growth/2 each).

    Plan twin: ``cspnet.families.peleenet.plan_dense_layer``."""

    def __init__(self, in_ch: int, inter: int, growth: int, act: str):
        super().__init__()
        half = growth // 2
        self.branch1a = BasicConv2d(in_ch, inter, 1, act=act)
        self.branch1b = BasicConv2d(inter, half, 3, padding=1, act=act)
        self.branch2a = BasicConv2d(in_ch, inter, 1, act=act)
        self.branch2b = BasicConv2d(inter, half, 3, padding=1, act=act)
        self.branch2c = BasicConv2d(half, half, 3, padding=1, act=act)
        self.cat = Concat()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        b1 = self.branch1b(self.branch1a(x))
        b2 = self.branch2c(self.branch2b(self.branch2a(x)))
        return self.cat(x, b1, b2)


def build_block(layers: list, growth: int, act: str) -> nn.Sequential:
    """A two-way dense block: ``denselayer1..N`` in sequence.  Plan twin: ``cspnet.families.peleenet.plan_block``."""
    block = nn.Sequential()
    for j, (n_in, inter) in enumerate(layers):
        block.add_module(f"denselayer{j + 1}", TwoWayDenseLayer(n_in, inter, growth, act))
    return block


class Transition(nn.Sequential):
    """PeleeNet's transition: 1x1 ``BasicConv2d`` (conv -> BN -> act) [-> 2x2 average pool].

    Plan twin: ``cspnet.families.peleenet.plan_transition``."""

    def __init__(self, in_ch: int, out_ch: int, act: str, pool: bool):
        super().__init__()
        self.conv = nn.Conv2d(in_ch, out_ch, 1, 1, 0, bias=False)
        self.norm = nn.BatchNorm2d(out_ch)
        self.act = make_act(act)
        if pool:
            self.pool = nn.AvgPool2d(2, 2)


class PeleeStage(DenseCSPStage):
    """One stage: a two-way dense block with the fusion's split / transitions / concat around it.

    Plan twin: ``cspnet.families.peleenet.plan_stage``."""

    def __init__(self, cfg, i: int, ch: dict):
        act = cfg.activation
        block = build_block(ch["layers"], cfg.growth_rate[i], act)
        super().__init__(cfg.fusion, ch, block, lambda c_in, c_out, pool: Transition(c_in, c_out, act, pool))


def build(cfg):
    """The real modules: (stem, [stage modules], head).  Plan twin: ``cspnet.families.peleenet.plan``."""
    chans = all_stage_channels(cfg)
    stages = [PeleeStage(cfg, i, ch) for i, ch in enumerate(chans)]
    head = ClassifierHead(chans[-1]["output"], cfg.num_classes, norm_act=cfg.activation if cfg.head_norm else None)
    return StemBlock(cfg), stages, head
