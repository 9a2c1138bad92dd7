"""DenseNet (torchvision layout) and its Cross Stage Partial variants (CSPDenseNet).

The plain network follows ``torchvision/models/densenet.py``: a stem (``conv0``, ``norm0``,
``relu0``, ``pool0``), dense blocks of pre-activation bottleneck layers (BN-act-1x1 conv to
``bn_size x growth_rate``, BN-act-3x3 conv to ``growth_rate``), transitions (BN-act-1x1 conv to
``floor(C x compression)``, 2x2 average pool) between blocks, and a head of BN-act, global average
pool and a linear classifier (torchvision's ``norm5`` + ReLU + pool + ``classifier``).

Each stage ``i`` (input ``C`` channels) is one dense block plus what its ``fusion`` puts around
it (CSPNet paper, Fig. 3).  All channel arithmetic floors; ``last`` is the last stage:

* ``none``          block -> transition (``compression``; none in the last stage unless
                    ``last_transition``, and then without pooling).
* ``csp``           split -> block(part 2) -> partial transition (``transition_ratio``, no pool)
                    -> concat [part 1, partial transition] -> transition (``compression``; last
                    stage as for ``none``).
* ``fusion_first``  split -> block(part 2) -> concat [part 1, block] -> transition (as ``none``).
* ``fusion_last``   split -> block(part 2) -> transition on the block path only
                    (``transition_ratio``, 2x2 average pool except in the last stage); part 1 gets
                    the same 2x2 average pool (``part1_pool``) -> concat.  Nothing after the
                    concat; ``compression`` and ``last_transition`` are not used.

``part2 = floor(C x split_ratio)``, ``part1 = C - part2`` (the first channels).  ``split_ratio ==
1.0`` sends every channel through the block (part 1 is empty and is left out of the plan's taps);
every other zero-width branch is a ``ConfigError``.
"""
from __future__ import annotations


import torch
from torch import nn

from ..blocks import ClassifierHead, Concat, DenseCSPStage, make_act, plan_head
from ..errors import ConfigError
from ..plan import PlanBuilder
from ._dense import all_stage_channels, check_transition_widths, merge_channels, plan_dense_stage, split
from . import Family, Preset

# The widest 1x1 bottleneck (bn_size x growth_rate) a dense layer may have.
MAX_BOTTLENECK = 4096


# --------------------------------------------------------------------------- channel arithmetic
def _stage_channels(cfg, i: int, c: int) -> dict:
    """Channel counts of stage ``i`` with ``c`` input channels (shared by validate, plan, build)."""
    last = i == cfg.num_stages - 1
    growth, repeats = cfg.growth_rate[i], cfg.repeats[i]
    ch = {"input": c, "last": last, "pool": not last}
    if cfg.fusion == "none":
        ch.update(block_in=c, block=c + repeats * growth)
    else:
        part1, part2 = split(c, cfg.split_ratio)
        ch.update(part1=part1, part2=part2, block_in=part2, block=part2 + repeats * growth)
    return merge_channels(cfg, ch)


def _all_stage_channels(cfg) -> list:
    return all_stage_channels(cfg, _stage_channels)


# --------------------------------------------------------------------------- validation
def validate(cfg) -> None:
    """DenseNet-specific checks (the generic ones live in ``config.py``)."""
    for i in range(cfg.num_stages):
        width = cfg.bn_size[i] * cfg.growth_rate[i]
        if width > MAX_BOTTLENECK:
            where = f"stage {i}: " if cfg.num_stages > 1 else ""
            raise ConfigError("bn_size", f"{where}bn_size {cfg.bn_size[i]} x growth_rate {cfg.growth_rate[i]} = "
                              f"{width} bottleneck channels; allowed at most {MAX_BOTTLENECK}")
    # Zero-width branches, named by the knob at fault (config._check_size is the backstop; it
    # would name ``compression`` for fusion_last's transition, which reads transition_ratio).
    for i, ch in enumerate(_all_stage_channels(cfg)):
        name = f"stages.{i}"
        if cfg.fusion != "none":
            if ch["part2"] < 1:
                raise ConfigError("split_ratio", f"{cfg.split_ratio!r} leaves {name} part 2 (through the block) with "
                                  f"{ch['part2']} of {ch['input']} channels; allowed range: large enough that "
                                  f"floor({ch['input']} x split_ratio) >= 1")
            if ch["part1"] < 1 and cfg.split_ratio < 1.0:  # unreachable with exact floats; kept as a guard
                raise ConfigError("split_ratio", f"{cfg.split_ratio!r} leaves {name} part 1 (bypass) with 0 of "
                                  f"{ch['input']} channels; use split_ratio 1.0 for no bypass, or a smaller ratio")
        check_transition_widths(cfg, name, ch)


# --------------------------------------------------------------------------- modules
class DenseLayer(nn.Module):
    """torchvision ``_DenseLayer``: concat the inputs -> BN-act-1x1 conv -> BN-act-3x3 conv.

    Takes the list of feature maps so far and returns only its ``growth_rate`` new channels.
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
    """torchvision ``_DenseBlock``: ``denselayer1..N`` over a growing feature list, one concat at the end."""

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
    """torchvision ``_Transition``: BN -> act -> 1x1 conv [-> 2x2 average pool]."""

    def __init__(self, in_ch: int, out_ch: int, act: str, pool: bool):
        super().__init__()
        self.norm = nn.BatchNorm2d(in_ch)
        self.relu = make_act(act)
        self.conv = nn.Conv2d(in_ch, out_ch, 1, 1, 0, bias=False)
        if pool:
            self.pool = nn.AvgPool2d(2, 2)


class DenseStage(DenseCSPStage):
    """One stage: a dense block with the fusion's split / transitions / concat around it."""

    def __init__(self, cfg, i: int, ch: dict):
        act = cfg.activation
        block = DenseBlock(ch["block_in"], cfg.repeats[i], cfg.growth_rate[i], cfg.bn_size[i], act)
        super().__init__(cfg.fusion, ch, block, lambda c_in, c_out, pool: Transition(c_in, c_out, act, pool))


def _stem(cfg) -> nn.Sequential:
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
    """The real modules: (stem, [stage modules], head)."""
    stages = [DenseStage(cfg, i, ch) for i, ch in enumerate(_all_stage_channels(cfg))]
    c_out = _all_stage_channels(cfg)[-1]["output"]
    head = ClassifierHead(c_out, cfg.num_classes, norm_act=cfg.activation if cfg.head_norm else None)
    return _stem(cfg), stages, head


# --------------------------------------------------------------------------- analytic plan
def _plan_block(b: PlanBuilder, s, repeats: int, growth: int, bn_size: int):
    feats = [tuple(s)]
    for j in range(1, repeats + 1):
        p = f"block.denselayer{j}"
        x = b.cat(f"{p}.cat", feats) if len(feats) > 1 else feats[0]
        x = b.bn(f"{p}.norm1", x)
        x = b.act(f"{p}.relu1", x)
        x = b.conv(f"{p}.conv1", x, bn_size * growth, 1, padding=0)
        x = b.bn(f"{p}.norm2", x)
        x = b.act(f"{p}.relu2", x)
        x = b.conv(f"{p}.conv2", x, growth, 3, padding=1)
        feats.append(x)
    return b.cat("block.cat", feats) if len(feats) > 1 else feats[0]


def _plan_transition(b: PlanBuilder, name: str, s, out_ch: int, pool: bool):
    s = b.bn(f"{name}.norm", s)
    s = b.act(f"{name}.relu", s)
    s = b.conv(f"{name}.conv", s, out_ch, 1, padding=0)
    if pool:
        s = b.avgpool(f"{name}.pool", s, 2, 2)
    return s


def _plan_stage(cfg, i: int, ch: dict, s):
    block = lambda b, x: _plan_block(b, x, cfg.repeats[i], cfg.growth_rate[i], cfg.bn_size[i])  # noqa: E731
    return plan_dense_stage(cfg, i, ch, s, block, _plan_transition)


def plan(cfg, input_size: int) -> list:
    """The analytic plan: [stem, stages.0 .. stages.N-1, head]."""
    b = PlanBuilder("stem", "stem")
    s = b.tap("input", (3, input_size, input_size))
    s = b.conv("conv0", s, cfg.stem_channels, cfg.stem_kernel, cfg.stem_stride)
    if cfg.stem_norm:
        s = b.bn("norm0", s)
        s = b.act("relu0", s)
    if cfg.stem_pool == "max":
        s = b.maxpool("pool0", s, 3, 2, 1)
    b.tap("output", s)
    out = [b.stage]
    for i, ch in enumerate(_all_stage_channels(cfg)):
        sp, s = _plan_stage(cfg, i, ch, s)
        out.append(sp)
    hb = PlanBuilder("head", "head")
    plan_head(hb, s, cfg.num_classes, norm_act=cfg.head_norm)
    out.append(hb.stage)
    return out


# --------------------------------------------------------------------------- presets
_TV_SOURCE = ("torchvision/models/densenet.py (torchvision 0.29.1), sum(p.numel() for p in model.parameters()) "
              "of torchvision.models.{name}()")

_BASE = {"family": "densenet", "stem_channels": 64, "stem_kernel": 7, "stem_stride": 2, "stem_pool": "max",
         "growth_rate": 32, "bn_size": 4, "compression": 0.5, "activation": "relu", "last_transition": False,
         "input_size": 224, "num_classes": 1000}

_DEPTHS = {
    "121": (6, 12, 24, 16),
    "169": (6, 12, 32, 32),
    "201": (6, 12, 48, 32),
}


def _tv(name, params, **kw):
    depth = name[len("densenet"):]
    return Preset(
        name=name,
        config={**_BASE, "fusion": "none", **kw},
        description=f"DenseNet-{depth} (Huang et al. 2017), torchvision layout: growth {kw.get('growth_rate', 32)}, "
                    f"stem {kw.get('stem_channels', 64)}, blocks {'-'.join(map(str, kw['repeats']))}, "
                    f"bn_size 4, compression 0.5.",
        reference=f"torchvision {name}",
        reference_params=params,
        source=_TV_SOURCE.format(name=name),
    )


_FUSION_TEXT = {
    "csp": ("", "CSPDenseNet (paper Fig. 3b): half the channels bypass each dense block; the block output goes "
                "through a partial transition that keeps its width (transition_ratio 1.0), is concatenated with "
                "the bypass and compressed by the usual transition (compression 0.5, 2x2 average pool)."),
    "fusion_first": ("_fusion_first", "fusion first (paper Fig. 3c): half the channels bypass each dense block; "
                                      "the block output is concatenated with the bypass, then one DenseNet "
                                      "transition (compression 0.5, 2x2 average pool)."),
    "fusion_last": ("_fusion_last", "fusion last (paper Fig. 3d): half the channels bypass each dense block; the "
                                    "block output goes through a DenseNet transition of its own (its width "
                                    "reduction is transition_ratio, 0.5 here like DenseNet's compression, and a 2x2 "
                                    "average pool), the bypass through a 2x2 average pool, then they are "
                                    "concatenated."),
}


def _csp(depth: str, fusion: str) -> Preset:
    suffix, text = _FUSION_TEXT[fusion]
    return Preset(
        name=f"cspdensenet{depth}{suffix}",
        config={**_BASE, "repeats": _DEPTHS[depth], "fusion": fusion, "split_ratio": 0.5,
                "transition_ratio": 0.5 if fusion == "fusion_last" else 1.0},
        description=f"DenseNet-{depth} with {text} No transition after the last stage's concat.",
        reference=f"CSPNet paper (Wang et al. 2019) applied to torchvision densenet{depth}",
    )


_WALKTHROUGH_PARAMS = 1_274_934  # the article's own model, see the preset's source

PRESETS = (
    _tv("densenet121", 7_978_856, repeats=_DEPTHS["121"]),
    _tv("densenet161", 28_681_000, repeats=(6, 12, 36, 24), growth_rate=48, stem_channels=96),
    _tv("densenet169", 14_149_480, repeats=_DEPTHS["169"]),
    _tv("densenet201", 20_013_928, repeats=_DEPTHS["201"]),
    *(_csp(d, f) for d in ("121", "169", "201") for f in ("csp", "fusion_first", "fusion_last")),
    Preset(
        name="cspdensenet_walkthrough",
        config={**_BASE, "repeats": (6, 12, 24, 16), "growth_rate": 12, "bn_size": 4, "fusion": "csp",
                "split_ratio": 0.5, "transition_ratio": 0.8, "compression": 0.5, "last_transition": False,
                "stem_norm": False, "head_norm": False},
        description="The from-scratch CSPDenseNet of the article 'CSPNet Paper Walkthrough: Just Better, No "
                    "Tradeoffs' (Muhammad Ardi, Towards Data Science, May 2026): DenseNet stem (7x7/2 conv to 64, "
                    "3x3/2 max pool; like the article's code, no BatchNorm after the stem conv), growth 12 with "
                    "4 x growth bottlenecks, blocks 6-12-24-16, split 0.5, partial transition 0.8, compression "
                    "0.5, no transition after the last concat, global average pool (no BatchNorm before it) and "
                    "a 1000-way linear layer. The article's dropout (p=0.2, no parameters) and its "
                    "new-features-first concat order (a channel permutation) change no count.",
        reference="CSPNet Paper Walkthrough (Towards Data Science), notebook "
                  "MuhammadArdiPutra/medium_articles 'Deep Learning From Scratch/CSPNet.ipynb'",
        reference_params=_WALKTHROUGH_PARAMS,
        source="the article prints no parameter count; its code, run as published: sum(p.numel()) = "
               f"{_WALKTHROUGH_PARAMS:,} and 543,934,612 conv+linear multiply-adds at 224x224",
    ),
)


FAMILY = Family(
    name="densenet",
    description="DenseNet (torchvision layout) with CSP fusion strategies: none, csp (CSPDenseNet), "
                "fusion_first, fusion_last.",
    validate=validate,
    plan=plan,
    build=build,
    defaults={k: v for k, v in {**_BASE, "repeats": (6, 12, 24, 16), "fusion": "none", "split_ratio": 0.5,
                                "transition_ratio": 1.0}.items() if k != "family"},
    fields=("stem_channels", "stem_kernel", "stem_stride", "stem_pool", "repeats", "growth_rate", "bn_size",
            "fusion", "split_ratio", "transition_ratio", "compression", "last_transition", "activation",
            "input_size", "num_classes", "stem_norm", "head_norm"),
    presets=PRESETS,
)
