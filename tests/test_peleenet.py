"""The PeleeNet family: the official model's exact counts, plan == model, fusions, bad designs."""
from __future__ import annotations

import math

import pytest
import torch
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from torch import nn

from cspnet import ConfigError, CSPConfig, build_model, count_params, family_fields, get_preset, plan_network
from cspnet.families import FAMILIES
from cspnet.families.peleenet import FAMILY, PRESETS, all_stage_channels, inter_channels
from explorer.counts.conventions import count
from explorer.paper.published import MAPPED_PRESETS
from plan_check import assert_plan_matches_model

# Robert-JunWang/PeleeNet peleenet.py (the official PyTorch model, PeleeNet() with its defaults:
# growth 32, blocks 3-4-8-6, 32 stem channels, bottleneck widths 1-2-4-4, 1000 classes):
# sum(p.numel() for p in model.parameters()) = 2,802,248 (README: "2.8M").
OFFICIAL_PARAMS = 2_802_248
# The same model at 1x3x224x224, torch.utils.flop_counter.FlopCounterMode / 2 (conv + linear
# multiply-adds): 507,757,568 = 507,053,568 conv + 704,000 linear.  The README's "FLOPs 508 M" is
# this number of multiply-accumulates, rounded (the author counts one multiply-add as one "FLOP",
# Robert-JunWang/Pelee#73); the CSPNet README's 1.017 BFLOPs is 2 x 508.5 M.
OFFICIAL_MACS_224 = 507_757_568
# fvcore.nn.FlopCountAnalysis on the official model at 224: 513,700,288 (conv + linear + BN 2 per
# element).  This family counts 34,496 more (704 x 7 x 7): its head is nn.AdaptiveAvgPool2d, which
# fvcore counts 1 per input element, where the official forward calls F.avg_pool2d (uncounted).
OFFICIAL_FVCORE_224 = 513_700_288

# The official bottleneck widths (inter_channel) of every dense layer, printed from the model.
OFFICIAL_INTER = [[16] * 3, [32] * 4, [64] * 8, [64] * 6]

FUSIONS = ("none", "csp", "fusion_first", "fusion_last")
BY_NAME = {p.name: p for p in PRESETS}


def small(**kw) -> CSPConfig:
    base = dict(family="peleenet", stem_channels=16, stem_kernel=3, stem_stride=2, repeats=(2, 2, 1),
                growth_rate=8, bn_size=(1, 2, 4), compression=1.0, last_transition=True, head_norm=False,
                input_size=64, num_classes=10)
    return CSPConfig(**{**base, **kw})


# --------------------------------------------------------------------------- registry and presets
def test_registered():
    assert FAMILIES["peleenet"] == ("cspnet.families.peleenet", "FAMILY")
    assert FAMILY.name == "peleenet"
    assert {"peleenet", "csppeleenet", "csppeleenet_fusion_first", "csppeleenet_fusion_last",
            "csppeleenet_gamma025", "csppeleenet_fusion_last_gamma025"} == set(BY_NAME)
    # every PeleeNet preset name that explorer.paper.published maps a row to exists here
    assert {p for p in MAPPED_PRESETS if "pelee" in p} <= set(BY_NAME)
    for p in PRESETS:
        assert p.config["family"] == "peleenet" and p.description and p.reference


def test_exact_official_param_count():
    cfg = get_preset("peleenet")
    assert BY_NAME["peleenet"].reference_params == OFFICIAL_PARAMS
    assert count_params(build_model(cfg, device="meta")) == OFFICIAL_PARAMS
    assert plan_network(cfg).params == OFFICIAL_PARAMS


def test_official_macs_at_224():
    plan, _ = assert_plan_matches_model(get_preset("peleenet"))  # FlopCounterMode == 2 x plan MACs
    assert count(plan, "macs") == OFFICIAL_MACS_224
    assert round(count(plan, "macs") / 1e6) == 508            # the README's "508 M"
    assert count(plan, "fvcore") == OFFICIAL_FVCORE_224 + 704 * 7 * 7
    conv = sum(o.macs for o in plan.ops if o.kind == "conv")
    assert conv == 507_053_568 and plan.macs - conv == 704 * 1000


def test_official_bottleneck_arithmetic():
    ch = [[inter for _, inter in stage["layers"]] for stage in all_stage_channels(get_preset("peleenet"))]
    assert ch == OFFICIAL_INTER
    # the official rule: int(growth/2 x width / 4) x 4, halved to int(n_in / 8) x 4 when > n_in / 2
    assert inter_channels(256, 32, 4) == 64
    assert inter_channels(16, 32, 1) == 8       # 16 > 16 / 2 -> int(16 / 8) x 4
    assert inter_channels(32, 32, 1) == 16      # 16 is not > 32 / 2
    assert inter_channels(100, 32, 4) == 48     # 64 > 50 -> int(100 / 8) x 4 = 48


def test_stem_block_shapes_and_names():
    cfg = get_preset("peleenet")
    plan = plan_network(cfg)
    stem = plan.stage("stem")
    assert stem.taps["output"] == (32, 56, 56)
    assert [o.path for o in stem.ops if o.kind == "conv"] == [
        "stem.stem1.conv", "stem.stem2a.conv", "stem.stem2b.conv", "stem.stem3.conv"]
    cat = next(o for o in stem.ops if o.kind == "cat")
    assert cat.out_shape == (64, 56, 56)
    assert plan.stage("head").taps["input"] == (704, 7, 7)
    assert [plan.stage(f"stages.{i}").taps["output"] for i in range(4)] == [
        (128, 28, 28), (256, 14, 14), (512, 7, 7), (704, 7, 7)]


@pytest.mark.parametrize("name", sorted(BY_NAME))
def test_every_preset_plan_matches_model(name):
    cfg = get_preset(name)
    plan, model = assert_plan_matches_model(cfg)
    assert plan.stage("stages.0").fusion == cfg.fusion
    for op in plan.ops:  # every plan row with weights names a real module of the built model
        if op.kind not in ("conv", "bn"):
            continue
        mod = model.get_submodule(op.path)
        if op.kind == "conv":
            assert isinstance(mod, nn.Conv2d) and mod.weight.numel() == op.params
        elif op.kind == "bn":
            assert isinstance(mod, nn.BatchNorm2d) and mod.num_features == op.in_shape[0]


def test_csp_presets_configuration():
    plain = get_preset("peleenet")
    same = ("stem_channels", "repeats", "growth_rate", "bn_size", "compression", "last_transition", "head_norm",
            "activation", "input_size")
    expect = {"csppeleenet": ("csp", 0.5), "csppeleenet_fusion_first": ("fusion_first", 0.5),
              "csppeleenet_fusion_last": ("fusion_last", 0.5), "csppeleenet_gamma025": ("csp", 0.75),
              "csppeleenet_fusion_last_gamma025": ("fusion_last", 0.75)}
    for name, (fusion, split) in expect.items():
        cfg = get_preset(name)
        assert (cfg.fusion, cfg.split_ratio, cfg.transition_ratio) == (fusion, split, 1.0)
        assert all(getattr(cfg, f) == getattr(plain, f) for f in same)
        assert math.isclose(cfg.gamma, 1 - split)
    # channel-keeping transitions: the csp and fusion_first stages output what PeleeNet's do
    for name in ("csppeleenet", "csppeleenet_fusion_first", "csppeleenet_gamma025"):
        p = plan_network(get_preset(name))
        assert [p.stage(f"stages.{i}").taps["output"] for i in range(4)] == [
            plan_network(plain).stage(f"stages.{i}").taps["output"] for i in range(4)]


def test_csp_stage_arithmetic():
    s0 = plan_network(get_preset("csppeleenet")).stage("stages.0").taps
    assert s0["part1"][0] == 16 and s0["part2"][0] == 16
    assert s0["block"] == (16 + 3 * 32, 56, 56)
    assert s0["partial_transition"] == s0["block"]
    assert s0["concat"] == (128, 56, 56) and s0["transition"] == (128, 28, 28)
    s0 = plan_network(get_preset("csppeleenet_fusion_last")).stage("stages.0").taps
    assert s0["transition"] == (112, 28, 28) and s0["concat"] == (128, 28, 28)


# --------------------------------------------------------------------------- real forwards
@pytest.mark.parametrize("fusion", FUSIONS)
def test_real_forward(fusion):
    torch.manual_seed(0)
    cfg = small(fusion=fusion, activation="silu" if fusion == "csp" else "relu")
    plan, _ = assert_plan_matches_model(cfg)
    model = build_model(cfg)
    out = model(torch.randn(2, 3, cfg.input_size, cfg.input_size))
    assert out.shape == (2, cfg.num_classes) and torch.isfinite(out).all()
    assert count_params(model) == plan.params


def test_real_forward_of_the_official_size_preset():
    cfg = get_preset("csppeleenet_fusion_last", input_size=96)
    out = build_model(cfg)(torch.randn(1, 3, 96, 96))
    assert out.shape == (1, 1000) and torch.isfinite(out).all()


@pytest.mark.parametrize("fusion", FUSIONS)
def test_options(fusion):
    # no stem pool branch, a head norm, no last transition, compression and transition ratios
    cfg = small(fusion=fusion, stem_channels=32, stem_pool="none", head_norm=True, last_transition=False,
                compression=0.5, transition_ratio=0.75, split_ratio=0.75)
    plan, model = assert_plan_matches_model(cfg)
    assert "stem.pool" not in dict(model.named_modules())
    assert "head.norm" in dict(model.named_modules())
    last = plan.stage("stages.2").taps
    assert ("transition" in last) == (fusion == "fusion_last")


def test_family_defaults_build_peleenet():
    cfg = CSPConfig(family="peleenet", **FAMILY.defaults)
    assert plan_network(cfg).params == OFFICIAL_PARAMS
    for f in family_fields(FAMILY.name):
        assert f in CSPConfig.__dataclass_fields__


# --------------------------------------------------------------------------- errors
def _field(**kw) -> str:
    with pytest.raises(ConfigError) as exc:
        small(**kw)
    return exc.value.field


def test_odd_growth_rate():
    assert _field(growth_rate=7) == "growth_rate"


def test_zero_bottleneck():
    assert _field(growth_rate=2, bn_size=1) == "bn_size"      # int(1 x 1 / 4) x 4 = 0


def test_dense_layer_input_too_small():
    # part 2 of 16 channels x 0.25 = 4 inputs: int(4 / 8) x 4 = 0 bottleneck channels
    assert _field(fusion="csp", split_ratio=0.25) == "split_ratio"


def test_zero_width_branches():
    assert _field(fusion="csp", split_ratio=0.05) == "split_ratio"
    assert _field(fusion="csp", transition_ratio=0.01) == "transition_ratio"
    assert _field(fusion="fusion_last", transition_ratio=0.01) == "transition_ratio"
    assert _field(fusion="none", compression=0.01) == "compression"


def test_stem_channels_and_input_size():
    assert _field(stem_channels=1) == "stem_channels"
    # 66 -> stem1 33x33: its 2x2 max pool (16) and 3x3/2 conv (17) cannot be concatenated
    assert _field(input_size=66) == "input_size"
    small(input_size=66, stem_pool="none")   # without the pool branch any size works
    assert _field(input_size=16, repeats=(1, 1, 1, 1), growth_rate=8, bn_size=2) == "input_size"


# --------------------------------------------------------------------------- random designs
@settings(max_examples=20, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    fusion=st.sampled_from(FUSIONS),
    stem=st.integers(1, 40),
    repeats=st.lists(st.integers(1, 3), min_size=1, max_size=4),
    growth=st.integers(1, 12),
    bn_size=st.integers(1, 4),
    split=st.sampled_from([0.1, 0.25, 0.5, 0.75, 1.0]),
    tr=st.sampled_from([0.05, 0.5, 1.0, 1.5]),
    comp=st.sampled_from([0.05, 0.5, 1.0]),
    last=st.booleans(),
    pool=st.sampled_from(["max", "none"]),
    size=st.integers(16, 96),
)
def test_random_designs(fusion, stem, repeats, growth, bn_size, split, tr, comp, last, pool, size):
    try:
        cfg = CSPConfig(family="peleenet", fusion=fusion, stem_channels=stem, stem_kernel=3, stem_stride=2,
                        repeats=tuple(repeats), growth_rate=growth, bn_size=bn_size, split_ratio=split,
                        transition_ratio=tr, compression=comp, last_transition=last, stem_pool=pool,
                        input_size=size, head_norm=False, num_classes=7)
    except ConfigError as exc:
        assert exc.field in {"split_ratio", "transition_ratio", "compression", "input_size", "growth_rate",
                             "bn_size", "stem_channels"}
        return
    assert_plan_matches_model(cfg)
