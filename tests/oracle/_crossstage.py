"""The modules of the ResNet, ResNeXt and Darknet families: the stem and ``CrossStage``.

Each stage is built from its ``StageLayout``, computed by the family's ``CrossStageStyle`` in
``cspnet/families/_crossstage.py`` (which documents the layouts and holds the plan twins); the
blocks it repeats come from ``cspnet.families._blocks.BLOCK_TYPES``.
"""
from __future__ import annotations

import torch
from torch import nn

from cspnet.families._crossstage import StageLayout

from ._blocks import ORACLE_BLOCKS, DarkBlock
from ._common import ClassifierHead, Concat, ConvNormAct, Split, make_act


class Stem(nn.Sequential):
    """conv (stem_kernel, stem_stride) -> BN -> act [-> 3x3/2 max pool]; children conv, bn, act, pool.

    Plan twin: ``cspnet.families._crossstage.plan_stem``."""

    def __init__(self, out_ch: int, kernel: int, stride: int, pool: str, act: str):
        super().__init__()
        self.conv = nn.Conv2d(3, out_ch, kernel, stride, kernel // 2, bias=False)
        self.bn = nn.BatchNorm2d(out_ch)
        self.act = make_act(act)
        if pool == "max":
            self.pool = nn.MaxPool2d(kernel_size=3, stride=2, padding=1)


class ConvStem(nn.Sequential):
    """A lineage stem: ``conv0``, ``conv1``, ... (ConvNormAct) and YOLOv4-CSP's ``block<j>`` dark block.

    Plan twin: ``cspnet.families._crossstage.plan_lineage_stem``."""

    def __init__(self, layers, act: str):
        super().__init__()
        ch = 3
        for j, layer in enumerate(layers):
            if layer.kind == "dark":
                self.add_module(f"block{j}", DarkBlock(ch, layer.out_ch, layer.mid, act=act))
            else:
                self.add_module(f"conv{j}", ConvNormAct(ch, layer.out_ch, layer.kernel, layer.stride, act=act,
                                                        padding=layer.padding))
            ch = layer.out_ch


class MPDown(nn.Module):
    """YOLOv7's MP down-sampling: [2x2 max pool -> 1x1] beside [1x1 -> 3x3 stride 2], concatenated.

    Plan twin: ``cspnet.families._crossstage.plan_mp_down``."""

    def __init__(self, in_ch: int, out_ch: int, act: str):
        super().__init__()
        half = out_ch // 2
        self.pool = nn.MaxPool2d(2, 2)
        self.pool_conv = ConvNormAct(in_ch, half, 1, act=act)
        self.conv1 = ConvNormAct(in_ch, half, 1, act=act)
        self.conv2 = ConvNormAct(half, half, 3, 2, act=act)
        self.cat = Concat()

    def forward(self, x):
        return self.cat(self.conv2(self.conv1(x)), self.pool_conv(self.pool(x)))


class SPPBottleneck(nn.Module):
    """mmdet's SPPBottleneck: 1x1 to c/2, max pools 5/9/13 (stride 1), concat with the input, 1x1.

    Plan twin: ``cspnet.families._crossstage.plan_spp``."""

    def __init__(self, in_ch: int, out_ch: int, act: str, kernels=(5, 9, 13)):
        super().__init__()
        mid = in_ch // 2
        self.conv1 = ConvNormAct(in_ch, mid, 1, act=act)
        self.pools = nn.ModuleList(nn.MaxPool2d(k, 1, k // 2) for k in kernels)
        self.cat = Concat()
        self.conv2 = ConvNormAct(mid * (len(kernels) + 1), out_ch, 1, act=act)

    def forward(self, x):
        x = self.conv1(x)
        return self.conv2(self.cat(x, *(pool(x) for pool in self.pools)))


class ChannelAttention(nn.Module):
    """mmdet's ChannelAttention: mean over H, W (as timm's port), 1x1 conv (bias), hard sigmoid; x x gate.

    Plan twin: ``cspnet.families._crossstage.plan_channel_attention``."""

    def __init__(self, channels: int):
        super().__init__()
        self.fc = nn.Conv2d(channels, channels, 1, bias=True)
        self.act = nn.Hardsigmoid()

    def forward(self, x):
        return x * self.act(self.fc(x.mean((2, 3), keepdim=True)))


class NormAct(nn.Sequential):
    """BatchNorm -> activation after BottleneckCSP's concat (the ``post`` rows of its plan twin).

    Plan twin: ``cspnet.families._crossstage.plan_stage``."""

    def __init__(self, channels: int, act: str):
        super().__init__()
        self.bn = nn.BatchNorm2d(channels)
        self.act = make_act(act)


class TwoConvSplit(nn.Module):
    """The two parts made by two 1x1 convs from one input: ``(cross, main)`` = ``(part1, part2)``.

    ``bare``: the cross path is a conv without BN or activation (BottleneckCSP, normalised after the
    concat).  The ``split.*`` rows of its plan twin.

    Plan twin: ``cspnet.families._crossstage.plan_stage``."""

    def __init__(self, in_ch: int, part1: int, part2: int, act: str, bare: bool = False, shared: bool = False):
        super().__init__()
        self.shared = shared
        if shared:   # BottleneckCSP2: both parts from one tensor, the cross path a bare conv of part 2
            self.cross = nn.Conv2d(part2, part1, 1, bias=False)
        else:
            self.cross = nn.Conv2d(in_ch, part1, 1, bias=False) if bare else ConvNormAct(in_ch, part1, 1, act=act)
        self.main = ConvNormAct(in_ch, part2, 1, act=act)

    def forward(self, x):
        main = self.main(x)
        return self.cross(main if self.shared else x), main


class BlockPath(nn.Sequential):
    """A stage's blocks in sequence; with ``aggregate`` the output is part 2 and every block's output
    concatenated (C2f, C3k2, ELAN).  Its rows are the block loop of the plan twin.

    Plan twin: ``cspnet.families._crossstage.plan_stage``."""

    def __init__(self, blocks, aggregate: bool = False, merged: bool = False):
        super().__init__(*blocks)
        self.aggregate = aggregate
        self.merged = merged     # the stage's concat reads every tap itself (fusion first): return the last
        self.taps: list = []

    def forward(self, x):
        if not self.aggregate:
            return super().forward(x)
        outs = [x]
        for blk in self:
            x = blk(x)
            outs.append(x)
        if self.merged:
            self.taps = outs
            return x
        return torch.cat(outs, dim=1)


class CrossStage(nn.Module):
    """One stage of any fusion and any lineage layout (see ``cspnet.families._crossstage``); submodules
    are the tap points.  Plan twin: ``cspnet.families._crossstage.plan_stage``."""

    def __init__(self, lay: StageLayout, act: str):
        super().__init__()
        self.fusion = lay.fusion
        ch = lay.in_ch
        self.down = None
        if lay.down_ch:
            if lay.down_kind == "mp":
                self.down = MPDown(ch, lay.down_ch, act)
            else:
                self.down = ConvNormAct(ch, lay.down_ch, 3, lay.stride, groups=lay.down_groups, act=act)
            ch = lay.down_ch
        self.spp = SPPBottleneck(ch, ch, act) if lay.spp else None
        self.expand = None
        if lay.fusion != "none":
            if lay.split in ("one", "slice"):
                if lay.split == "one":
                    self.expand = ConvNormAct(ch, lay.expand_ch, 1, act=act if lay.expand_act else None)
                self.split = Split(lay.part1)
            else:
                self.split = TwoConvSplit(ch, lay.part1, lay.part2, act, bare=lay.split == "two_bare",
                                          shared=lay.split == "shared")
            ch = lay.part2
        block_cls, stride, blocks = ORACLE_BLOCKS[lay.block], lay.block_stride, []
        for _ in range(lay.repeats):
            blocks.append(block_cls(ch, lay.block_ch, lay.mid, stride, lay.groups, act, lay.residual, lay.se_ratio))
            ch, stride = lay.block_ch, 1
        self.merged = lay.taps == "all" and lay.fusion != "none" and not lay.partial_ch
        self.two = lay.split in ("two", "two_bare", "shared")   # the block path first in the concat
        self.block = BlockPath(blocks, aggregate=lay.taps == "all", merged=self.merged)
        ch = lay.path_ch
        self.partial_transition = None
        self.post = None
        self.transition = None
        if lay.partial_ch:
            if lay.split == "two_bare":
                self.partial_transition = nn.Conv2d(ch, lay.partial_ch, 1, bias=False)
            else:
                self.partial_transition = ConvNormAct(ch, lay.partial_ch, 1, act=act)
            ch = lay.partial_ch
        if lay.fusion != "none":
            self.concat = Concat()
            ch = lay.part1 + ch
            if lay.post == "bn_act":
                self.post = NormAct(ch, act)
            elif lay.post == "attention":
                self.post = ChannelAttention(ch)
        if lay.has_transition:
            self.transition = ConvNormAct(ch, lay.out_ch, 1, act=act)

    def forward(self, x):
        if self.down is not None:
            x = self.down(x)
        if self.spp is not None:
            x = self.spp(x)
        if self.fusion == "none":
            y = self.block(x)
        else:
            part1, part2 = self.split(x if self.expand is None else self.expand(x))
            y = self.block(part2)
            if self.partial_transition is not None:
                y = self.partial_transition(y)
            path = self.block.taps if self.merged else [y]
            y = self.concat(*reversed(path), part1) if self.two else self.concat(part1, *path)
            if self.post is not None:
                y = self.post(y)
        if self.transition is not None:
            y = self.transition(y)
        return y


def build(cfg, layouts: list, stem_layers: tuple = (), head_conv: int = 0):
    """The real modules (stem, [stage modules], head) of ``layouts``.

    Plan twin: ``cspnet.families._crossstage.CrossStageStyle.plan``."""
    if stem_layers:
        stem = ConvStem(stem_layers, cfg.activation)
    else:
        stem = Stem(cfg.stem_channels, cfg.stem_kernel, cfg.stem_stride, cfg.stem_pool, cfg.activation)
    stages = [CrossStage(lay, cfg.activation) for lay in layouts]
    head = ClassifierHead(layouts[-1].out_ch, cfg.num_classes, norm_act=None, conv_ch=head_conv,
                          conv_act=cfg.activation)
    return stem, stages, head
