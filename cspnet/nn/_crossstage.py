"""The modules of the ResNet, ResNeXt and Darknet families: the stem and ``CrossStage``.

Each stage is built from its ``StageLayout``, computed by the family's ``CrossStageStyle`` in
``cspnet/families/_crossstage.py`` (which documents the layouts and holds the plan twins); the
blocks it repeats come from ``cspnet.families._blocks.BLOCK_TYPES``.
"""
from __future__ import annotations

from torch import nn

from ..families._blocks import BLOCK_TYPES
from ..families._crossstage import StageLayout
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


class CrossStage(nn.Module):
    """One stage of any fusion (see ``cspnet.families._crossstage``); submodules are the tap points.

    Plan twin: ``cspnet.families._crossstage.plan_stage``."""

    def __init__(self, lay: StageLayout, act: str):
        super().__init__()
        self.fusion = lay.fusion
        ch = lay.in_ch
        self.down = None
        if lay.down_ch:
            self.down = ConvNormAct(ch, lay.down_ch, 3, lay.stride, groups=lay.down_groups, act=act)
            ch = lay.down_ch
        if lay.fusion != "none":
            self.expand = ConvNormAct(ch, lay.expand_ch, 1, act=act if lay.expand_act else None)
            self.split = Split(lay.part1)
            ch = lay.part2
        block_cls, stride, blocks = BLOCK_TYPES[lay.block].module_class(), lay.block_stride, []
        for _ in range(lay.repeats):
            blocks.append(block_cls(ch, lay.block_ch, lay.mid, stride, lay.groups, act))
            ch, stride = lay.block_ch, 1
        self.block = nn.Sequential(*blocks)
        self.partial_transition = None
        self.transition = None
        if lay.partial_ch:
            self.partial_transition = ConvNormAct(ch, lay.partial_ch, 1, act=act)
            ch = lay.partial_ch
        if lay.fusion != "none":
            self.concat = Concat()
            if lay.fusion in ("csp", "fusion_first"):
                self.transition = ConvNormAct(lay.part1 + ch, lay.out_ch, 1, act=act)

    def forward(self, x):
        if self.down is not None:
            x = self.down(x)
        if self.fusion == "none":
            return self.block(x)
        part1, part2 = self.split(self.expand(x))
        y = self.block(part2)
        if self.partial_transition is not None:
            y = self.partial_transition(y)
        y = self.concat(part1, y)
        if self.transition is not None:
            y = self.transition(y)
        return y


def build(cfg, layouts: list):
    """The real modules (stem, [stage modules], head) of ``layouts``.

    Plan twin: ``cspnet.families._crossstage.CrossStageStyle.plan``."""
    stem = Stem(cfg.stem_channels, cfg.stem_kernel, cfg.stem_stride, cfg.stem_pool, cfg.activation)
    stages = [CrossStage(lay, cfg.activation) for lay in layouts]
    head = ClassifierHead(layouts[-1].out_ch, cfg.num_classes, norm_act=None)
    return stem, stages, head
