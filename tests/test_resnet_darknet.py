"""The ResNet, ResNeXt and Darknet families: exact reference counts, plan == model, errors.

Reference numbers below were measured once with the reference implementations (never imported
here): torchvision 0.29.1 and timm 1.0.31 on torch CPU,

    params = sum(p.numel() for p in model.parameters())
    with torch.utils.flop_counter.FlopCounterMode(display=False) as fc:
        model.eval()(torch.randn(1, 3, S, S))
    macs = fc.get_total_flops() // 2          # conv + linear multiply-adds, bias not counted

at the preset's input size S (224 torchvision, 256 timm's default config).  fvcore 0.1.5's
``FlopCountAnalysis(...).by_operator()`` gives the same conv + linear numbers.
"""
from __future__ import annotations

import math

import pytest
import torch
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st
from torch import nn

from cspnet import ConfigError, CSPConfig, build_model, count_params, get_preset, plan_network
from cspnet.config import family_fields
from cspnet.families import get_family
from cspnet.plan import TAP_ORDER
from oracle import build_oracle
from oracle._blocks import Bottleneck, DarkBlock
from oracle._common import Concat

try:  # tests/ as a package (tests/__init__.py) or as a plain directory on sys.path
    from tests.plan_check import assert_plan_matches_model, hooked_tap_shapes
except ImportError:  # pragma: no cover
    from plan_check import assert_plan_matches_model, hooked_tap_shapes

FUSIONS = ("none", "csp", "fusion_first", "fusion_last")

# name -> (family, input size, params, conv+linear MACs), measured as in the module docstring.
REFERENCE = {
    "resnet50": ("resnet", 224, 25_557_032, 4_089_184_256),           # torchvision resnet50()
    "cspresnet50": ("resnet", 256, 21_616_168, 4_517_240_832),        # timm create_model("cspresnet50")
    "resnext50_32x4d": ("resnext", 224, 25_028_904, 4_230_479_872),   # torchvision resnext50_32x4d()
    "cspresnext50": ("resnext", 256, 20_569_896, 4_014_948_352),      # timm create_model("cspresnext50")
    "darknet53": ("darknet", 256, 41_609_928, 9_285_115_904),         # timm create_model("darknet53")
    "cspdarknet53": ("darknet", 256, 27_642_184, 6_533_652_480),      # timm create_model("cspdarknet53")
}

# timm's CrossStage3 (our fusion_first) on the same configs: CspNet(replace(model_cfgs[name],
# stages=replace(cfg.stages, stage_type="cs3"))) at 256x256, measured as above (timm's CrossStage3
# needs conv_down=nn.Identity() on stride-1 stages to run its forward).
REFERENCE_CS3 = {
    "cspresnet50": (20_219_688, 4_248_805_376),
    "cspresnext50": (19_173_416, 3_746_512_896),
    "cspdarknet53": (27_287_880, 6_399_434_752),
}

# Per-stage parameters [stem, stages..., head] of the reference models (same measurement; stem of
# torchvision = conv1 + bn1, head = fc).
REFERENCE_STAGE_PARAMS = {
    "resnet50": [9536, 215808, 1219584, 7098368, 14964736, 2049000],
    "resnext50_32x4d": [9536, 205824, 1197056, 7022592, 14544896, 2049000],
    "darknet53": [928, 39232, 238592, 2923008, 11678720, 25704448, 1025000],
    "cspresnet50": [9536, 227840, 1053952, 5913088, 13386752, 1025000],
    "cspresnext50": [9536, 214016, 933376, 4920320, 12443648, 2049000],
    "cspdarknet53": [928, 60224, 193920, 1758976, 7024128, 17579008, 1025000],
}

# A small design per family for real CPU forwards (all fusions).
TINY = {
    "resnet": dict(family="resnet", stem_channels=8, stem_kernel=3, stem_stride=1, stem_pool="max",
                   repeats=(1, 2), widths=(16, 32), strides=(1, 2), bottle_ratio=0.5, expand_ratio=1.0,
                   input_size=32, num_classes=10),
    "resnext": dict(family="resnext", stem_channels=8, stem_kernel=3, stem_stride=1, stem_pool="none",
                    repeats=(1, 2), widths=(16, 32), strides=(2, 2), groups=4, width_per_group=2,
                    expand_ratio=1.0, input_size=32, num_classes=10),
    "darknet": dict(family="darknet", stem_channels=8, stem_kernel=3, stem_stride=1, stem_pool="none",
                    repeats=(1, 2), widths=(16, 32), strides=(2, 2), bottle_ratio=0.5,
                    expand_ratio=(2.0, 1.0), activation="leaky_relu", input_size=32, num_classes=10),
}


def preset_cfg(name, **changes):
    return get_preset(name, **changes)


# --------------------------------------------------------------------------- exact reference counts
@pytest.mark.parametrize("name", list(REFERENCE))
def test_preset_params_and_macs_match_reference(name):
    family, size, params, macs = REFERENCE[name]
    cfg = preset_cfg(name)
    preset = next(p for p in get_family(family).presets if p.name == name)
    assert cfg.family == family and cfg.input_size == size
    assert preset.reference_params == params
    plan = plan_network(cfg)
    assert count_params(build_model(cfg, device="meta")) == params
    assert plan.params == params
    assert plan.macs == macs
    assert [s.params for s in plan.stages] == REFERENCE_STAGE_PARAMS[name]


@pytest.mark.parametrize("name", list(REFERENCE_CS3))
def test_fusion_first_matches_timm_crossstage3(name):
    params, macs = REFERENCE_CS3[name]
    plan = plan_network(preset_cfg(name, fusion="fusion_first"))
    assert (plan.params, plan.macs) == (params, macs)


@pytest.mark.parametrize("name", list(REFERENCE))
def test_preset_plan_matches_model(name):
    assert_plan_matches_model(preset_cfg(name))


@pytest.mark.parametrize("fusion", FUSIONS)
@pytest.mark.parametrize("name", ["cspresnet50", "cspresnext50", "cspdarknet53", "resnet50", "darknet53"])
def test_every_fusion_plan_matches_model(name, fusion):
    assert_plan_matches_model(preset_cfg(name, fusion=fusion, input_size=128))


def test_reference_module_layout():
    """torchvision's v1.5 stride on the 3x3 conv and its projection shortcut; timm's down convs: in the
    hand-written twin (tests/oracle) and, where a layer has weights, in the model generated from the plan."""
    from cspnet.model import CSPNetModel

    for built in (build_model, lambda cfg, device: build_oracle(cfg)):
        _layout(built)
    gen = build_model(preset_cfg("cspresnext50"), device="meta")
    assert isinstance(gen, CSPNetModel) and gen.get_submodule("stages.1.block.0.conv2.conv").groups == 32
    assert "stages.1.expand.act" not in {op.path for op in plan_network(preset_cfg("cspresnext50")).ops}
    assert "stages.0.expand.act" in {op.path for op in plan_network(preset_cfg("cspdarknet53")).ops}


def _layout(build_model):
    r50 = build_model(preset_cfg("resnet50"), device="meta")
    first = r50.get_submodule("stages.1.block.0")
    assert isinstance(first, Bottleneck) or build_model.__name__ == "build_model"
    assert first.conv2.conv.stride == (2, 2) and first.conv1.conv.stride == (1, 1)
    assert first.downsample.conv.stride == (2, 2) and first.downsample.conv.kernel_size == (1, 1)
    assert r50.get_submodule("stages.0.block.0").downsample is not None      # 64 -> 256
    assert getattr(r50.get_submodule("stages.0.block.1"), "downsample", None) is None
    assert [n for n, _ in r50.stages[0].named_children()] == ["block"]

    x50 = build_model(preset_cfg("cspresnext50"), device="meta")
    down = x50.get_submodule("stages.1.down.conv")
    assert (down.in_channels, down.out_channels, down.groups, down.stride) == (256, 256, 32, (2, 2))
    assert not hasattr(x50.stages[0], "down") or x50.stages[0].down is None   # stride 1: no down conv
    assert x50.get_submodule("stages.1.block.0.conv2.conv").groups == 32

    d53 = build_model(preset_cfg("cspdarknet53"), device="meta")
    down = d53.get_submodule("stages.0.down.conv")
    assert (down.in_channels, down.out_channels) == (32, 64)                  # down_growth
    assert isinstance(d53.get_submodule("stages.0.block.0"), DarkBlock) or build_model.__name__ == "build_model"
    assert [n for n, _ in build_model(preset_cfg("darknet53"), device="meta").stages[0].named_children()] \
        == ["down", "block"]


# --------------------------------------------------------------------------- plan structure
_KINDS = {"conv": nn.Conv2d, "bn": nn.BatchNorm2d, "linear": nn.Linear, "maxpool": nn.MaxPool2d,
          "gap": nn.AdaptiveAvgPool2d, "cat": Concat, "add": (Bottleneck, DarkBlock)}


@pytest.mark.parametrize("fusion", FUSIONS)
@pytest.mark.parametrize("family", list(TINY))
def test_plan_paths_are_real_modules(family, fusion):
    cfg = CSPConfig(**TINY[family], fusion=fusion)
    plan = plan_network(cfg)
    model = build_oracle(cfg)    # the hand-written twin's module names are the plan's paths
    for op in plan.ops:
        mod = model.get_submodule(op.path)
        if op.kind == "act":
            assert isinstance(mod, (nn.ReLU, nn.LeakyReLU, nn.SiLU, nn.Mish)), op.path
        else:
            assert isinstance(mod, _KINDS[op.kind]), (op.path, type(mod))
        if op.kind == "conv":
            assert (mod.out_channels, mod.in_channels, mod.groups, mod.stride[0]) == \
                (op.out_shape[0], op.in_shape[0], op.groups, op.stride)
    assert [s.name for s in plan.stages] == ["stem"] + [f"stages.{i}" for i in range(cfg.num_stages)] + ["head"]
    for sp in plan.stages[1:-1]:
        taps = list(sp.taps)
        assert taps[0] == "input" and taps[-1] == "output"
        assert taps == sorted(taps, key=TAP_ORDER.index)
        stage = model.get_submodule(sp.name)
        for tap in taps[1:-1]:
            assert stage.get_submodule("split" if tap.startswith("part") else tap) is not None
        expected = {"none": {"block"},
                    "csp": {"expand", "part1", "part2", "block", "partial_transition", "concat", "transition"},
                    "fusion_first": {"expand", "part1", "part2", "block", "concat", "transition"},
                    "fusion_last": {"expand", "part1", "part2", "block", "partial_transition", "concat"}}
        assert set(taps[1:-1]) - {"down"} == expected[fusion]


@pytest.mark.parametrize("family", list(TINY))
def test_fusion_last_stage_width_is_part1_plus_partial_transition(family):
    # groups=2: stage 0 outputs 4 + 6 = 10 channels, which 4 groups could not split (resnext)
    cfg = CSPConfig(**dict(TINY[family], groups=2), fusion="fusion_last", transition_ratio=0.5, split_ratio=0.75)
    plan = plan_network(cfg)
    for i, sp in enumerate(plan.stages[1:-1]):
        c = int(round(cfg.widths[i] * cfg.expand_ratio[i]))
        part2 = math.floor(c * 0.75)
        assert sp.taps["part1"][0] == c - part2 and sp.taps["part2"][0] == part2
        assert sp.taps["partial_transition"][0] == part2 // 2
        assert sp.output_shape[0] == c - part2 + part2 // 2 != cfg.widths[i]
    assert plan.stages[-1].taps["input"][0] == plan.stages[-2].output_shape[0]
    assert_plan_matches_model(cfg)


def test_split_and_transition_ratios():
    cfg = preset_cfg("cspdarknet53", split_ratio=0.25, transition_ratio=2.0)
    sp = plan_network(cfg).stage("stages.2")           # width 256, C = 256
    assert (sp.taps["part1"][0], sp.taps["part2"][0]) == (192, 64)
    assert sp.taps["partial_transition"][0] == 128 and sp.taps["concat"][0] == 320
    assert sp.output_shape[0] == 256
    assert_plan_matches_model(cfg)


# --------------------------------------------------------------------------- real forwards
@pytest.mark.parametrize("fusion", FUSIONS)
@pytest.mark.parametrize("family", list(TINY))
def test_small_cpu_forward(family, fusion):
    torch.manual_seed(0)
    cfg = CSPConfig(**TINY[family], fusion=fusion)
    plan = plan_network(cfg)
    model = build_model(cfg)
    x = torch.randn(2, 3, cfg.input_size, cfg.input_size)
    with torch.no_grad():
        seen, out = hooked_tap_shapes(model, plan, x)
    assert out.shape == (2, cfg.num_classes) and torch.isfinite(out).all()
    for sp in plan.stages[1:-1]:
        for tap, shape in sp.taps.items():
            if tap not in ("input", "output"):
                assert seen[sp.name][tap] == shape
    assert count_params(model) == plan.params
    model.train()
    model(x).sum().backward()                            # trainable end to end
    assert all(p.grad is not None for p in model.parameters())


# --------------------------------------------------------------------------- family metadata
@pytest.mark.parametrize("family", ["resnet", "resnext", "darknet"])
def test_family_defaults_fields_and_presets(family):
    fam = get_family(family)
    known = set(CSPConfig.__dataclass_fields__)
    assert set(family_fields(family)) <= known and set(fam.defaults) <= set(family_fields(family))
    for fusion in FUSIONS:
        cfg = CSPConfig(family=family, **dict(fam.defaults, fusion=fusion))
        assert plan_network(cfg).params > 0
    for p in fam.presets:
        assert p.config["family"] == family and p.reference_params and p.source and p.reference
        assert get_preset(p.name).family == family


# --------------------------------------------------------------------------- errors
def _error(**kwargs):
    with pytest.raises(ConfigError) as info:
        CSPConfig(**kwargs)
    return info.value


@pytest.mark.parametrize("family", ["resnet", "resnext", "darknet"])
def test_widths_are_required(family):
    err = _error(family=family, repeats=(1, 1))
    assert err.field == "widths" and "stage 0 has 0" in str(err)
    err = _error(**dict(TINY[family], widths=(16, 0)))
    assert err.field == "widths" and "stage 1" in str(err)


def test_groups_must_divide_grouped_down_conv():
    # stage 1 of cspresnext50 starts from 256 channels: 24 groups cannot split them
    err = _error(**dict(get_family("resnext").presets[1].config, groups=(32, 24, 32, 32)))
    assert err.field == "groups"
    assert "256" in err.detail and "16 or 32" in err.detail and "24" in err.detail
    # a fusion_last stage feeds 200 channels into the next down conv
    base = dict(TINY["resnext"], widths=(16, 40), repeats=(1, 1), strides=(1, 2), groups=(4, 3),
                width_per_group=2, fusion="fusion_last", split_ratio=0.5, transition_ratio=0.75)
    err = _error(**base)                                 # stage 0 outputs 8 + 6 = 14 channels
    assert err.field == "groups" and "14" in err.detail and "nearest valid: 2" in err.detail


@pytest.mark.parametrize("family", ["resnet", "darknet"])
def test_bottleneck_width_must_be_positive(family):
    err = _error(**dict(TINY[family], bottle_ratio=0.01))
    assert err.field == "bottle_ratio" and "0.01" in err.detail
    err = _error(**dict(TINY[family], bottle_ratio=0.01, fusion="csp"))
    assert err.field == "bottle_ratio"


@pytest.mark.parametrize("family", list(TINY))
@pytest.mark.parametrize("changes, field", [
    (dict(expand_ratio=0.05), "expand_ratio"),
    (dict(split_ratio=0.01), "split_ratio"),
    (dict(split_ratio=1.0), "split_ratio"),
    (dict(transition_ratio=0.01), "transition_ratio"),
])
def test_csp_channel_arithmetic_errors(family, changes, field):
    fusion = "fusion_last" if field == "transition_ratio" else "csp"
    err = _error(**dict(TINY[family], fusion=fusion, **changes))
    assert err.field == field
    assert "stage 0" in err.detail and "allowed" in err.detail
    # the same values are harmless without CSP (the field is not read)
    if field != "expand_ratio":
        CSPConfig(**dict(TINY[family], fusion="none", **changes))


def test_transition_ratio_unused_by_fusion_first():
    CSPConfig(**dict(TINY["darknet"], fusion="fusion_first", transition_ratio=0.01))


# --------------------------------------------------------------------------- random designs
@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    family=st.sampled_from(["resnet", "resnext", "darknet"]),
    fusion=st.sampled_from(FUSIONS),
    n=st.integers(1, 3),
    data=st.data(),
)
def test_random_designs_plan_matches_model(family, fusion, n, data):
    widths = tuple(data.draw(st.integers(4, 48)) for _ in range(n))
    kwargs = dict(
        family=family, fusion=fusion, repeats=tuple(data.draw(st.integers(1, 2)) for _ in range(n)),
        widths=widths, strides=tuple(data.draw(st.sampled_from([1, 2])) for _ in range(n)),
        stem_channels=data.draw(st.integers(1, 16)), stem_kernel=data.draw(st.sampled_from([1, 3, 4, 7])),
        stem_stride=data.draw(st.integers(1, 2)), stem_pool=data.draw(st.sampled_from(["max", "none"])),
        bottle_ratio=data.draw(st.sampled_from([0.25, 0.5, 1.0, 1.5])),
        expand_ratio=data.draw(st.sampled_from([0.5, 1.0, 2.0])),
        split_ratio=data.draw(st.sampled_from([0.25, 0.5, 0.75])),
        transition_ratio=data.draw(st.sampled_from([0.5, 1.0, 2.0])),
        groups=data.draw(st.sampled_from([1, 2, 4])), width_per_group=data.draw(st.integers(1, 4)),
        input_size=data.draw(st.integers(16, 48)), num_classes=7,
    )
    try:
        cfg = CSPConfig(**kwargs)
    except ConfigError as err:                           # refused designs name a real field
        assert err.field in CSPConfig.__dataclass_fields__ or err.field == "design"
        event(f"refused: {err.field}")
        return
    event("built")
    assert_plan_matches_model(cfg)


@pytest.mark.parametrize("name", ["cspresnet50", "cspresnext50", "cspdarknet53"])
@pytest.mark.parametrize("ratio", [1e-300, 1e-3])
def test_an_expand_ratio_that_rounds_to_no_channels_names_the_field(name, ratio):
    # found by benchmarks/fuzz_decoders.py: C rounded to 0 skipped the split check (ZeroDivisionError)
    with pytest.raises(ConfigError) as e:
        get_preset(name).replace(expand_ratio=ratio)
    assert e.value.field == "expand_ratio" and "allowed expand_ratio >=" in str(e.value)
