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

Pure Python (arithmetic, validation, plan, presets); the modules are generated from the plan (``cspnet.graph_model``).
"""
from __future__ import annotations

from ..errors import ConfigError
from ..plan import PlanBuilder, conv_out
from . import Family, build_from_plan, preset_defaults, preset_table
from ._dense import all_stage_channels as _dense_stage_channels
from ._dense import check_stages, merge_channels, plan_dense_network, plan_dense_stage, split


# --------------------------------------------------------------------------- channel arithmetic
def inter_channels(n_in: int, growth: int, bottleneck_width: int) -> int:
    """The official ``_DenseLayer`` bottleneck width (peleenet.py), for a layer with ``n_in`` inputs."""
    half = growth // 2
    inter = int(half * bottleneck_width / 4) * 4
    if inter > n_in / 2:
        inter = int(n_in / 8) * 4
    return inter


def stage_channels(cfg, i: int, c: int) -> dict:
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


def all_stage_channels(cfg) -> list:
    return _dense_stage_channels(cfg, stage_channels)


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
    check_stages(cfg, all_stage_channels(cfg), _check_layers)


def _check_layers(cfg, i: int, name: str, ch: dict) -> None:
    """Every two-way dense layer of stage ``i`` needs a bottleneck of at least 1 channel."""
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


# --------------------------------------------------------------------------- analytic plan
def plan_basic(b: PlanBuilder, path: str, s, out_ch: int, kernel: int, stride: int = 1, padding: int = 0):
    """Oracle twin: ``tests/oracle/peleenet.py: BasicConv2d``."""
    return b.conv_bn_act(path, s, out_ch, kernel, stride, names=("conv", "norm", "act"), padding=padding)


def plan_stem(cfg, size: int):
    """Oracle twin: ``tests/oracle/peleenet.py: StemBlock``."""
    b = PlanBuilder("stem", "stem")
    s = b.tap("input", (3, size, size))
    c, k = cfg.stem_channels, cfg.stem_kernel
    x = plan_basic(b, "stem1", s, c, k, cfg.stem_stride, k // 2)
    y = plan_basic(b, "stem2a", x, c // 2, 1)
    y = plan_basic(b, "stem2b", y, c, 3, 2, 1)
    if cfg.stem_pool == "max":
        p = b.maxpool("pool", x, 2, 2)
        y = b.cat("cat", [p, y])
    s = plan_basic(b, "stem3", y, c, 1)
    b.tap("output", s)
    return b.stage


def plan_dense_layer(b: PlanBuilder, path: str, s, inter: int, growth: int):
    """Oracle twin: ``tests/oracle/peleenet.py: TwoWayDenseLayer``."""
    half = growth // 2
    b1 = plan_basic(b, f"{path}.branch1a", s, inter, 1)
    b1 = plan_basic(b, f"{path}.branch1b", b1, half, 3, padding=1)
    b2 = plan_basic(b, f"{path}.branch2a", s, inter, 1)
    b2 = plan_basic(b, f"{path}.branch2b", b2, half, 3, padding=1)
    b2 = plan_basic(b, f"{path}.branch2c", b2, half, 3, padding=1)
    return b.cat(f"{path}.cat", [s, b1, b2])


def plan_block(b: PlanBuilder, s, layers: list, growth: int):
    """Oracle twin: ``tests/oracle/peleenet.py: build_block``."""
    for j, (_, inter) in enumerate(layers, start=1):
        s = plan_dense_layer(b, f"block.denselayer{j}", s, inter, growth)
    return s


def plan_transition(b: PlanBuilder, name: str, s, out_ch: int, pool: bool):
    """Oracle twin: ``tests/oracle/peleenet.py: Transition``."""
    s = plan_basic(b, name, s, out_ch, 1)
    if pool:
        s = b.avgpool(f"{name}.pool", s, 2, 2)
    return s


def plan_stage(cfg, i: int, ch: dict, s):
    """Oracle twin: ``tests/oracle/peleenet.py: PeleeStage``."""
    block = lambda b, x: plan_block(b, x, ch["layers"], cfg.growth_rate[i])  # noqa: E731
    return plan_dense_stage(cfg, i, ch, s, block, plan_transition)


def plan(cfg, input_size: int) -> list:
    """The analytic plan: [stem, stages.0 .. stages.N-1, head].  Oracle twin: ``tests/oracle/peleenet.py: build``."""
    return plan_dense_network(cfg, input_size, plan_stem, all_stage_channels, plan_stage)


# --------------------------------------------------------------------------- presets
# sum(p.numel() for p in PeleeNet().parameters()) of the official Robert-JunWang/PeleeNet
# peleenet.py (growth 32, blocks 3-4-8-6, 32 stem channels, bottleneck widths 1-2-4-4, 1000 classes);
# the README rounds it to 2.8M.
OFFICIAL_PARAMS = 2_802_248
# conv + linear multiply-adds of the same model at 1x3x224x224 (torch FlopCounterMode / 2); the
# README's "FLOPs 508 M" is this count of multiply-accumulates, rounded.
OFFICIAL_MACS_224 = 507_757_568

_BASE = {"family": "peleenet", "stem_channels": 32, "stem_kernel": 3, "stem_stride": 2, "stem_pool": "max",
         "repeats": (3, 4, 8, 6), "growth_rate": 32, "bn_size": (1, 2, 4, 4), "compression": 1.0,
         "last_transition": True, "head_norm": False, "activation": "relu", "input_size": 224, "num_classes": 1000}


def _csp(name: str, fusion: str, split_ratio: float) -> tuple:
    """The CSPNet paper's design read onto PeleeNet (the authors' cfg was never released): no reference
    count; its paper base is the official PeleeNet."""
    return (name, {"fusion": fusion, "split_ratio": split_ratio, "transition_ratio": 1.0},
            "CSPNet paper (Wang et al. 2019) Fig. 3/4 and Table 1, applied to the official PeleeNet", None, "",
            "peleenet")


PRESETS = preset_table(_BASE, [
    # name, config overrides, reference, reference params, source, paper base
    ("peleenet", {"fusion": "none"}, "official PeleeNet (Robert-JunWang/PeleeNet)", OFFICIAL_PARAMS,
     "Robert-JunWang/PeleeNet peleenet.py (official PyTorch model), sum(p.numel() for p in "
     "PeleeNet().parameters()); README: 2.8M params, 508M FLOPs (multiply-adds)", None),
    _csp("csppeleenet", "csp", 0.5),
    _csp("csppeleenet_fusion_first", "fusion_first", 0.5),
    _csp("csppeleenet_fusion_last", "fusion_last", 0.5),
    _csp("csppeleenet_gamma025", "csp", 0.75),                  # gamma = 1 - split_ratio = 0.25
    _csp("csppeleenet_fusion_last_gamma025", "fusion_last", 0.75),
])


FAMILY = Family(
    name="peleenet",
    description="PeleeNet (official layout: stem block, two-way dense layers, post-activation transitions) "
                "with CSP fusion strategies: none, csp (CSPPeleeNet), fusion_first, fusion_last.",
    validate=validate,
    plan=plan,
    build=build_from_plan,
    defaults=preset_defaults(PRESETS, "peleenet"),
    presets=PRESETS,
)
