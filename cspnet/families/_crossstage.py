"""Shared machinery of the ResNet, ResNeXt and Darknet families: stem, residual blocks, stages, head.

Every stage is described once by a :class:`StageLayout` (its channel arithmetic, computed by the
family from the config) and then turned into modules (:class:`CrossStage`) and into a plan
(:func:`plan_stage`).  The two are written side by side so that they cannot drift apart; the
tests check them against each other on every preset and fusion.

Stage layouts, by fusion (``C = round(width * expand_ratio)``, ``part2 = floor(C * split_ratio)``,
``part1 = C - part2``, ``P = floor(part2 * transition_ratio)``)::

    none          [down] -> block                                     (torchvision ResNet / timm DarkStage)
    csp           [down] -> expand -> split -> block(part2) -> partial_transition (P)
                         -> concat [part1, P] -> transition (width)   (timm CrossStage)
    fusion_first  [down] -> expand -> split -> block(part2)
                         -> concat [part1, block] -> transition (width) (timm CrossStage3)
    fusion_last   [down] -> expand -> split -> block(part2) -> partial_transition (P)
                         -> concat [part1, P]                         (no transition after the concat)

``fusion_last`` is not in timm; it is defined here by analogy with the CSPNet paper's Fig. 3d:
the only 1x1 transition sits on the block path, before the concat, and nothing follows the
concat.  Its stage therefore outputs ``part1 + P`` channels, **not** ``widths[i]`` (with the
defaults ``split_ratio=0.5`` and ``transition_ratio=1`` that is ``C``, the expanded width), and the
next stage's input is that number.

The blocks of a CSP stage keep ``part2`` channels (a residual block needs equal input and output
channels); timm's ``block_ratio`` is ``0.5`` with ``expand_ratio=1`` or ``1`` with
``expand_ratio=2`` in every preset, which is the same thing.  Module names are the tap points of
``cspnet.plan.TAP_ORDER``: ``down``, ``expand``, ``split``, ``block``, ``partial_transition``,
``concat``, ``transition``.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

from torch import nn

from ..blocks import ClassifierHead, Concat, ConvNormAct, Split, make_act, plan_head
from ..errors import ConfigError
from ..plan import PlanBuilder

CSP_FUSIONS = ("csp", "fusion_first", "fusion_last")
COMMON_FIELDS = (
    "stem_channels", "stem_kernel", "stem_stride", "stem_pool", "repeats", "widths", "strides",
    "expand_ratio", "fusion", "split_ratio", "transition_ratio", "activation", "input_size",
    "num_classes",
)


# --------------------------------------------------------------------------- stage arithmetic
@dataclass(frozen=True)
class StageLayout:
    """The channel arithmetic of one stage, shared by its module and its plan."""

    fusion: str
    block: str          # "bottleneck" | "dark"
    repeats: int
    in_ch: int          # stage input channels
    stride: int
    down_ch: int        # output of the 3x3 strided conv ``down`` (0: no such conv)
    down_groups: int
    expand_ch: int      # C, output of the 1x1 ``expand`` (0: plain stage, no split)
    expand_act: bool    # False: linear expansion (timm ``cross_linear=True``)
    part2: int          # channels through the blocks (CSP stages)
    block_ch: int       # output channels of every block
    mid: int            # bottleneck width inside each block
    groups: int         # groups of the blocks' 3x3 conv
    partial_ch: int     # output of ``partial_transition`` (0: none)
    out_ch: int         # stage output channels

    @property
    def part1(self) -> int:
        return self.expand_ch - self.part2

    @property
    def block_stride(self) -> int:
        """The first block strides only in a torchvision-style stage (no ``down``, no split)."""
        return self.stride if not self.down_ch and not self.expand_ch else 1


def split_channels(width: int, expand_ratio: float, split_ratio: float, transition_ratio: float,
                   fusion: str) -> tuple:
    """``(C, part2, partial_ch, out_ch)`` of a CSP stage whose nominal width is ``width``."""
    c = int(round(width * expand_ratio))
    part2 = math.floor(c * split_ratio)
    partial = math.floor(part2 * transition_ratio) if fusion in ("csp", "fusion_last") else 0
    out = (c - part2) + partial if fusion == "fusion_last" else width
    return c, part2, partial, out


# --------------------------------------------------------------------------- validation
def check_widths(cfg) -> None:
    for i, w in enumerate(cfg.widths):
        if w < 1:
            raise ConfigError("widths", f"stage {i} has {w}; the {cfg.family} family needs every stage's "
                              "output width: integers 1 to 8192 (e.g. 256,512,1024,2048)")


def nearest_divisors(n: int, target: int) -> list:
    """The divisors of ``n`` closest to ``target`` (one, or two on a tie)."""
    divs = [d for d in range(1, n + 1) if n % d == 0]
    best = min(abs(d - target) for d in divs)
    return [d for d in divs if abs(d - target) == best]


def check_layouts(cfg, layouts, mid_field: str) -> None:
    """Checks common to the three families; ``mid_field`` names the field that sets block widths."""
    for i, lay in enumerate(layouts):
        where = f"stage {i}"
        if lay.fusion != "none":  # a CSP stage (expand_ch can round to 0 for a tiny expand_ratio)
            width = cfg.widths[i]
            if lay.expand_ch < 2:
                raise ConfigError("expand_ratio", f"{where}: width {width} x expand_ratio {cfg.expand_ratio[i]:g} "
                                  f"gives {lay.expand_ch} channel(s); the split needs at least 2 "
                                  f"(allowed expand_ratio >= {1.5 / width:.3g} for this width)")
            if lay.part2 < 1 or lay.part1 < 1:
                raise ConfigError("split_ratio", f"{cfg.split_ratio:g} splits {where}'s {lay.expand_ch} channels "
                                  f"into {lay.part1} + {lay.part2}; both parts need at least 1 channel "
                                  f"(allowed range [{1 / lay.expand_ch:.3g}, 1) here)")
            if lay.fusion in ("csp", "fusion_last") and lay.partial_ch < 1:
                raise ConfigError("transition_ratio", f"{cfg.transition_ratio:g} leaves {where}'s partial transition "
                                  f"with {lay.partial_ch} channels (part 2 has {lay.part2}); allowed >= "
                                  f"{1 / lay.part2:.3g} here")
        if lay.mid < 1:
            raise ConfigError(mid_field, f"{where}: {getattr(cfg, mid_field)[i]:g} gives a bottleneck width of "
                              f"{lay.mid} for {lay.block_ch} channels; allowed > {0.5 / max(lay.block_ch, 1):.3g} here")
        if lay.down_ch and lay.down_groups > 1:
            for what, n in (("input", lay.in_ch), ("output", lay.down_ch)):
                if n % lay.down_groups:
                    near = " or ".join(map(str, nearest_divisors(n, lay.down_groups)))
                    raise ConfigError("groups", f"{where}: {lay.down_groups} groups do not divide the {n} {what} "
                                      f"channels of its grouped 3x3 downsampling conv; nearest valid: {near}")
        if lay.mid % lay.groups:
            near = " or ".join(map(str, nearest_divisors(lay.mid, lay.groups)))
            raise ConfigError("groups", f"{where}: {lay.groups} groups do not divide the bottleneck width "
                              f"{lay.mid}; nearest valid: {near}")


# --------------------------------------------------------------------------- stem
class Stem(nn.Sequential):
    """conv (stem_kernel, stem_stride) -> BN -> act [-> 3x3/2 max pool]; children conv, bn, act, pool."""

    def __init__(self, out_ch: int, kernel: int, stride: int, pool: str, act: str):
        super().__init__()
        self.conv = nn.Conv2d(3, out_ch, kernel, stride, kernel // 2, bias=False)
        self.bn = nn.BatchNorm2d(out_ch)
        self.act = make_act(act)
        if pool == "max":
            self.pool = nn.MaxPool2d(kernel_size=3, stride=2, padding=1)


def plan_stem(cfg, size: int):
    b = PlanBuilder("stem", "stem")
    s = b.tap("input", (3, size, size))
    s = b.conv("conv", s, cfg.stem_channels, cfg.stem_kernel, cfg.stem_stride)
    s = b.bn("bn", s)
    s = b.act("act", s)
    if cfg.stem_pool == "max":
        s = b.maxpool("pool", s, 3, 2, 1)
    b.tap("output", s)
    return b.stage


# --------------------------------------------------------------------------- blocks
class Bottleneck(nn.Module):
    """ResNet bottleneck: 1x1 -> 3x3 (stride, groups) -> 1x1 (no act), + shortcut, then act.

    With ``stride=1`` and equal channels this is timm's CSP ``BottleneckBlock``; otherwise the
    shortcut is torchvision's ``downsample`` (strided 1x1 conv + BN) and the stride sits on the
    3x3 conv (ResNet v1.5).
    """

    def __init__(self, in_ch: int, out_ch: int, mid: int, stride: int = 1, groups: int = 1,
                 act: str = "relu"):
        super().__init__()
        self.conv1 = ConvNormAct(in_ch, mid, 1, act=act)
        self.conv2 = ConvNormAct(mid, mid, 3, stride, groups=groups, act=act)
        self.conv3 = ConvNormAct(mid, out_ch, 1, act=None)
        needs_projection = stride != 1 or in_ch != out_ch
        self.downsample = ConvNormAct(in_ch, out_ch, 1, stride, act=None) if needs_projection else None
        self.act = make_act(act)

    def forward(self, x):
        shortcut = x if self.downsample is None else self.downsample(x)
        return self.act(self.conv3(self.conv2(self.conv1(x))) + shortcut)

    @staticmethod
    def plan(b: PlanBuilder, path: str, s, out_ch: int, mid: int, stride: int, groups: int):
        x = s
        s = b.conv_bn_act(f"{path}.conv1", s, mid, 1)
        s = b.conv_bn_act(f"{path}.conv2", s, mid, 3, stride, groups=groups)
        s = b.conv_bn_act(f"{path}.conv3", s, out_ch, 1, act=False)
        if stride != 1 or x[0] != out_ch:
            b.conv_bn_act(f"{path}.downsample", x, out_ch, 1, stride, act=False)
        s = b.add(path, s)
        return b.act(f"{path}.act", s)


class DarkBlock(nn.Module):
    """Darknet residual block: 1x1 -> mid, 3x3 -> channels, + input (no activation after the add)."""

    def __init__(self, in_ch: int, out_ch: int, mid: int, stride: int = 1, groups: int = 1,
                 act: str = "leaky_relu"):
        super().__init__()
        if in_ch != out_ch or stride != 1:
            raise ValueError("a DarkBlock keeps its channels and resolution")
        self.conv1 = ConvNormAct(in_ch, mid, 1, act=act)
        self.conv2 = ConvNormAct(mid, out_ch, 3, groups=groups, act=act)

    def forward(self, x):
        return self.conv2(self.conv1(x)) + x

    @staticmethod
    def plan(b: PlanBuilder, path: str, s, out_ch: int, mid: int, stride: int, groups: int):
        t = b.conv_bn_act(f"{path}.conv1", s, mid, 1)
        t = b.conv_bn_act(f"{path}.conv2", t, out_ch, 3, groups=groups)
        return b.add(path, t)


BLOCKS = {"bottleneck": Bottleneck, "dark": DarkBlock}


# --------------------------------------------------------------------------- stages
class CrossStage(nn.Module):
    """One stage of any fusion (see the module docstring); submodules are the tap points."""

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
        block_cls, stride, blocks = BLOCKS[lay.block], lay.block_stride, []
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


def plan_stage(b: PlanBuilder, lay: StageLayout, s):
    """The plan twin of :class:`CrossStage`."""
    b.stage.repeats = lay.repeats
    b.tap("input", s)
    if lay.down_ch:
        s = b.tap("down", b.conv_bn_act("down", s, lay.down_ch, 3, lay.stride, groups=lay.down_groups))
    if lay.fusion != "none":
        s = b.tap("expand", b.conv_bn_act("expand", s, lay.expand_ch, 1, act=lay.expand_act))
        _, h, w = s
        part1 = b.tap("part1", (lay.part1, h, w))
        s = b.tap("part2", (lay.part2, h, w))
    plan_block, stride = BLOCKS[lay.block].plan, lay.block_stride
    for j in range(lay.repeats):
        s = plan_block(b, f"block.{j}", s, lay.block_ch, lay.mid, stride, lay.groups)
        stride = 1
    s = b.tap("block", s)
    if lay.fusion == "none":
        return b.tap("output", s)
    if lay.partial_ch:
        s = b.tap("partial_transition", b.conv_bn_act("partial_transition", s, lay.partial_ch, 1))
    s = b.tap("concat", b.cat("concat", [part1, s]))
    if lay.fusion in ("csp", "fusion_first"):
        s = b.tap("transition", b.conv_bn_act("transition", s, lay.out_ch, 1))
    return b.tap("output", s)


# --------------------------------------------------------------------------- whole network
def plan_from_layouts(cfg, size: int, layouts) -> list:
    stem = plan_stem(cfg, size)
    plans, s = [stem], stem.output_shape
    for i, lay in enumerate(layouts):
        b = PlanBuilder(f"stages.{i}", "stage", fusion=lay.fusion)
        s = plan_stage(b, lay, s)
        plans.append(b.stage)
    head = PlanBuilder("head", "head")
    plan_head(head, s, cfg.num_classes, norm_act=False)
    plans.append(head.stage)
    return plans


def build_from_layouts(cfg, layouts):
    stem = Stem(cfg.stem_channels, cfg.stem_kernel, cfg.stem_stride, cfg.stem_pool, cfg.activation)
    stages = [CrossStage(lay, cfg.activation) for lay in layouts]
    head = ClassifierHead(layouts[-1].out_ch, cfg.num_classes, norm_act=None)
    return stem, stages, head
