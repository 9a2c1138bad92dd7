"""The DenseNet family: exact reference counts, plan == model, fusions, zero-width branches."""
from __future__ import annotations

import math

import pytest
import torch
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from torch import nn

from cspnet import ConfigError, CSPConfig, build_model, count_params, family_fields, plan_network
from cspnet.families.densenet import FAMILY, PRESETS
from oracle import build_oracle
from plan_check import assert_plan_matches_model

# torchvision/models/densenet.py (torchvision 0.29.1): sum(p.numel() for p in m.parameters()) of
# torchvision.models.densenetXXX(); the same numbers as torchvision's published weight metadata.
TORCHVISION_PARAMS = {
    "densenet121": 7_978_856,
    "densenet161": 28_681_000,
    "densenet169": 14_149_480,
    "densenet201": 20_013_928,
}
# torchvision's densenet121 "GFLOPS 2.83" metadata is multiply-adds; exact value counted with
# torch.utils.flop_counter.FlopCounterMode / 2 on torchvision 0.29.1 at 1x3x224x224.
DENSENET121_MACS = 2_834_161_664

# "CSPNet Paper Walkthrough: Just Better, No Tradeoffs" (Towards Data Science, May 2026), code in
# github.com/MuhammadArdiPutra/medium_articles "Deep Learning From Scratch/CSPNet.ipynb".  The
# article prints no parameter count; these are its CSPDenseNet() class run as published (plain
# torch): sum(p.numel()) and FlopCounterMode / 2 at 1x3x224x224.
WALKTHROUGH_ARTICLE_PARAMS = 1_274_934
WALKTHROUGH_ARTICLE_MACS = 543_934_612
# Our preset turns off the stem and head BatchNorms (stem_norm/head_norm False) as the article's
# code has none: the count is the article's exactly.
WALKTHROUGH_PARAMS = WALKTHROUGH_ARTICLE_PARAMS
# The shapes the article's notebook prints (Codeblock 11 output), stage by stage.
WALKTHROUGH_TAPS = [
    {"part1": (32, 56, 56), "part2": (32, 56, 56), "block": (104, 56, 56), "partial_transition": (83, 56, 56),
     "concat": (115, 56, 56), "transition": (57, 28, 28)},
    {"part1": (29, 28, 28), "part2": (28, 28, 28), "block": (172, 28, 28), "partial_transition": (137, 28, 28),
     "concat": (166, 28, 28), "transition": (83, 14, 14)},
    {"part1": (42, 14, 14), "part2": (41, 14, 14), "block": (329, 14, 14), "partial_transition": (263, 14, 14),
     "concat": (305, 14, 14), "transition": (152, 7, 7)},
    {"part1": (76, 7, 7), "part2": (76, 7, 7), "block": (268, 7, 7), "partial_transition": (214, 7, 7),
     "concat": (290, 7, 7)},
]

FUSIONS = ("none", "csp", "fusion_first", "fusion_last")
TAPS = {
    "none": ["input", "block", "transition", "output"],
    "csp": ["input", "part1", "part2", "block", "partial_transition", "concat", "transition", "output"],
    "fusion_first": ["input", "part1", "part2", "block", "concat", "transition", "output"],
    "fusion_last": ["input", "part1", "part2", "block", "transition", "concat", "output"],
}

BY_NAME = {p.name: p for p in PRESETS}


def preset_cfg(name: str, **overrides) -> CSPConfig:
    return CSPConfig(**{**BY_NAME[name].config, "name": name, **overrides})


def small(**kw) -> CSPConfig:
    base = dict(family="densenet", stem_channels=16, repeats=(2, 3, 2), growth_rate=8, bn_size=2,
                input_size=64, num_classes=10)
    return CSPConfig(**{**base, **kw})


# --------------------------------------------------------------------------- presets
def test_preset_names():
    names = set(BY_NAME)
    assert len(names) == len(PRESETS)
    for d in ("121", "169", "201"):
        assert {f"cspdensenet{d}", f"cspdensenet{d}_fusion_first", f"cspdensenet{d}_fusion_last"} <= names
    assert set(TORCHVISION_PARAMS) <= names and "cspdensenet_walkthrough" in names
    for p in PRESETS:
        assert p.config["family"] == "densenet" and p.description
        if p.reference_params is not None:
            assert p.source


@pytest.mark.parametrize("name", sorted(TORCHVISION_PARAMS))
def test_torchvision_param_counts(name):
    cfg = preset_cfg(name)
    assert BY_NAME[name].reference_params == TORCHVISION_PARAMS[name]
    assert count_params(build_model(cfg, device="meta")) == TORCHVISION_PARAMS[name]
    assert plan_network(cfg).params == TORCHVISION_PARAMS[name]


@pytest.mark.parametrize("name", [p.name for p in PRESETS])
def test_every_preset_plan_matches_model(name):
    cfg = preset_cfg(name)
    plan, model = assert_plan_matches_model(cfg)
    if BY_NAME[name].reference_params is not None:
        assert plan.params == BY_NAME[name].reference_params
    assert plan.stage("stages.0").fusion == cfg.fusion
    assert [s.repeats for s in plan.stages if s.kind == "stage"] == list(cfg.repeats)


def test_densenet121_macs():
    cfg = preset_cfg("densenet121")
    plan, _ = assert_plan_matches_model(cfg)  # also checks FlopCounterMode == 2 x plan.macs
    assert plan.macs == DENSENET121_MACS
    assert round(plan.macs / 1e9, 3) == 2.834


def test_csp_presets_configuration():
    same = ("stem_channels", "stem_kernel", "stem_stride", "stem_pool", "repeats", "growth_rate", "bn_size",
            "compression", "activation", "input_size", "num_classes", "last_transition")
    for d in ("121", "169", "201"):
        plain = preset_cfg(f"densenet{d}")
        for suffix, fusion in (("", "csp"), ("_fusion_first", "fusion_first"), ("_fusion_last", "fusion_last")):
            cfg = preset_cfg(f"cspdensenet{d}{suffix}")
            assert cfg.fusion == fusion and cfg.split_ratio == 0.5
            assert all(getattr(cfg, f) == getattr(plain, f) for f in same)
            assert BY_NAME[cfg.name].reference_params is None
            # the paper's partial transition keeps its width; fusion last's block-path transition
            # is a DenseNet transition, so it halves like DenseNet's compression
            assert cfg.transition_ratio == (0.5 if fusion == "fusion_last" else 1.0)


def test_walkthrough_preset():
    cfg = preset_cfg("cspdensenet_walkthrough")
    assert (cfg.fusion, cfg.growth_rate, cfg.bn_size, cfg.repeats) == ("csp", (12,) * 4, (4,) * 4, (6, 12, 24, 16))
    assert (cfg.split_ratio, cfg.transition_ratio, cfg.compression, cfg.last_transition) == (0.5, 0.8, 0.5, False)
    plan = plan_network(cfg)
    assert count_params(build_model(cfg, device="meta")) == plan.params == WALKTHROUGH_PARAMS == 1_274_934
    assert not any(o.path in ("stem.norm0", "head.norm") for o in plan.ops)
    # torchvision-style BatchNorms back on: +2x64 (norm0) +2x290 (norm5), same multiply-adds
    with_bn = plan_network(cfg.replace(stem_norm=True, head_norm=True))
    assert with_bn.params == WALKTHROUGH_ARTICLE_PARAMS + 2 * 64 + 2 * 290
    assert with_bn.macs == plan.macs
    assert plan.macs == WALKTHROUGH_ARTICLE_MACS  # BN is not a multiply-add: identical
    for i, taps in enumerate(WALKTHROUGH_TAPS):
        got = plan.stage(f"stages.{i}").taps
        assert {k: got[k] for k in taps} == taps
    assert "transition" not in plan.stage("stages.3").taps
    assert plan.stage("head").taps["input"] == (290, 7, 7)


# --------------------------------------------------------------------------- structure
@pytest.mark.parametrize("fusion", FUSIONS)
def test_tap_order_and_module_paths(fusion):
    cfg = small(fusion=fusion)
    plan, model = assert_plan_matches_model(cfg)
    stages = [s for s in plan.stages if s.kind == "stage"]
    assert [s.name for s in plan.stages] == ["stem", "stages.0", "stages.1", "stages.2", "head"]
    assert [s.kind for s in plan.stages] == ["stem", "stage", "stage", "stage", "head"]
    for s in stages[:-1]:
        assert list(s.taps) == TAPS[fusion]
    last = list(stages[-1].taps)
    if fusion == "fusion_last":
        assert last == TAPS[fusion]
    else:
        assert last == [t for t in TAPS[fusion] if t != "transition"]
    for op in plan.ops:  # every plan row with weights names a real module of the built model
        if op.kind not in ("conv", "bn", "linear"):
            continue
        mod = model.get_submodule(op.path)
        if op.kind == "conv":
            assert isinstance(mod, nn.Conv2d) and mod.weight.numel() == op.params
        elif op.kind == "bn":
            assert isinstance(mod, nn.BatchNorm2d) and mod.num_features == op.in_shape[0]
        elif op.kind == "linear":
            assert isinstance(mod, nn.Linear)
    names = dict(build_oracle(cfg).named_modules())   # torchvision's names, in the hand-written twin
    assert {"stem.conv0", "stem.norm0", "stem.relu0", "stem.pool0", "head.fc",
            "stages.0.block.denselayer1.conv1", "stages.0.block.denselayer2.conv2"} <= set(names)
    if fusion == "fusion_last":
        assert "stages.0.part1_pool" in names and "stages.2.part1_pool" not in names
        assert not hasattr(model.stages[2].transition, "pool")


@pytest.mark.parametrize("fusion", FUSIONS)
def test_last_transition(fusion):
    cfg = small(fusion=fusion, last_transition=True)
    plan, model = assert_plan_matches_model(cfg)
    last = plan.stage("stages.2")
    assert "transition" in last.taps
    assert last.taps["transition"][1:] == last.taps["block"][1:]  # no pooling in the last stage
    assert not hasattr(model.stages[2].transition, "pool")


@pytest.mark.parametrize("fusion", FUSIONS)
def test_real_forward(fusion):
    torch.manual_seed(0)
    cfg = small(fusion=fusion, activation="silu" if fusion == "csp" else "relu")
    model = build_model(cfg)
    out = model(torch.randn(1, 3, cfg.input_size, cfg.input_size))
    assert out.shape == (1, cfg.num_classes) and torch.isfinite(out).all()
    assert count_params(model) == plan_network(cfg).params


def test_dense_block_channels():
    cfg = small(fusion="csp", split_ratio=0.25, transition_ratio=0.6, compression=0.7)
    s0 = plan_network(cfg).stage("stages.0").taps
    part2 = math.floor(16 * 0.25)
    assert s0["part1"][0] == 16 - part2 and s0["part2"][0] == part2
    assert s0["block"][0] == part2 + 2 * 8
    assert s0["partial_transition"][0] == math.floor(s0["block"][0] * 0.6)
    assert s0["concat"][0] == s0["part1"][0] + s0["partial_transition"][0]
    assert s0["transition"] == (math.floor(s0["concat"][0] * 0.7), 8, 8)


@pytest.mark.parametrize("fusion", ["csp", "fusion_first", "fusion_last"])
def test_split_ratio_one_has_no_bypass(fusion):
    cfg = small(fusion=fusion, split_ratio=1.0)
    plan, model = assert_plan_matches_model(cfg)
    for s in plan.stages:
        if s.kind == "stage":
            assert "part1" not in s.taps and s.taps["part2"][0] == s.taps["input"][0]
    out = build_model(cfg)(torch.randn(1, 3, 64, 64))
    assert out.shape == (1, 10) and torch.isfinite(out).all()


def test_family_object():
    assert FAMILY.name == "densenet"
    for f in family_fields(FAMILY.name):
        assert hasattr(CSPConfig, f) or f in {x.name for x in CSPConfig.__dataclass_fields__.values()}
    cfg = CSPConfig(family="densenet", **FAMILY.defaults)
    assert plan_network(cfg).params == TORCHVISION_PARAMS["densenet121"]


# --------------------------------------------------------------------------- errors
def _field(**kw) -> str:
    with pytest.raises(ConfigError) as exc:
        small(**kw)
    return exc.value.field


def test_zero_width_compression():
    # stage 0 block: 16 + 2*8 = 32 channels; floor(32 x 0.03) = 0
    assert _field(fusion="none", compression=0.03) == "compression"
    assert _field(fusion="fusion_first", compression=0.01) == "compression"


def test_zero_width_partial_transition():
    assert _field(fusion="csp", transition_ratio=0.02) == "transition_ratio"


def test_zero_width_fusion_last_transition_names_transition_ratio():
    assert _field(fusion="fusion_last", transition_ratio=0.02) == "transition_ratio"
    small(fusion="fusion_last", compression=0.01)  # compression is not used by fusion_last


def test_zero_width_part2():
    assert _field(fusion="csp", split_ratio=0.05) == "split_ratio"  # floor(16 x 0.05) = 0
    assert _field(fusion="fusion_last", stem_channels=1, split_ratio=0.5) == "split_ratio"
    small(fusion="none", split_ratio=0.05)  # the plain network does not split


def test_zero_width_in_a_later_stage():
    # stage 0: part2 = floor(16 x 0.1) = 1, block 2, concat 17, transition 8; stage 1: floor(8 x 0.1) = 0
    cfg_kw = dict(fusion="fusion_first", split_ratio=0.1, growth_rate=1, repeats=(1, 1))
    with pytest.raises(ConfigError) as exc:
        small(**cfg_kw)
    assert exc.value.field == "split_ratio" and "stages.1" in str(exc.value)


def test_bottleneck_too_wide():
    assert _field(growth_rate=1024, bn_size=8) == "bn_size"


def test_input_too_small():
    assert _field(input_size=16, repeats=(1, 1, 1, 1)) == "input_size"


# --------------------------------------------------------------------------- random designs
@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    fusion=st.sampled_from(FUSIONS),
    stem=st.integers(1, 40),
    repeats=st.lists(st.integers(1, 3), min_size=1, max_size=4),
    growth=st.integers(1, 12),
    bn_size=st.integers(1, 4),
    split=st.sampled_from([0.1, 0.25, 0.5, 0.6, 0.75, 1.0]),
    tr=st.sampled_from([0.05, 0.3, 0.5, 0.8, 1.0, 1.5]),
    comp=st.sampled_from([0.05, 0.3, 0.5, 1.0]),
    last=st.booleans(),
    pool=st.sampled_from(["max", "none"]),
    size=st.integers(16, 96),
)
def test_random_designs(fusion, stem, repeats, growth, bn_size, split, tr, comp, last, pool, size):
    try:
        cfg = CSPConfig(family="densenet", fusion=fusion, stem_channels=stem, repeats=tuple(repeats),
                        growth_rate=growth, bn_size=bn_size, split_ratio=split, transition_ratio=tr,
                        compression=comp, last_transition=last, stem_pool=pool, input_size=size,
                        num_classes=7)
    except ConfigError as exc:
        assert exc.field in {"split_ratio", "transition_ratio", "compression", "input_size"}
        return
    assert_plan_matches_model(cfg)


def test_dense_block_totals_in_closed_form_equal_recording_every_layer():
    """Planning a dense block adds its totals in closed form (sweeps plan 1,000s of DenseNets) and records
    its layers only when they are read: both must be what recording every layer gives."""
    import random

    from cspnet.families.densenet import block_totals, record_block
    from cspnet.plan import PlanBuilder

    rng = random.Random(0)
    for _ in range(500):
        s = (rng.randint(1, 300), rng.randint(1, 60), rng.randint(1, 60))
        n, k, bs = rng.randint(0, 50), rng.randint(1, 64), rng.randint(1, 8)
        b = PlanBuilder("stages.0", "stage")
        record_block(b, s, n, k, bs)
        assert b.stage.by_kind == block_totals(s, n, k, bs), (s, n, k, bs)
    from cspnet import get_preset
    from cspnet.plan import kind_totals

    plan = plan_network(get_preset("cspdensenet121"))
    for sp in plan.stages:     # the deferred rows, once read, give the same totals as were added
        assert kind_totals(sp.ops) == sp.by_kind, sp.name
