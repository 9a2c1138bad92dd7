"""The one stage layout of the ResNet, ResNeXt and Darknet families, driven by flags (as timm's cspnet.py).

A family of this kind is a :class:`CrossStageStyle` (a few flags) plus its presets
(:func:`cross_stage_family`).  From the style and the config, :meth:`CrossStageStyle.layouts`
computes every stage's :class:`StageLayout` (its channel arithmetic) once; the layout is then
turned into a plan here (:func:`plan_stage`) and into modules in ``cspnet/nn/_crossstage.py``
(``CrossStage``).  The tests check the two against each other on every preset and fusion.

Stage layouts, by fusion (``C = round(width * expand_ratio)``, ``part2 = floor(C * split_ratio)``,
``part1 = C - part2``, ``P = floor(part2 * transition_ratio)``)::

    none          [down] -> block                                     (torchvision ResNet / timm DarkStage)
    csp           [down] -> expand -> split -> block(part2) -> partial_transition (P)
                         -> concat [part1, P] -> transition (width)   (timm CrossStage)
    fusion_first  [down] -> expand -> split -> block(part2)
                         -> concat [part1, block] -> transition (width) (timm CrossStage3)
    fusion_last   [down] -> expand -> split -> block(part2) -> partial_transition (P)
                         -> concat [part1, P]                         (no transition after the concat)

What differs between the families is declared by the style's flags:

* ``block_type``: the block the stage repeats, a key of ``cspnet.families._blocks.BLOCK_TYPES``
  (``"bottleneck"``: ResNet/ResNeXt, ``"dark"``: Darknet);
* ``down_growth`` (timm): the strided 3x3 ``down`` conv of a CSP stage goes ``in -> width``
  (Darknet) rather than ``in -> in`` (ResNet); a CSP stage has ``down`` only when its stride is not 1;
* ``cross_linear`` (timm): the 1x1 ``expand`` has no activation (ResNet) or has one (Darknet);
* ``plain_down``: a plain stage (``fusion="none"``) opens with a ``down`` conv ``in -> width`` with
  the stride, even at stride 1 (timm ``DarkStage``), rather than striding its first block
  (torchvision ResNet, whose first block then has a projection shortcut);
* ``grouped``: the bottleneck width is ``groups * width_per_group`` and the 3x3 convs (blocks and
  ``down``) have ``groups`` groups (ResNeXt), rather than ``round(block width * bottle_ratio)``
  with no groups.

``fusion_last`` is not in timm; it is defined here by analogy with the CSPNet paper's Fig. 3d:
the only 1x1 transition sits on the block path, before the concat, and nothing follows the
concat.  Its stage therefore outputs ``part1 + P`` channels, **not** ``widths[i]`` (with the
defaults ``split_ratio=0.5`` and ``transition_ratio=1`` that is ``C``, the expanded width), and the
next stage's input is that number.

The blocks of a CSP stage keep ``part2`` channels (a residual block needs equal input and output
channels); timm's ``block_ratio`` is ``0.5`` with ``expand_ratio=1`` or ``1`` with
``expand_ratio=2`` in every preset, which is the same thing.  Module names are the tap points of
``cspnet.plan.TAP_ORDER``: ``down``, ``expand``, ``split``, ``block``, ``partial_transition``,
``concat``, ``transition``.  Pure Python.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

from ..errors import ConfigError
from ..plan import PlanBuilder
from . import Family, preset_defaults
from ._blocks import BLOCK_TYPES
from ._common import plan_head


# --------------------------------------------------------------------------- stage arithmetic
@dataclass(frozen=True)
class StageLayout:
    """The channel arithmetic of one stage, shared by its module and its plan."""

    fusion: str
    block: str          # the block type, a key of BLOCK_TYPES
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


@dataclass(frozen=True)
class CrossStageStyle:
    """How a family lays out its stages (the flags are described in the module docstring)."""

    block_type: str      # a key of BLOCK_TYPES
    down_growth: bool    # CSP stages: down conv in -> width (True) or in -> in (False)
    cross_linear: bool   # CSP stages: no activation after the 1x1 expand
    plain_down: bool     # plain stages: a down conv in -> width opens every stage
    grouped: bool        # mid = groups x width_per_group, grouped 3x3 convs (else round(width x bottle_ratio))

    def __post_init__(self):
        if self.block_type not in BLOCK_TYPES:
            raise ValueError(f"unknown block type {self.block_type!r}; known: {', '.join(BLOCK_TYPES)}")

    @property
    def mid_field(self) -> str:
        """The config field that sets the blocks' bottleneck width (named by its errors)."""
        return "width_per_group" if self.grouped else "bottle_ratio"

    # ------------------------------------------------------------------ the layout
    def layouts(self, cfg) -> list:
        """The channel arithmetic of every stage."""
        layouts, ch = [], cfg.stem_channels
        for i, width in enumerate(cfg.widths):
            stride = cfg.strides[i]
            groups = cfg.groups[i] if self.grouped else 1

            def mid_of(block_ch):
                if self.grouped:
                    return groups * cfg.width_per_group[i]
                return int(round(block_ch * cfg.bottle_ratio[i]))

            common = dict(block=self.block_type, repeats=cfg.repeats[i], in_ch=ch, stride=stride,
                          down_groups=groups, expand_act=not self.cross_linear, groups=groups)
            if cfg.fusion == "none":
                lay = StageLayout(fusion="none", down_ch=width if self.plain_down else 0, expand_ch=0, part2=0,
                                  block_ch=width, mid=mid_of(width), partial_ch=0, out_ch=width, **common)
            else:
                c, part2, partial, out = split_channels(width, cfg.expand_ratio[i], cfg.split_ratio,
                                                        cfg.transition_ratio, cfg.fusion)
                down_ch = 0 if stride == 1 else (width if self.down_growth else ch)
                lay = StageLayout(fusion=cfg.fusion, down_ch=down_ch, expand_ch=c, part2=part2, block_ch=part2,
                                  mid=mid_of(part2), partial_ch=partial, out_ch=out, **common)
            layouts.append(lay)
            ch = lay.out_ch
        return layouts

    # ------------------------------------------------------------------ the Family's pieces
    def validate(self, cfg) -> None:
        check_widths(cfg)
        check_layouts(cfg, self.layouts(cfg), self.mid_field)

    def plan(self, cfg, input_size: int) -> list:
        """The analytic plan: [stem, stages.0 .. stages.N-1, head].  Module twin: ``cspnet.nn._crossstage.build``."""
        stem = plan_stem(cfg, input_size)
        plans, s = [stem], stem.output_shape
        for i, lay in enumerate(self.layouts(cfg)):
            b = PlanBuilder(f"stages.{i}", "stage", fusion=lay.fusion)
            s = plan_stage(b, lay, s)
            plans.append(b.stage)
        plans.append(plan_head(cfg, s, norm_act=False))
        return plans

    def build(self, cfg):
        """The real modules (stem, [stage modules], head): ``cspnet.nn._crossstage.build`` (imports torch)."""
        from ..nn._crossstage import build as build_modules

        return build_modules(cfg, self.layouts(cfg))


def cross_stage_family(name: str, description: str, style: CrossStageStyle, presets: tuple,
                       default_preset: str) -> Family:
    """A family that is a :class:`CrossStageStyle` and a preset table (its default design: ``default_preset``)."""
    return Family(name=name, description=description, validate=style.validate, plan=style.plan,
                  build=style.build, defaults=preset_defaults(presets, default_preset), presets=presets)


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


# --------------------------------------------------------------------------- plan
def plan_stem(cfg, size: int):
    """conv -> BN -> act [-> 3x3/2 max pool].  Module twin: ``cspnet.nn._crossstage.Stem``."""
    b = PlanBuilder("stem", "stem")
    s = b.tap("input", (3, size, size))
    s = b.conv("conv", s, cfg.stem_channels, cfg.stem_kernel, cfg.stem_stride)
    s = b.bn("bn", s)
    s = b.act("act", s)
    if cfg.stem_pool == "max":
        s = b.maxpool("pool", s, 3, 2, 1)
    b.tap("output", s)
    return b.stage


def plan_stage(b: PlanBuilder, lay: StageLayout, s):
    """One stage of any fusion, with its tap points.  Module twin: ``cspnet.nn._crossstage.CrossStage``."""
    b.stage.repeats = lay.repeats
    b.tap("input", s)
    if lay.down_ch:
        s = b.tap("down", b.conv_bn_act("down", s, lay.down_ch, 3, lay.stride, groups=lay.down_groups))
    if lay.fusion != "none":
        s = b.tap("expand", b.conv_bn_act("expand", s, lay.expand_ch, 1, act=lay.expand_act))
        _, h, w = s
        part1 = b.tap("part1", (lay.part1, h, w))
        s = b.tap("part2", (lay.part2, h, w))
    plan_block, stride = BLOCK_TYPES[lay.block].plan, lay.block_stride
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
