"""CSP's modern lineage (cspnet/families/lineage.py): exact presets, plan = model, every fusion, scaling rules."""
from __future__ import annotations

import pytest
import torch

from cspnet import ConfigError, CSPConfig, build_model, count_params, get_preset, plan_network
from cspnet.config import LINEAGE
from cspnet.families import get_family
from cspnet.families._blocks import BLOCK_TYPES, LINEAGE_BLOCKS, se_channels
from cspnet.families._crossstage import make_divisible8
from cspnet.families.lineage import MMDET, TIMM, ULTRALYTICS
from explorer.counts.conventions import count
from lineage_reference import NC80_PARAMS, REFERENCE
from plan_check import assert_plan_matches_model

LINEAGE_PRESETS = [p for fam in LINEAGE for p in get_family(fam).presets]


def test_every_lineage_family_has_presets_with_reference_params():
    assert {p.config["family"] for p in LINEAGE_PRESETS} == set(LINEAGE)
    names = {p.name for p in LINEAGE_PRESETS}
    for want in ("cs3darknet_s", "cs3darknet_focus_x", "cs3sedarknet_l", "cs3edgenet_x", "cs3se_edgenet_x",
                 "yolov5n_cls", "yolov8x_cls", "yolo11m_cls", "cspnext_tiny", "yolov7_backbone",
                 "yolov4_csp_backbone"):
        assert want in names
    missing = [p.name for p in LINEAGE_PRESETS if p.reference_params is None]
    assert not missing, f"presets without a reference parameter count: {missing}"


@pytest.mark.parametrize("preset", LINEAGE_PRESETS, ids=lambda p: p.name)
def test_preset_params_equal_the_reference_and_the_plan(preset):
    cfg = get_preset(preset.name)
    model = build_model(cfg, device="meta")
    assert count_params(model) == preset.reference_params == plan_network(cfg).params


# one small design per block type and split/tap/post choice, in every fusion: plan = model (params, every
# tap's shape, FlopCounterMode MACs, attention matmuls included)
SMALL = {
    "cs3": dict(family="cs3darknet", widths=(64, 128), repeats=(1, 2), input_size=64, stem_type="two_3x3"),
    "cs3_se_edge": dict(family="cs3darknet", widths=(64, 128), repeats=(1, 2), block_type="edge", bottle_ratio=1.5,
                        se_ratio=0.25, input_size=64, stem_type="focus_6x6"),
    "c3": dict(family="yolov5", widths=(64, 128), repeats=(2, 1), split_convs="two", stem_type="focus_6x6",
               input_size=64),
    "c2f": dict(family="yolov8", widths=(64, 128), repeats=(2, 1), block_type="bottleneck_3x3", taps="all",
                input_size=64),
    "c3k2_psa": dict(family="yolo11", widths=(64, 128, 128), down_widths=(32, 64, 0), strides=(2, 2, 1),
                     repeats=(1, 1, 1), block_type=("bottleneck_3x3", "c3k", "psa"), taps=("all", "all", "last"),
                     bottle_ratio=0.5, input_size=64),
    "cspnext": dict(family="cspnext", widths=(64, 128), repeats=(1, 2), block_type="cspnext", split_convs="two",
                    post_concat="attention", residual=(True, False), input_size=64, stem_type="three_3x3"),
    "elan": dict(family="yolov7", widths=(64, 128), strides=(1, 2), repeats=(2, 2), expand_ratio=0.5,
                 block_type="conv_pair", taps="all", residual=False, split_convs="two", stem_type="yolov7",
                 input_size=64),
    "elan_tiny": dict(family="yolov7", widths=(64, 128), strides=(1, 2), repeats=(2, 2), expand_ratio=0.5,
                      block_type="conv", taps="all", residual=False, split_convs="two", stem_type="yolov7",
                      input_size=64),
    "c2f_slice": dict(family="yolov8", widths=(64, 128), repeats=(2, 1), block_type="bottleneck_3x3", taps="all",
                      split_convs="slice", input_size=64),
    "bottleneck_csp2": dict(family="yolov4csp", widths=(64, 128), repeats=(1, 2), split_convs="shared",
                            post_concat="bn_act", activation="mish", stem_type="yolov4", input_size=64),
    "bottleneck_csp": dict(family="yolov4csp", widths=(64, 128), repeats=(1, 2), split_convs="two_bare",
                           post_concat="bn_act", activation="mish", stem_type="yolov4", input_size=64),
}


@pytest.mark.parametrize("fusion", ["none", "fusion_first", "fusion_last", "csp"])
@pytest.mark.parametrize("name", list(SMALL))
def test_small_lineage_designs_plan_equals_model(name, fusion):
    assert_plan_matches_model(CSPConfig(**SMALL[name], fusion=fusion))


def test_every_lineage_block_type_is_exercised():
    used = set()
    for kw in SMALL.values():
        bt = kw.get("block_type", "dark")
        used.update([bt] if isinstance(bt, str) else bt)
    assert used == set(LINEAGE_BLOCKS)
    assert "bottleneck" not in LINEAGE_BLOCKS and BLOCK_TYPES["dark"].takes_se


@pytest.mark.parametrize("name", ["c3k2_psa", "cs3_se_edge", "cspnext", "bottleneck_csp"])
def test_fvcore_convention_equals_flop_count_analysis(name):
    fvcore = pytest.importorskip("fvcore")  # noqa: F841  (a test dependency: requirements-dev.txt)
    from explorer.real.trace import fvcore_count

    cfg = CSPConfig(**SMALL[name], fusion="fusion_first")
    model = build_model(cfg)
    x = torch.randn(1, 3, cfg.input_size, cfg.input_size)
    assert fvcore_count(model, x)["total"] == count(plan_network(cfg), "fvcore")


def test_attention_matmuls_are_counted():
    cfg = CSPConfig(**SMALL["c3k2_psa"], fusion="fusion_first")
    plan = plan_network(cfg)
    mm = [op for op in plan.ops if op.kind == "matmul"]
    assert len(mm) == 2
    c, h, w = plan.stage("stages.2").taps["part2"]
    heads = max(c // 64, 1)
    n = h * w
    assert sum(op.macs for op in mm) == heads * n * n * (c // heads // 2) + heads * n * n * (c // heads)


def test_fusion_strategies_apply_to_a_modern_preset():
    """'YOLOv8n-cls with fusion last' is a valid design, with its plain twin."""
    v8 = get_preset("yolov8n_cls")
    last = v8.replace(fusion="fusion_last")
    s = plan_network(last).stage("stages.0")
    assert "partial_transition" in s.taps and "transition" not in s.taps
    twin = plan_network(v8.twin()).stage("stages.0")
    assert "part1" not in twin.taps
    assert_plan_matches_model(last)
    assert_plan_matches_model(v8.twin())


def test_c2f_concatenates_every_tap_and_c3_only_the_last():
    c2f = plan_network(get_preset("yolov8n_cls")).stage("stages.0").taps
    c3 = plan_network(get_preset("yolov5n_cls")).stage("stages.0").taps
    # yolov8n stage 0: 32 channels, part 2 = 16, one bottleneck: one concat [part1, part2, block 1] (the block
    # tap: the last block's output)
    assert c2f["part2"][0] == 16 and c2f["block"][0] == 16 and c2f["concat"][0] == 16 * 3
    concat = next(op for op in plan_network(get_preset("yolov8n_cls")).stage("stages.0").ops
                  if op.path == "stages.0.concat")
    assert len(concat.reads) == 3
    assert c3["block"][0] == c3["part2"][0] and c3["concat"][0] == c3["part1"][0] + c3["part2"][0]


# --------------------------------------------------------------------------- scaling rules
class _Cfg:
    def __init__(self, w=1.0, d=1.0, cap=0):
        self.width_multiple, self.depth_multiple, self.max_channels = w, d, cap


def test_timm_make_divisible():
    assert [make_divisible8(v) for v in (16, 19.9, 20, 24, 36.6, 7)] == [16, 24, 24, 24, 40, 8]
    assert TIMM.channels(128, _Cfg(0.75)) == 96
    assert TIMM.depth(3, _Cfg(d=0.67)) == 2 and TIMM.depth(9, _Cfg(d=1.33)) == 11


def test_ultralytics_rounding_and_cap():
    assert ULTRALYTICS.channels(1024, _Cfg(0.25, cap=1024)) == 256
    assert ULTRALYTICS.channels(1024, _Cfg(1.5, cap=512)) == 768          # yolo11x: min(1024, 512) x 1.5
    assert ULTRALYTICS.channels(100, _Cfg(0.33)) == 40                      # ceil(33 / 8) x 8
    assert ULTRALYTICS.depth(3, _Cfg(d=0.33)) == 1 and ULTRALYTICS.depth(1, _Cfg(d=0.33)) == 1
    assert ULTRALYTICS.depth(9, _Cfg(d=0.67)) == 6


def test_mmdet_truncates():
    assert MMDET.channels(64, _Cfg(0.375)) == 24 and MMDET.channels(100, _Cfg(0.33)) == 33
    assert MMDET.depth(3, _Cfg(d=0.167)) == 1


def test_se_width_is_timms():
    assert se_channels(64, 0.25) == 16 and se_channels(64, 1 / 16) == 8 and se_channels(640, 1 / 16) == 40


# --------------------------------------------------------------------------- bad designs name their field
@pytest.mark.parametrize("changes, field", [
    (dict(depth_multiple=0.1), "depth_multiple"),
    (dict(width_multiple=0.001), "width_multiple"),
    (dict(se_ratio=0.25), "se_ratio"),
    (dict(widths=(64, 128, 400)), "widths"),    # attention: 200 channels do not split into 3 heads
])
def test_bad_lineage_designs_name_the_field(changes, field):
    base = dict(SMALL["c3k2_psa"], fusion="fusion_first")
    if field == "depth_multiple":
        base = dict(SMALL["cs3"], fusion="fusion_first")       # timm floors the repeats: 1 x 0.1 -> 0
    if field == "width_multiple":
        base = dict(SMALL["cspnext"], fusion="fusion_first")   # mmdet truncates the widths: 64 x 0.001 -> 0
    with pytest.raises(ConfigError) as err:
        CSPConfig(**{**base, **changes})
    assert err.value.field == field


def test_paper_families_do_not_read_lineage_fields():
    from cspnet.config import family_fields

    for fam in ("densenet", "resnet", "resnext", "darknet", "peleenet"):
        assert not {"width_multiple", "block_type", "taps", "stem_type"} & set(family_fields(fam))
    assert {"width_multiple", "depth_multiple", "block_type", "taps", "split_convs"} <= set(family_fields("yolov8"))
    assert "stem_channels" not in family_fields("yolov8")


# --------------------------------------------------------------------------- the references' own counts
@pytest.mark.parametrize("name", sorted(REFERENCE))
def test_counts_equal_the_reference_implementations(name):
    """params, FlopCounterMode / 2 and fvcore of the reference model, at 224 and 256, from the plan alone."""
    params, fv224, fv256, fc224, fc256 = REFERENCE[name]
    cfg = get_preset(name)
    assert plan_network(cfg).params == params
    for size, fv, fc in ((224, fv224, fc224), (256, fv256, fc256)):
        plan = plan_network(cfg, input_size=size)
        assert count(plan, "macs") == fc, (name, size)
        assert count(plan, "fvcore") == fv, (name, size)


def test_yolo11_published_params_are_80_class_builds():
    for name, params in NC80_PARAMS.items():
        assert plan_network(get_preset(name, num_classes=80)).params == params


def test_nearest_valid_width_for_attention_heads_is_next_to_the_typed_one():
    """Validity is not monotone in a width that must split into attention heads: the suggestion is the
    closest valid value either side of the typed one, not a bisection towards the current value."""
    from explorer.design.edits import nearest_valid
    from explorer.design.text import parse_value

    cfg = CSPConfig(**SMALL["c3k2_psa"], fusion="fusion_first")
    with pytest.raises(ConfigError):
        cfg.replace(widths=(64, 128, 400))
    got = parse_value("widths", nearest_valid(cfg, "widths", "64,128,400"))
    assert abs(got[2] - 400) <= 16 and got[:2] == (64, 128)
    cfg.replace(widths=got)   # valid
