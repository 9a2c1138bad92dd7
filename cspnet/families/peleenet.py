"""PeleeNet (Wang, Li & Ling, NeurIPS 2018) and its Cross Stage Partial variants (CSPPeleeNet).

The plain network follows the official ``Robert-JunWang/PeleeNet`` ``peleenet.py`` exactly
(2,802,248 parameters and 507,757,568 conv+linear multiply-adds at 224x224; its README rounds them
to 2.8M and 508M).  Every conv is a post-activation ``BasicConv2d`` (conv without bias -> BN -> act):

* **stem block** (``stem_channels`` = 32): ``stem1`` a ``stem_kernel`` x ``stem_kernel`` conv with
  ``stem_stride`` (3x3/2) to 32 channels; branch A ``stem2a`` 1x1 to 16 -> ``stem2b`` 3x3/2 to 32;
  branch B ``pool`` a 2x2/2 max pool (``stem_pool="none"`` drops it); concat [pool, branch A] (64);
  ``stem3`` 1x1 back to 32.
* **two-way dense layer** with growth rate ``g``: branch 1 is 1x1 -> ``inter`` then 3x3 -> ``g/2``;
  branch 2 is 1x1 -> ``inter``, 3x3 -> ``g/2``, 3x3 -> ``g/2``; output concat [input, branch 1,
  branch 2] (``g`` new channels).  The bottleneck width uses the official arithmetic, in which
  ``bn_size`` is PeleeNet's *bottleneck width factor* (1, 2, 4, 4 per stage), not DenseNet's
  ``bn_size x growth``: ``inter = int(g/2 x bn_size / 4) x 4``, and if ``inter > n_in / 2`` it
  becomes ``int(n_in / 8) x 4`` (``n_in``: the layer's input channels).  ``growth_rate`` must be even.
* **transition**: a 1x1 ``BasicConv2d`` to ``floor(C x compression)`` (``compression=1.0`` keeps
  the channels, as PeleeNet does), then a 2x2 average pool after every stage but the last.
  PeleeNet has a transition after the last stage too (``transition4``, no pool):
  ``last_transition=True``.
* **head**: global average pool and a linear classifier (no BN/act: the transitions already end in
  BN + act, so the presets set ``head_norm=False``; ``head_norm=True`` adds BN + act before the
  pool).  The official model's dropout (p=0.05, no parameters) is left out.  ``stem_norm`` is not
  read: every stem conv is a ``BasicConv2d`` with its BN.

The CSP fusions (CSPNet paper, Fig. 3) use the stage semantics of the DenseNet family
(``cspnet.families.densenet``), with PeleeNet's post-activation conv transitions and two-way dense
layers (``last`` is the last stage):

* ``none``          block -> transition (``compression``; none in the last stage unless
                    ``last_transition``, and then without pooling).
* ``csp``           split -> block(part 2) -> partial transition (``transition_ratio``, no pool)
                    -> concat [part 1, partial transition] -> transition (as for ``none``).
* ``fusion_first``  split -> block(part 2) -> concat [part 1, block] -> transition (as ``none``).
* ``fusion_last``   split -> block(part 2) -> transition on the block path only
                    (``transition_ratio``, 2x2 average pool except in the last stage); part 1 gets
                    the same 2x2 average pool (``part1_pool``) -> concat.  ``compression`` and
                    ``last_transition`` are not used.

``part2 = floor(C x split_ratio)`` goes through the block; ``part1 = C - part2`` (the first
channels) bypasses it.  The paper's partial ratio gamma is ``1 - split_ratio``.  The inter-channel
rule above reads the dense layer's *own* input, so in a CSP stage (whose block sees only part 2) the
"halving" can apply where it does not in PeleeNet.

The authors' CSPPeleeNet cfg was never released (WongKinYiu/CrossStagePartialNetworks#25), so the
CSP presets are this tool's reading of the paper, not a reproduction of a published model.
"""
from __future__ import annotations


import torch
from torch import nn

from ..blocks import ClassifierHead, Concat, DenseCSPStage, make_act, plan_head
from ..errors import ConfigError
from ..plan import PlanBuilder, conv_out
from ._dense import all_stage_channels, check_transition_widths, merge_channels, plan_dense_stage, split
from . import Family, Preset


# --------------------------------------------------------------------------- channel arithmetic
def inter_channels(n_in: int, growth: int, bottleneck_width: int) -> int:
    """The official ``_DenseLayer`` bottleneck width (peleenet.py), for a layer with ``n_in`` inputs."""
    half = growth // 2
    inter = int(half * bottleneck_width / 4) * 4
    if inter > n_in / 2:
        inter = int(n_in / 8) * 4
    return inter


def _stage_channels(cfg, i: int, c: int) -> dict:
    """Channel counts of stage ``i`` with ``c`` input channels (shared by validate, plan, build)."""
    last = i == cfg.num_stages - 1
    growth, repeats, bw = cfg.growth_rate[i], cfg.repeats[i], cfg.bn_size[i]
    ch = {"input": c, "last": last, "pool": not last}
    if cfg.fusion == "none":
        ch["block_in"] = c
    else:
        part1, part2 = split(c, cfg.split_ratio)
        ch.update(part1=part1, part2=part2, block_in=part2)
    ch["layers"] = [(ch["block_in"] + j * growth, inter_channels(ch["block_in"] + j * growth, growth, bw))
                    for j in range(repeats)]
    ch["block"] = ch["block_in"] + repeats * growth
    return merge_channels(cfg, ch)


def _all_stage_channels(cfg) -> list:
    return all_stage_channels(cfg, _stage_channels)


def _stem_sizes(cfg, size: int) -> tuple[int, int, int]:
    """(stem1 output, pool branch output, conv branch output) spatial sizes for an input of ``size``."""
    k = cfg.stem_kernel
    s1 = conv_out(size, k, cfg.stem_stride, k // 2)
    return s1, conv_out(s1, 2, 2, 0), conv_out(s1, 3, 2, 1)


# --------------------------------------------------------------------------- validation
def validate(cfg) -> None:
    """PeleeNet-specific checks (the generic ones live in ``config.py``)."""
    if cfg.stem_channels < 2:
        raise ConfigError("stem_channels", f"{cfg.stem_channels} is not allowed: the stem block's 1x1 branch has "
                          "stem_channels / 2 channels; allowed integers 2 to 4096")
    for i, g in enumerate(cfg.growth_rate):
        if g % 2:
            where = f"stage {i} has " if cfg.num_stages > 1 else ""
            raise ConfigError("growth_rate", f"{where}{g}: a two-way dense layer adds growth_rate / 2 channels on "
                              "each of its two branches, so growth_rate must be even")
    if cfg.stem_pool == "max":
        s1, sp, sc = _stem_sizes(cfg, cfg.input_size)
        if s1 >= 1 and sp != sc:
            raise ConfigError("input_size", f"{cfg.input_size} gives a {s1}x{s1} stem1 output, whose 2x2 max pool "
                              f"({sp}x{sp}) and 3x3 stride-2 conv ({sc}x{sc}) cannot be concatenated; use an input "
                              "size whose stem1 output is even (a multiple of 4 with the 3x3/2 stem)")
    for i, ch in enumerate(_all_stage_channels(cfg)):
        name = f"stages.{i}"
        if cfg.fusion != "none":
            if ch["part2"] < 1:
                raise ConfigError("split_ratio", f"{cfg.split_ratio!r} leaves {name} part 2 (through the block) with "
                                  f"{ch['part2']} of {ch['input']} channels; allowed range: large enough that "
                                  f"floor({ch['input']} x split_ratio) >= 1")
        for j, (n_in, inter) in enumerate(ch["layers"]):
            if inter >= 1:
                continue
            half, width = cfg.growth_rate[i] // 2, cfg.bn_size[i]
            if int(half * width / 4) * 4 < 1:
                raise ConfigError("bn_size", f"{name}: int(growth_rate/2 x bn_size / 4) x 4 = int({half} x {width} / 4)"
                                  " x 4 = 0 bottleneck channels; allowed: growth_rate/2 x bn_size >= 4")
            knob = "split_ratio" if cfg.fusion != "none" else ("stem_channels" if i == 0 else "compression")
            raise ConfigError(knob, f"{name} dense layer {j + 1} has {n_in} input channels, so PeleeNet's rule "
                              f"int({n_in} / 8) x 4 leaves its bottleneck with 0 channels; every dense layer needs "
                              "at least 8 input channels")
        check_transition_widths(cfg, name, ch)


# --------------------------------------------------------------------------- modules
class BasicConv2d(nn.Sequential):
    """The official ``BasicConv2d``: conv (no bias) -> BN -> act; children ``conv``, ``norm``, ``act``."""

    def __init__(self, in_ch: int, out_ch: int, kernel: int, stride: int = 1, padding: int = 0, act: str = "relu"):
        super().__init__()
        self.conv = nn.Conv2d(in_ch, out_ch, kernel, stride, padding, bias=False)
        self.norm = nn.BatchNorm2d(out_ch)
        self.act = make_act(act)


class StemBlock(nn.Module):
    """The official ``_StemBlock``: stem1 -> [2x2 max pool | 1x1 -> 3x3/2] -> concat -> 1x1."""

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
    """The official ``_DenseLayer``: concat [x, 1x1 -> 3x3, 1x1 -> 3x3 -> 3x3] (growth/2 each)."""

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


class Transition(nn.Sequential):
    """PeleeNet's transition: 1x1 ``BasicConv2d`` (conv -> BN -> act) [-> 2x2 average pool]."""

    def __init__(self, in_ch: int, out_ch: int, act: str, pool: bool):
        super().__init__()
        self.conv = nn.Conv2d(in_ch, out_ch, 1, 1, 0, bias=False)
        self.norm = nn.BatchNorm2d(out_ch)
        self.act = make_act(act)
        if pool:
            self.pool = nn.AvgPool2d(2, 2)


class PeleeStage(DenseCSPStage):
    """One stage: a two-way dense block with the fusion's split / transitions / concat around it."""

    def __init__(self, cfg, i: int, ch: dict):
        act, growth = cfg.activation, cfg.growth_rate[i]
        block = nn.Sequential()
        for j, (n_in, inter) in enumerate(ch["layers"]):
            block.add_module(f"denselayer{j + 1}", TwoWayDenseLayer(n_in, inter, growth, act))
        super().__init__(cfg.fusion, ch, block, lambda c_in, c_out, pool: Transition(c_in, c_out, act, pool))


def build(cfg):
    """The real modules: (stem, [stage modules], head)."""
    chans = _all_stage_channels(cfg)
    stages = [PeleeStage(cfg, i, ch) for i, ch in enumerate(chans)]
    head = ClassifierHead(chans[-1]["output"], cfg.num_classes, norm_act=cfg.activation if cfg.head_norm else None)
    return StemBlock(cfg), stages, head


# --------------------------------------------------------------------------- analytic plan
def _plan_basic(b: PlanBuilder, path: str, s, out_ch: int, kernel: int, stride: int = 1, padding: int = 0):
    return b.conv_bn_act(path, s, out_ch, kernel, stride, names=("conv", "norm", "act"), padding=padding)


def _plan_stem(cfg, size: int):
    b = PlanBuilder("stem", "stem")
    s = b.tap("input", (3, size, size))
    c, k = cfg.stem_channels, cfg.stem_kernel
    x = _plan_basic(b, "stem1", s, c, k, cfg.stem_stride, k // 2)
    y = _plan_basic(b, "stem2a", x, c // 2, 1)
    y = _plan_basic(b, "stem2b", y, c, 3, 2, 1)
    if cfg.stem_pool == "max":
        p = b.maxpool("pool", x, 2, 2)
        y = b.cat("cat", [p, y])
    s = _plan_basic(b, "stem3", y, c, 1)
    b.tap("output", s)
    return b.stage


def _plan_block(b: PlanBuilder, s, layers: list, growth: int):
    half = growth // 2
    for j, (_, inter) in enumerate(layers, start=1):
        p = f"block.denselayer{j}"
        b1 = _plan_basic(b, f"{p}.branch1a", s, inter, 1)
        b1 = _plan_basic(b, f"{p}.branch1b", b1, half, 3, padding=1)
        b2 = _plan_basic(b, f"{p}.branch2a", s, inter, 1)
        b2 = _plan_basic(b, f"{p}.branch2b", b2, half, 3, padding=1)
        b2 = _plan_basic(b, f"{p}.branch2c", b2, half, 3, padding=1)
        s = b.cat(f"{p}.cat", [s, b1, b2])
    return s


def _plan_transition(b: PlanBuilder, name: str, s, out_ch: int, pool: bool):
    s = _plan_basic(b, name, s, out_ch, 1)
    if pool:
        s = b.avgpool(f"{name}.pool", s, 2, 2)
    return s


def _plan_stage(cfg, i: int, ch: dict, s):
    block = lambda b, x: _plan_block(b, x, ch["layers"], cfg.growth_rate[i])  # noqa: E731
    return plan_dense_stage(cfg, i, ch, s, block, _plan_transition)


def plan(cfg, input_size: int) -> list:
    """The analytic plan: [stem, stages.0 .. stages.N-1, head]."""
    stem = _plan_stem(cfg, input_size)
    out, s = [stem], stem.output_shape
    for i, ch in enumerate(_all_stage_channels(cfg)):
        sp, s = _plan_stage(cfg, i, ch, s)
        out.append(sp)
    hb = PlanBuilder("head", "head")
    plan_head(hb, s, cfg.num_classes, norm_act=cfg.head_norm)
    out.append(hb.stage)
    return out


# --------------------------------------------------------------------------- presets
# sum(p.numel() for p in PeleeNet().parameters()) of the official Robert-JunWang/PeleeNet
# peleenet.py (growth 32, blocks 3-4-8-6, 32 stem channels, bottleneck widths 1-2-4-4, 1000 classes);
# the README rounds it to 2.8M.
OFFICIAL_PARAMS = 2_802_248
# conv + linear multiply-adds of the same model at 1x3x224x224 (torch FlopCounterMode / 2); the
# README's "FLOPs 508 M" is this count of multiply-accumulates, rounded.
OFFICIAL_MACS_224 = 507_757_568

_SOURCE = ("Robert-JunWang/PeleeNet peleenet.py (official PyTorch model), sum(p.numel() for p in "
           "PeleeNet().parameters()); README: 2.8M params, 508M FLOPs (multiply-adds)")

_BASE = {"family": "peleenet", "stem_channels": 32, "stem_kernel": 3, "stem_stride": 2, "stem_pool": "max",
         "repeats": (3, 4, 8, 6), "growth_rate": 32, "bn_size": (1, 2, 4, 4), "compression": 1.0,
         "last_transition": True, "head_norm": False, "activation": "relu", "input_size": 224, "num_classes": 1000}

_UNRELEASED = ("The authors' CSPPeleeNet cfg was never released, so this is the paper's design read onto "
               "PeleeNet with this tool's stage semantics.")


def _csp(name: str, fusion: str, split: float, text: str, gamma_note: str = "") -> Preset:
    return Preset(
        name=name,
        config={**_BASE, "fusion": fusion, "split_ratio": split, "transition_ratio": 1.0},
        description=f"PeleeNet with {text}{gamma_note} {_UNRELEASED}",
        reference="CSPNet paper (Wang et al. 2019) Fig. 3/4 and Table 1, applied to the official PeleeNet",
    )


_CSP_TEXT = ("CSP (paper Fig. 3b): half the channels bypass each two-way dense block; the block output goes "
             "through a channel-keeping partial transition (1x1 conv-BN-ReLU), is concatenated with the bypass "
             "and goes through PeleeNet's channel-keeping transition (2x2 average pool after stages 1-3).")
_FIRST_TEXT = ("fusion first (paper Fig. 3c): half the channels bypass each two-way dense block; the block "
               "output is concatenated with the bypass, then one channel-keeping PeleeNet transition.")
_LAST_TEXT = ("fusion last (paper Fig. 3d): half the channels bypass each two-way dense block; the block "
              "output goes through a channel-keeping PeleeNet transition (with its 2x2 average pool), the "
              "bypass through a 2x2 average pool, then they are concatenated; nothing after the concat.")
_GAMMA = (" Partial ratio gamma = 0.25 (the bypass share, as inferred from the paper's -3 % / -11 %): "
          "split_ratio 0.75, so three quarters of the channels go through the block.")

PRESETS = (
    Preset(
        name="peleenet",
        config={**_BASE, "fusion": "none"},
        description="PeleeNet (Wang, Li & Ling, NeurIPS 2018), the official PyTorch model: stem block to 32 "
                    "channels, two-way dense layers with growth 32 in blocks 3-4-8-6, bottleneck widths 1-2-4-4, "
                    "channel-keeping 1x1 conv-BN-ReLU transitions (also after the last block), 2x2 average pool "
                    "after stages 1-3, global average pool and a linear classifier. 224x224.",
        reference="official PeleeNet (Robert-JunWang/PeleeNet)",
        reference_params=OFFICIAL_PARAMS,
        source=_SOURCE,
    ),
    _csp("csppeleenet", "csp", 0.5, _CSP_TEXT),
    _csp("csppeleenet_fusion_first", "fusion_first", 0.5, _FIRST_TEXT),
    _csp("csppeleenet_fusion_last", "fusion_last", 0.5, _LAST_TEXT),
    _csp("csppeleenet_gamma025", "csp", 0.75, _CSP_TEXT.replace("half the channels", "a quarter of the channels"),
         _GAMMA),
    _csp("csppeleenet_fusion_last_gamma025", "fusion_last", 0.75,
         _LAST_TEXT.replace("half the channels", "a quarter of the channels"), _GAMMA),
)


FAMILY = Family(
    name="peleenet",
    description="PeleeNet (official layout: stem block, two-way dense layers, post-activation transitions) "
                "with CSP fusion strategies: none, csp (CSPPeleeNet), fusion_first, fusion_last.",
    validate=validate,
    plan=plan,
    build=build,
    defaults={k: v for k, v in {**_BASE, "fusion": "none", "split_ratio": 0.5,
                                "transition_ratio": 1.0}.items() if k != "family"},
    fields=("stem_channels", "stem_kernel", "stem_stride", "stem_pool", "repeats", "growth_rate", "bn_size",
            "fusion", "split_ratio", "transition_ratio", "compression", "last_transition", "head_norm",
            "activation", "input_size", "num_classes"),
    presets=PRESETS,
)
