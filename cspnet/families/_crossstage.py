"""The one stage layout of the ResNet, ResNeXt and Darknet families, driven by flags (as timm's cspnet.py).

A family of this kind is a :class:`CrossStageStyle` (a few flags) plus its presets
(:func:`cross_stage_family`).  From the style and the config, :meth:`CrossStageStyle.layouts`
computes every stage's :class:`StageLayout` (its channel arithmetic) once; the layout is then
turned into a plan here (:func:`plan_stage`), from which ``cspnet.graph_model`` generates the modules
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

import dataclasses
import math
from dataclasses import dataclass
from typing import Callable

from ..errors import ConfigError
from ..plan import PlanBuilder
from . import Family, build_from_plan, preset_defaults
from ._blocks import BLOCK_TYPES
from ._common import plan_head
from ._detect import NECK_STAGES, cumulative, neck_in_channels, per_scale, plan_detector_parts, plan_sppf, sppf_stage


# --------------------------------------------------------------------------- stage arithmetic
@dataclass(frozen=True)
class StageLayout:
    """The channel arithmetic of one stage, shared by its module and its plan."""

    fusion: str
    block: str          # the block type, a key of BLOCK_TYPES
    repeats: int
    in_ch: int          # stage input channels
    stride: int
    down_ch: int        # output of the strided ``down`` (0: no such layer)
    down_groups: int
    expand_ch: int      # C, the two parts together (0: plain stage, no split)
    expand_act: bool    # False: linear expansion (timm ``cross_linear=True``)
    part2: int          # channels through the blocks (CSP stages)
    block_ch: int       # output channels of every block
    mid: int            # inner width of each block (attention heads for ``psa``)
    groups: int         # groups of the blocks' 3x3 conv
    partial_ch: int     # output of ``partial_transition`` (0: none)
    out_ch: int         # stage output channels
    # the lineage's choices (the defaults are the paper families' layout)
    split: str = "one"        # one: a 1x1 ``expand`` then a slice; two: two 1x1 convs; two_bare: BottleneckCSP;
                              # slice: the input itself is sliced, no conv; shared: BottleneckCSP2 (part 1 from
                              # part 2 by a bare 1x1 conv)
    taps: str = "last"        # last: the last block's output; all: part 2 and every block output, concatenated
    post: str = "none"        # after the concat: none | bn_act | attention
    down_kind: str = "conv"   # conv: a strided 3x3 conv; mp: YOLOv7's max-pool + conv pair
    spp: bool = False         # SPP bottleneck after ``down`` (CSPNeXt's last stage)
    residual: bool = True
    se_ratio: float = 0.0
    transition: bool | None = None  # a 1x1 ``transition`` ends the stage (None: by fusion, as the paper)
    sppf: str = ""            # a detector's SPPF (Ultralytics): "before" the split (after ``down``), "after" the
                              # stage's transition, or "" (none)
    entry: bool = False       # a plain stage (fusion none) opens with a 1x1 conv to ``block_ch`` (a neck stage's
                              # plain twin: from its concat to its width)

    @property
    def part1(self) -> int:
        return self.expand_ch - self.part2

    @property
    def block_stride(self) -> int:
        """The first block strides only in a torchvision-style stage (no ``down``, no split)."""
        return self.stride if not self.down_ch and not self.expand_ch else 1

    @property
    def path_ch(self) -> int:
        """Channels of the block path's output: the last block's, or every tap's together."""
        return self.block_ch * (self.repeats + 1) if self.taps == "all" else self.block_ch

    @property
    def has_transition(self) -> bool:
        return self.fusion in ("csp", "fusion_first") if self.transition is None else self.transition


def split_channels(width: int, expand_ratio: float, split_ratio: float, transition_ratio: float,
                   fusion: str, path_factor: int = 1) -> tuple:
    """``(C, part2, partial_ch, out_ch)`` of a CSP stage whose nominal width is ``width``.

    ``path_factor``: the block path's output in units of part 2 (1 + repeats where a stage taps all)."""
    c = int(round(width * expand_ratio))
    part2 = math.floor(c * split_ratio)
    partial = math.floor(part2 * path_factor * transition_ratio) if fusion in ("csp", "fusion_last") else 0
    out = (c - part2) + partial if fusion == "fusion_last" else width
    return c, part2, partial, out


@dataclass(frozen=True)
class DetectStyle:
    """How a lineage family builds a detector (``cspnet.families._detect``)."""

    reduce: bool     # YOLOv5: a 1x1 reduce conv before each upsampling, read again by the bottom-up path
    legacy: bool     # Detect's class branch of plain 3x3 convs (YOLOv8, YOLOv5u) or depthwise ones (YOLO11)
    bn: tuple = (1e-3, 0.03)   # every BatchNorm's (eps, momentum) in the built model: Ultralytics'
                               # initialize_weights sets them for every model it builds (PyTorch's: 1e-5, 0.1)


def scale_widths(layouts: list) -> tuple:
    """The output width at each scale of a backbone: the last stage's at each cumulative stride, in order."""
    return tuple(per_scale(zip(cumulative(lay.stride for lay in layouts), (lay.out_ch for lay in layouts))))


def lineage_layout(cfg, ch: int, width: int, repeats: int, block: str, taps: str, residual: bool, fusion: str,
                   split_ratio: float, expand_ratio: float, bottle_ratio: float, stride: int = 1, down_ch: int = 0,
                   down_kind: str = "conv", spp: bool = False, post: str = "none", entry: bool = False):
    """The :class:`StageLayout` of one lineage stage (a backbone's or a neck's): ``ch`` in, ``width`` out,
    ``repeats`` blocks, the split (``cfg.split_convs``) and fusion given.  ``entry``: a plain stage opens with a
    1x1 conv to ``width`` (a neck's plain twin) instead of running its blocks on its input's channels."""
    kind = BLOCK_TYPES[block]
    ch_in = down_ch or ch
    common = dict(block=block, repeats=repeats, in_ch=ch, stride=stride, down_ch=down_ch, down_groups=1,
                  expand_act=True, groups=1, taps=taps, down_kind=down_kind, spp=spp, residual=residual,
                  se_ratio=cfg.se_ratio if kind.takes_se else 0.0)
    if fusion == "none":
        block_ch = width if entry else ch_in
        path = block_ch * (repeats + 1) if taps == "all" else block_ch
        transition = taps == "all" or path != width
        return StageLayout(fusion="none", expand_ch=0, part2=0, block_ch=block_ch,
                           mid=kind.mid_of(block_ch, bottle_ratio), partial_ch=0,
                           out_ch=width if transition else path, transition=transition,
                           entry=entry and block_ch != ch_in, **common)
    factor = repeats + 1 if taps == "all" else 1
    expand = ch_in / width if cfg.split_convs == "slice" else expand_ratio  # slice: C = ch_in
    c, part2, partial, out = split_channels(width, expand, split_ratio, cfg.transition_ratio, fusion, factor)
    return StageLayout(fusion=fusion, expand_ch=c, part2=part2, block_ch=part2, mid=kind.mid_of(part2, bottle_ratio),
                       partial_ch=partial, out_ch=out, split=cfg.split_convs, post=post, **common)


@dataclass(frozen=True)
class _FileLayer:
    """What :func:`lineage_layout` reads of a design for a plain stage, for a layer read from a file (no SE)."""

    se_ratio: float = 0.0


def plan_plain_layer(b: PlanBuilder, path: str, s, width: int, repeats: int, block: str, taps: str,
                     residual: bool, bottle_ratio: float, entry: bool):
    """The plain twin of a CSP module read from a file (an Ultralytics C3 / C2f / C3k2, a YOLOv7 ELAN): the
    stage a design of the same block gets with ``fusion='none'`` (:func:`lineage_layout`, :func:`plan_stage`),
    its ops under ``path``.  ``repeats`` blocks of ``block`` (inner width ``bottle_ratio`` of theirs, as the
    module's own blocks) on the whole input, where the CSP module ran them on part 2; ``entry`` (a neck's
    layer, reading a concat): first a 1x1 conv to ``width``; ``taps='all'``: the input and every block output
    concatenated; a 1x1 transition to ``width`` where the block path's width is not it."""
    lay = lineage_layout(_FileLayer(), s[0], width, repeats, block, taps, residual, "none", 0.0, 1.0, bottle_ratio,
                         entry=entry)
    prefix, b.prefix = b.prefix, path
    try:
        return plan_stage(b, lay, s)
    finally:
        b.prefix = prefix


# --------------------------------------------------------------------------- model-level scaling
def _ceil8(x: float) -> int:
    return int(math.ceil(x / 8) * 8)


def make_divisible8(v: float) -> int:
    """timm's ``make_divisible(v, 8)``: the nearest multiple of 8 (at least 8), +8 if under 90 % of v."""
    new = max(8, int(v + 4) // 8 * 8)
    return new + 8 if new < 0.9 * v else new


@dataclass(frozen=True)
class Scaling:
    """How a source scales base widths and repeats by ``width_multiple`` / ``depth_multiple``."""

    name: str       # none | timm | ultralytics | mmdet
    rule: str       # in words, for the docs and the Design page

    def channels(self, c: int, cfg) -> int:
        w = cfg.width_multiple
        if self.name == "timm":
            return make_divisible8(c * w)
        if self.name in ("ultralytics", "yolov7"):
            cap = cfg.max_channels
            return _ceil8((min(c, cap) if cap else c) * w)
        if self.name == "mmdet":
            return int(c * w)
        return c

    def depth(self, n: int, cfg) -> int:
        d = cfg.depth_multiple
        if self.name == "timm":
            return int(n * d)
        if self.name == "ultralytics":
            return max(round(n * d), 1) if n > 1 else n
        if self.name == "yolov7":   # ELAN's convs are listed one by one in the YAML: nothing to scale
            return n
        if self.name == "mmdet":
            return max(round(n * d), 1)
        return n


NO_SCALING = Scaling("none", "widths and repeats as given")


@dataclass(frozen=True)
class StemLayer:
    """One layer of a lineage stem: a conv (``kind="conv"``) or a dark block (``kind="dark"``)."""

    kind: str
    out_ch: int
    kernel: int = 3
    stride: int = 1
    padding: int | None = None
    mid: int = 0


@dataclass(frozen=True)
class CrossStageStyle:
    """How a family lays out its stages (the flags are described in the module docstring)."""

    block_type: str      # a key of BLOCK_TYPES (lineage families: the ``block_type`` field instead)
    down_growth: bool    # CSP stages: down conv in -> width (True) or in -> in (False)
    cross_linear: bool   # CSP stages: no activation after the 1x1 expand
    plain_down: bool     # plain stages: a down conv in -> width opens every stage
    grouped: bool        # mid = groups x width_per_group, grouped 3x3 convs (else round(width x bottle_ratio))
    # the lineage (cspnet/families/lineage.py): these read the lineage fields of the config
    lineage: bool = False
    scaling: Scaling = NO_SCALING
    stem: Callable | None = None   # f(cfg, scaling) -> tuple of StemLayer (None: the stem_* fields)
    head_conv: int = 0             # a 1x1 conv (BN, act) to this many channels before the pool (Ultralytics: 1280)
    down_kind: str = "conv"        # conv | mp
    spp_last: bool = False         # an SPP bottleneck after the last stage's down
    detect: "DetectStyle | None" = None   # how the family builds a detector (task = "detect"); None: it does not

    def __post_init__(self):
        if self.block_type not in BLOCK_TYPES:
            raise ValueError(f"unknown block type {self.block_type!r}; known: {', '.join(BLOCK_TYPES)}")

    @property
    def mid_field(self) -> str:
        """The config field that sets the blocks' bottleneck width (named by its errors)."""
        return "width_per_group" if self.grouped else "bottle_ratio"

    # ------------------------------------------------------------------ the layout
    def stem_layers(self, cfg) -> tuple:
        if self.stem is None:
            return ()
        return self.stem(cfg, self.scaling)

    def stem_out(self, cfg) -> int:
        layers = self.stem_layers(cfg)
        return layers[-1].out_ch if layers else cfg.stem_channels

    def layouts(self, cfg) -> list:
        """The channel arithmetic of every stage."""
        if self.lineage:
            return self._lineage_layouts(cfg)
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

    def _lineage_layouts(self, cfg) -> list:
        """Lineage stages: widths and repeats scaled as the source does, the block, taps, split and what
        follows the concat from the config's lineage fields.  A detector's backbone (``cfg.is_detector``) has
        Ultralytics' SPPF after its last strided stage (before a stride-1 stage that follows it: YOLO11's
        C2PSA)."""
        sc, layouts, ch = self.scaling, [], self.stem_out(cfg)
        last = cfg.num_stages - 1
        for i, base in enumerate(cfg.widths):
            width, stride = sc.channels(base, cfg), cfg.strides[i]
            down_ch = 0
            if stride != 1:
                explicit = cfg.down_widths[i]
                default = width if (self.down_growth or cfg.fusion == "none") and self.down_kind == "conv" else ch
                down_ch = sc.channels(explicit, cfg) if explicit else default
                if self.down_kind == "mp":   # two branches of down_ch // 2 each
                    down_ch = 2 * (down_ch // 2)
            lay = lineage_layout(cfg, ch, width, sc.depth(cfg.repeats[i], cfg), cfg.block_type[i], cfg.taps[i],
                                 cfg.residual[i], cfg.fusion, cfg.split_ratio, cfg.expand_ratio[i],
                                 cfg.bottle_ratio[i], stride=stride, down_ch=down_ch, down_kind=self.down_kind,
                                 spp=self.spp_last and i == last, post=cfg.post_concat)
            layouts.append(lay)
            ch = lay.out_ch
        if getattr(cfg, "is_detector", False):
            j, at = sppf_stage([lay.stride for lay in layouts])
            layouts[j] = dataclasses.replace(layouts[j], sppf=at)
        return layouts

    def neck_layouts(self, cfg, layouts: list) -> list:
        """The layouts of a detector's four neck stages (``cspnet.families._detect``), from the ``neck_*``
        fields, scaled as the backbone (widths, repeats), reading the backbone's last three stage widths."""
        sc = self.scaling
        outs = [sc.channels(w, cfg) for w in cfg.neck_widths]
        ins = neck_in_channels(outs, scale_widths(layouts)[-3:], self.detect.reduce)
        return [lineage_layout(cfg, ins[j], outs[j], sc.depth(cfg.neck_repeats[j], cfg), cfg.neck_block_type[j],
                               cfg.neck_taps[j], cfg.neck_residual[j], cfg.neck_fusion, cfg.neck_split_ratio, 1.0,
                               cfg.bottle_ratio[-1], entry=True)
                for j in range(NECK_STAGES)]

    # ------------------------------------------------------------------ the Family's pieces
    def validate(self, cfg) -> None:
        check_widths(cfg)
        layouts = self.layouts(cfg)
        if self.lineage:
            check_lineage(cfg, self, layouts)
        check_layouts(cfg, layouts, self.mid_field)

    def plan(self, cfg, input_size: int) -> list:
        """The plan: [stem, stages.0 .. stages.N-1, head]; a detector's: [stem, stages..., neck.0 .. neck.3,
        head] (``cspnet.families._detect``).  Oracle twin: ``tests/oracle/_crossstage.py: build``."""
        layers = self.stem_layers(cfg)
        stem = plan_lineage_stem(layers, input_size) if layers else plan_stem(cfg, input_size)
        plans, s = [stem], stem.output_shape
        layouts = self.layouts(cfg)
        for i, lay in enumerate(layouts):
            b = PlanBuilder(f"stages.{i}", "stage", fusion=lay.fusion)
            s = plan_stage(b, lay, s)
            plans.append(b.stage)
        if getattr(cfg, "is_detector", False) and self.detect is not None:
            return plans + plan_detector_parts(self.neck_layouts(cfg, layouts), plans, cfg.num_classes,
                                               self.detect.legacy, self.detect.reduce)
        plans.append(plan_head(cfg, s, norm_act=False, conv_ch=self.head_conv))
        return plans


def cross_stage_family(name: str, description: str, style: CrossStageStyle, presets: tuple,
                       default_preset: str) -> Family:
    """A family that is a :class:`CrossStageStyle` and a preset table (its default design: ``default_preset``)."""
    return Family(name=name, description=description, validate=style.validate, plan=style.plan,
                  build=build_from_plan, defaults=preset_defaults(presets, default_preset), presets=presets,
                  detect=style.detect)


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


def check_lineage(cfg, style, layouts) -> None:
    """What a lineage design needs beyond the paper families' checks, naming the field at fault."""
    sc = style.scaling
    for i, lay in enumerate(layouts):
        where = f"stage {i}"
        base, width = cfg.widths[i], sc.channels(cfg.widths[i], cfg)
        if width < 1:
            raise ConfigError("width_multiple", f"{where}: base width {base} x {cfg.width_multiple:g} gives "
                              f"{width} channels ({sc.rule}); allowed width_multiple >= {1 / base:.3g} here")
        if lay.repeats < 1:
            raise ConfigError("depth_multiple", f"{where}: {cfg.repeats[i]} repeats x {cfg.depth_multiple:g} gives "
                              f"{lay.repeats} blocks ({sc.rule}); allowed depth_multiple >= "
                              f"{1 / cfg.repeats[i]:.3g} here")
        if lay.down_kind == "mp" and lay.down_ch and lay.down_ch < 2:
            raise ConfigError("down_widths", f"{where}: the max-pool + conv down-sampling splits its "
                              f"{lay.down_ch} output channels in two; allowed at least 2")
        if lay.spp and lay.down_ch // 2 < 1 and lay.in_ch // 2 < 1:
            raise ConfigError("widths", f"{where}: the SPP bottleneck needs at least 2 channels")
        if lay.block == "psa":
            ch, heads = lay.block_ch, lay.mid
            if ch % heads or ch // heads < 2:
                raise ConfigError("widths", f"{where}: the attention block has {ch} channels in {heads} head(s) "
                                  f"(channels // 64); the channels must split evenly into heads of at least 2 "
                                  f"(e.g. a multiple of 64)")
    if cfg.se_ratio and not any(BLOCK_TYPES[lay.block].takes_se for lay in layouts):
        takes = ", ".join(n for n, t in BLOCK_TYPES.items() if t.takes_se)
        raise ConfigError("se_ratio", f"{cfg.se_ratio:g} is not allowed for block type(s) "
                          f"{', '.join(sorted({lay.block for lay in layouts}))}: SE sits only in {takes} blocks; "
                          "allowed 0 here")


# --------------------------------------------------------------------------- plan
def plan_stem(cfg, size: int):
    """conv -> BN -> act [-> 3x3/2 max pool].  Oracle twin: ``tests/oracle/_crossstage.py: Stem``."""
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
    """One stage of any fusion, with its tap points.  Oracle twin: ``tests/oracle/_crossstage.py: CrossStage``."""
    b.stage.repeats = lay.repeats
    if "input" not in b.stage.taps:   # (a neck stage tapped its input before its upsampling and concat)
        b.tap("input", s)
    if lay.down_ch:
        if lay.down_kind == "mp":
            s = b.tap("down", plan_mp_down(b, "down", s, lay.down_ch))
        else:
            s = b.tap("down", b.conv_bn_act("down", s, lay.down_ch, 3, lay.stride, groups=lay.down_groups))
    if lay.spp:
        s = b.tap("spp", plan_spp(b, "spp", s, s[0]))
    if lay.sppf == "before":
        s = b.tap("spp", plan_sppf(b, "sppf", s, s[0]))
    if lay.entry:
        s = b.tap("expand", b.conv_bn_act("expand", s, lay.block_ch, 1))
    if lay.fusion != "none":
        if lay.split == "one":
            s = b.tap("expand", b.conv_bn_act("expand", s, lay.expand_ch, 1, act=lay.expand_act))
        if lay.split in ("one", "slice"):   # slice: the stage's input itself is split (C = its channels)
            part1, part2 = s.part(0, lay.part1), s.part(lay.part1, lay.part2)
        elif lay.split == "two":
            part1 = b.conv_bn_act("split.cross", s, lay.part1, 1)
            part2 = b.conv_bn_act("split.main", s, lay.part2, 1)
        elif lay.split == "shared":  # BottleneckCSP2: part 2 = a 1x1 conv, part 1 = a bare 1x1 conv of part 2
            part2 = b.conv_bn_act("split.main", s, lay.part2, 1)
            part1 = b.conv("split.cross", part2, lay.part1, 1)
        else:  # two_bare: BottleneckCSP's cross path is a bare conv, normalised after the concat
            part1 = b.conv("split.cross", s, lay.part1, 1)
            part2 = b.conv_bn_act("split.main", s, lay.part2, 1)
        part1 = b.tap("part1", part1)
        s = b.tap("part2", part2)
    plan_block, stride = BLOCK_TYPES[lay.block].plan, lay.block_stride
    outs = [s]
    for j in range(lay.repeats):
        s = plan_block(b, f"block.{j}", s, lay.block_ch, lay.mid, stride, lay.groups, lay.residual, lay.se_ratio)
        outs.append(s)
        stride = 1
    merged = lay.taps == "all" and lay.fusion != "none" and not lay.partial_ch
    if lay.taps == "all" and not merged:   # the taps concatenated first (a plain stage, a partial transition)
        s = b.cat("block.cat", outs)
    s = b.tap("block", s)   # (merged: the last block's output; the concat below reads every tap)
    if lay.fusion != "none":
        if lay.partial_ch:
            if lay.split == "two_bare":
                s = b.tap("partial_transition", b.conv("partial_transition", s, lay.partial_ch, 1))
            else:
                s = b.tap("partial_transition", b.conv_bn_act("partial_transition", s, lay.partial_ch, 1))
        s = b.tap("concat", b.cat("concat", concat_order(lay, part1, outs if merged else [s])))
        if lay.post == "bn_act":
            s = b.tap("post", b.act("post.act", b.bn("post.bn", s)))
        elif lay.post == "attention":
            s = b.tap("post", plan_channel_attention(b, "post", s))
    if lay.has_transition:
        s = b.tap("transition", b.conv_bn_act("transition", s, lay.out_ch, 1))
    if lay.sppf == "after":
        s = b.tap("sppf", plan_sppf(b, "sppf", s, s[0]))
    return b.tap("output", s)


def concat_order(lay: StageLayout, part1, path: list) -> list:
    """The inputs of a CSP stage's concat in its reference's order: part 1 then the block path (timm's
    CrossStage, Ultralytics' C2f / C3k2: the bypass chunk first, then part 2 and every block's output, in one
    concat), or, where two 1x1 convs make the parts, the block path first and part 1 last (Ultralytics' C3,
    Scaled-YOLOv4's BottleneckCSP, mmdet's CSPLayer, Darknet's CSP [route]s; YOLOv7's ELAN: the last tap first,
    ``[-1, -3, -5, -6]``).  The order is no count's business (the same layers, the channels permuted); it makes
    the concat, and the weights after it, the reference's."""
    if lay.split in ("two", "two_bare", "shared"):
        return [*reversed(path), part1]
    return [part1, *path]


def plan_mp_down(b: PlanBuilder, path: str, s, out_ch: int):
    """YOLOv7's MP down-sampling: [2x2 max pool -> 1x1] beside [1x1 -> 3x3 stride 2], concatenated.

    Oracle twin: ``tests/oracle/_crossstage.py: MPDown``."""
    half = out_ch // 2
    a = b.maxpool(f"{path}.pool", s, 2, 2)
    a = b.conv_bn_act(f"{path}.pool_conv", a, half, 1)
    c = b.conv_bn_act(f"{path}.conv1", s, half, 1)
    c = b.conv_bn_act(f"{path}.conv2", c, half, 3, 2)
    return b.cat(f"{path}.cat", [c, a])


def plan_spp(b: PlanBuilder, path: str, s, out_ch: int, kernels=(5, 9, 13)):
    """mmdet's SPPBottleneck: 1x1 to c/2, max pools 5/9/13 (stride 1), concat with the input, 1x1.

    Oracle twin: ``tests/oracle/_crossstage.py: SPPBottleneck``."""
    t = b.conv_bn_act(f"{path}.conv1", s, s[0] // 2, 1)
    pooled = [b.maxpool(f"{path}.pools.{j}", t, k, 1, k // 2) for j, k in enumerate(kernels)]
    t = b.cat(f"{path}.cat", [t, *pooled])
    return b.conv_bn_act(f"{path}.conv2", t, out_ch, 1)


def plan_channel_attention(b: PlanBuilder, path: str, s):
    """mmdet's ChannelAttention: mean over H, W (timm's port; mmdet's adaptive pool is the same
    arithmetic, which fvcore counts and timm's mean it does not), 1x1 conv (bias), hard sigmoid, scale.

    Oracle twin: ``tests/oracle/_crossstage.py: ChannelAttention``."""
    t = b.mean(f"{path}.pool", s)
    t = b.conv(f"{path}.fc", t, s[0], 1, bias=True)
    t = b.act(f"{path}.act", t, "hardsigmoid")
    return b.mul(f"{path}.scale", s, t)


def plan_lineage_stem(layers, size: int):
    """A lineage stem: its convs (and YOLOv4-CSP's dark block).

    Oracle twin: ``tests/oracle/_crossstage.py: ConvStem``."""
    b = PlanBuilder("stem", "stem")
    s = b.tap("input", (3, size, size))
    for j, layer in enumerate(layers):
        if layer.kind == "dark":
            s = BLOCK_TYPES["dark"].plan(b, f"block{j}", s, layer.out_ch, layer.mid, 1, 1)
        else:
            s = b.conv_bn_act(f"conv{j}", s, layer.out_ch, layer.kernel, layer.stride, padding=layer.padding)
    b.tap("output", s)
    return b.stage
