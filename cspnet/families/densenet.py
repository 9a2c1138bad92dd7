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

Pure Python (arithmetic, validation, plan, presets); the modules are generated from the plan (``cspnet.graph_model``).
"""
from __future__ import annotations

from ..errors import ConfigError
from ..plan import PlanBuilder
from . import Family, build_from_plan, preset_defaults, preset_table
from ._dense import all_stage_channels as _dense_stage_channels
from ._dense import check_stages, merge_channels, plan_dense_network, plan_dense_stage, split

# The widest 1x1 bottleneck (bn_size x growth_rate) a dense layer may have.
MAX_BOTTLENECK = 4096


# --------------------------------------------------------------------------- channel arithmetic
def stage_channels(cfg, i: int, c: int) -> dict:
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


def all_stage_channels(cfg) -> list:
    return _dense_stage_channels(cfg, stage_channels)


# --------------------------------------------------------------------------- validation
def validate(cfg) -> None:
    """DenseNet-specific checks (the generic ones live in ``config.py``)."""
    for i in range(cfg.num_stages):
        width = cfg.bn_size[i] * cfg.growth_rate[i]
        if width > MAX_BOTTLENECK:
            where = f"stage {i}: " if cfg.num_stages > 1 else ""
            raise ConfigError("bn_size", f"{where}bn_size {cfg.bn_size[i]} x growth_rate {cfg.growth_rate[i]} = "
                              f"{width} bottleneck channels; allowed at most {MAX_BOTTLENECK}")
    check_stages(cfg, all_stage_channels(cfg))


# --------------------------------------------------------------------------- analytic plan
def plan_stem(cfg, size: int):
    """``conv0`` [-> ``norm0`` -> ``relu0``] [-> ``pool0``].  Oracle twin: ``tests/oracle/densenet.py: build_stem``."""
    b = PlanBuilder("stem", "stem")
    s = b.tap("input", (3, size, size))
    s = b.conv("conv0", s, cfg.stem_channels, cfg.stem_kernel, cfg.stem_stride)
    if cfg.stem_norm:
        s = b.bn("norm0", s)
        s = b.act("relu0", s)
    if cfg.stem_pool == "max":
        s = b.maxpool("pool0", s, 3, 2, 1)
    b.tap("output", s)
    return b.stage


def plan_dense_layer(b: PlanBuilder, path: str, feats: list, growth: int, bn_size: int):
    """Oracle twin: ``tests/oracle/densenet.py: DenseLayer``."""
    x = b.cat(f"{path}.cat", feats) if len(feats) > 1 else feats[0]
    x = b.bn(f"{path}.norm1", x)
    x = b.act(f"{path}.relu1", x)
    x = b.conv(f"{path}.conv1", x, bn_size * growth, 1, padding=0)
    x = b.bn(f"{path}.norm2", x)
    x = b.act(f"{path}.relu2", x)
    return b.conv(f"{path}.conv2", x, growth, 3, padding=1)


def record_block(b: PlanBuilder, s, repeats: int, growth: int, bn_size: int):
    """Every layer of a dense block, one by one.  Oracle twin: ``tests/oracle/densenet.py: DenseBlock``."""
    feats = [s]
    for j in range(1, repeats + 1):
        feats.append(plan_dense_layer(b, f"block.denselayer{j}", feats, growth, bn_size))
    return b.cat("block.cat", feats) if len(feats) > 1 else feats[0]


def block_totals(s, repeats: int, growth: int, bn_size: int) -> dict:
    """The per-kind totals (``cspnet.plan.TOTALS``) of :func:`record_block`, in closed form.

    Layer j (0-based) of n reads ``c_j = c0 + j k`` channels: [concat (j >= 1)], BN, act, 1x1 conv to
    ``m = bn_size k``, BN, act, 3x3 conv to ``k`` (H, W kept); the block ends with a concat of
    ``c0 + n k`` channels.  Sums over j use ``S = sum c_j = n c0 + k n (n - 1) / 2``."""
    c0, h, w = s
    n, k = repeats, growth
    if n < 1:
        return {}
    m, hw = bn_size * growth, h * w
    ssum = n * c0 + k * n * (n - 1) // 2          # sum of c_j, j = 0 .. n-1
    cat = (ssum - c0 + c0 + n * k) * hw           # the layers' concats (j >= 1) and the block's own
    return {
        "cat": [n, 0, 0, cat, cat, 0],
        "bn": [2 * n, 2 * ssum + 2 * n * m, 0, (ssum + n * m) * hw, (ssum + n * m) * hw, 0],
        "act": [2 * n, 0, 0, (ssum + n * m) * hw, (ssum + n * m) * hw, 0],
        "conv": [2 * n, ssum * m + n * m * k * 9, (ssum * m + n * m * k * 9) * hw, (ssum + n * m) * hw,
                 n * (m + k) * hw, n * (m + 9 * k) * hw],
    }


def plan_block(b: PlanBuilder, s, repeats: int, growth: int, bn_size: int):
    """A dense block: its totals in closed form, its layers recorded when read.  Oracle twin:
    ``tests/oracle/densenet.py: DenseBlock``."""
    if s[1] < 1 or s[2] < 1 or not repeats:  # a degenerate size (refused by validation): record it as it is
        return record_block(b, s, repeats, growth, bn_size)
    out = (s[0] + repeats * growth, s[1], s[2])
    return b.deferred(lambda sub: record_block(sub, s, repeats, growth, bn_size),
                      block_totals(s, repeats, growth, bn_size), out, "block.cat")


def plan_transition(b: PlanBuilder, name: str, s, out_ch: int, pool: bool):
    """Oracle twin: ``tests/oracle/densenet.py: Transition``."""
    s = b.bn(f"{name}.norm", s)
    s = b.act(f"{name}.relu", s)
    s = b.conv(f"{name}.conv", s, out_ch, 1, padding=0)
    if pool:
        s = b.avgpool(f"{name}.pool", s, 2, 2)
    return s


def plan_stage(cfg, i: int, ch: dict, s):
    """Oracle twin: ``tests/oracle/densenet.py: DenseStage``."""
    block = lambda b, x: plan_block(b, x, cfg.repeats[i], cfg.growth_rate[i], cfg.bn_size[i])  # noqa: E731
    return plan_dense_stage(cfg, i, ch, s, block, plan_transition)


def plan(cfg, input_size: int) -> list:
    """The analytic plan: [stem, stages.0 .. stages.N-1, head].  Oracle twin: ``tests/oracle/densenet.py: build``."""
    return plan_dense_network(cfg, input_size, plan_stem, all_stage_channels, plan_stage)


# --------------------------------------------------------------------------- presets
_BASE = {"family": "densenet", "stem_channels": 64, "stem_kernel": 7, "stem_stride": 2, "stem_pool": "max",
         "growth_rate": 32, "bn_size": 4, "compression": 0.5, "activation": "relu", "last_transition": False,
         "input_size": 224, "num_classes": 1000}

D121, D169, D201 = (6, 12, 24, 16), (6, 12, 32, 32), (6, 12, 48, 32)


def _tv(name: str, params: int, **overrides) -> tuple:
    """A torchvision DenseNet: its parameter count is sum(p.numel()) of torchvision.models.<name>()."""
    source = ("torchvision/models/densenet.py (torchvision 0.29.1), sum(p.numel() for p in model.parameters()) "
              f"of torchvision.models.{name}()")
    return name, {"fusion": "none", **overrides}, f"torchvision {name}", params, source, None


def _csp(depth: str, repeats: tuple, fusion: str) -> tuple:
    """The CSPNet paper's fusion (Fig. 3b-d) on torchvision's DenseNet-<depth>; no reference count; its
    paper base is torchvision's densenet<depth>."""
    suffix = "" if fusion == "csp" else f"_{fusion}"
    overrides = {"repeats": repeats, "fusion": fusion, "split_ratio": 0.5,
                 "transition_ratio": 0.5 if fusion == "fusion_last" else 1.0}
    return (f"cspdensenet{depth}{suffix}", overrides,
            f"CSPNet paper (Wang et al. 2019) applied to torchvision densenet{depth}", None, "", f"densenet{depth}")


_WALKTHROUGH_PARAMS = 1_274_934  # the article's own model, see the preset's source

PRESETS = preset_table(_BASE, [
    # name, config overrides, reference, reference params, source, paper base
    _tv("densenet121", 7_978_856, repeats=D121),
    _tv("densenet161", 28_681_000, repeats=(6, 12, 36, 24), growth_rate=48, stem_channels=96),
    _tv("densenet169", 14_149_480, repeats=D169),
    _tv("densenet201", 20_013_928, repeats=D201),
    _csp("121", D121, "csp"),
    _csp("121", D121, "fusion_first"),
    _csp("121", D121, "fusion_last"),
    _csp("169", D169, "csp"),
    _csp("169", D169, "fusion_first"),
    _csp("169", D169, "fusion_last"),
    _csp("201", D201, "csp"),
    _csp("201", D201, "fusion_first"),
    _csp("201", D201, "fusion_last"),
    ("cspdensenet_walkthrough",
     {"repeats": D121, "growth_rate": 12, "bn_size": 4, "fusion": "csp", "split_ratio": 0.5,
      "transition_ratio": 0.8, "compression": 0.5, "last_transition": False, "stem_norm": False,
      "head_norm": False},
     "CSPNet Paper Walkthrough (Towards Data Science), notebook "
     "MuhammadArdiPutra/medium_articles 'Deep Learning From Scratch/CSPNet.ipynb'",
     _WALKTHROUGH_PARAMS,
     "the article prints no parameter count; its code, run as published: sum(p.numel()) = "
     f"{_WALKTHROUGH_PARAMS:,} and 543,934,612 conv+linear multiply-adds at 224x224",
     # no paper base: densenet121 is not a fair one (growth 32, not 12, over 5x the parameters; a
     # stem and a head norm): the walkthrough's CSP changes a DenseNet-121 with growth 12 and no stem
     # or head norm, which is its own plain twin
     None),
])


FAMILY = Family(
    name="densenet",
    description="DenseNet (torchvision layout) with CSP fusion strategies: none, csp (CSPDenseNet), "
                "fusion_first, fusion_last.",
    validate=validate,
    plan=plan,
    build=build_from_plan,
    defaults=preset_defaults(PRESETS, "densenet121"),
    presets=PRESETS,
)
