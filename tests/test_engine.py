"""The analysis engine: counting conventions against fvcore and FlopCounterMode, summaries, twins."""
import json

import pytest
import torch

from cspnet import build_model, get_preset, plan_network, preset_names
from explorer.counts.analysis import compare_with_twin, stage_table, summarize
from explorer.counts.conventions import CONVENTIONS, cio, count
from explorer.real.trace import flop_counter_count, fvcore_count, live_trace, reconcile

# Published fvcore/timm GMACs (peers.md: reproduced exactly by fvcore): densenet121@224 2.87,
# resnet50@224 4.11, cspresnet50@256 4.54, cspdarknet53@256 6.57 (timm benchmark CSVs, infer_gmacs).
TIMM_GMACS = {"densenet121": 2.87, "resnet50": 4.11, "cspresnet50": 4.54, "cspdarknet53": 6.57}


def _fvcore_and_fcm(cfg):
    model = build_model(cfg)
    x = torch.zeros(1, 3, cfg.input_size, cfg.input_size)
    return fvcore_count(model, x), flop_counter_count(model, x)


@pytest.mark.parametrize("name", ["densenet121", "cspdensenet121", "cspdensenet121_fusion_first",
                                  "cspdensenet121_fusion_last", "resnet50", "cspresnext50", "cspdarknet53"])
def test_analytic_equals_fvcore_and_flop_counter(name):
    # the same arithmetic at 96 px as at the presets' 224 / 256 (every stage keeps a feature map of at least
    # 3x3), a fifth of the work; the counts at the presets' own sizes: TIMM_GMACS below
    cfg = get_preset(name).replace(input_size=96)
    plan = plan_network(cfg)
    fv, fcm = _fvcore_and_fcm(cfg)
    assert count(plan, "macs") == fcm["total"]
    assert count(plan, "fvcore") == fv["total"]
    # per stage too
    for sp in plan.stages:
        assert count(sp, "fvcore") == fv["by_part"][sp.name], sp.name
        assert count(sp, "macs") == fcm["by_part"][sp.name], sp.name


@pytest.mark.parametrize("name,gmacs", sorted(TIMM_GMACS.items()))
def test_fvcore_convention_reproduces_timm_published_gmacs(name, gmacs):
    cfg = get_preset(name)
    assert round(count(plan_network(cfg), "fvcore") / 1e9, 2) == gmacs


def test_all_presets_analytic_is_fast_and_consistent():
    for name in preset_names():
        s = summarize(get_preset(name))
        assert s["flops"] == 2 * s["macs"] == s["conventions"]["bflops"]["value"]
        assert "bflops" not in s  # one name per number: the paper's count is the bflops convention, in FLOP
        assert s["fvcore_macs"] >= s["macs"]
        assert sum(st["params"] for st in s["stages"]) == s["params"]
        assert sum(st["macs"] for st in s["stages"]) == s["macs"]
        assert s["cio"] > 0 and s["activations"] > 0


def test_conventions_are_labelled():
    for key, conv in CONVENTIONS.items():
        assert conv.label and conv.includes and conv.unit, key


def test_cio_counts_conv_inputs_and_outputs():
    cfg = get_preset("densenet121").replace(input_size=64)
    plan = plan_network(cfg)
    stem_conv = plan.stages[0].ops[0]
    assert stem_conv.kind == "conv"
    assert cio(plan.stages[0]) == 3 * 64 * 64 + 64 * 32 * 32


def test_twin_deltas():
    cmp = compare_with_twin(get_preset("cspdensenet121"))
    assert cmp["twin_config"]["fusion"] == "none"
    d = cmp["deltas"]["params"]
    assert d["twin"] == 7_978_856
    assert d["delta"] == d["design"] - d["twin"]
    assert d["delta_pct"] == pytest.approx(100 * d["delta"] / d["twin"])
    plain = compare_with_twin(get_preset("densenet121"))
    assert all(v["delta"] == 0 for v in plain["deltas"].values())


def test_memory_bf16_is_half_of_fp32_and_scales_with_batch():
    s1 = summarize(get_preset("densenet121"), batch=1)
    s8 = summarize(get_preset("densenet121"), batch=8)
    m1, m8 = s1["memory"], s8["memory"]
    assert m1["activation_bytes"]["bf16"] * 2 == m1["activation_bytes"]["fp32"]
    assert m8["activation_bytes"]["fp32"] == 8 * m1["activation_bytes"]["fp32"]
    assert m1["param_bytes"]["fp32"] == 4 * s1["params"]


def test_stage_table_has_every_tap_and_is_json_safe():
    rows = stage_table(summarize(get_preset("cspdensenet121")), "fvcore")
    assert rows[1]["part 1 (bypass)"] == "32x56x56"
    assert rows[1]["part 2 (through the block)"] == "32x56x56"
    json.dumps(rows)


def test_live_trace_agrees_with_plan():
    cfg = get_preset("cspdensenet121_fusion_last").replace(input_size=96)
    t = live_trace(cfg)
    plan = plan_network(cfg)
    assert t["params"] == plan.params
    assert t["fvcore"]["total"] == count(plan, "fvcore")
    for sp in plan.stages:
        if sp.kind == "stage":
            assert {k: tuple(v) for k, v in t["shapes"][sp.name].items()} == dict(sp.taps)


def test_reconcile_explains_the_whole_difference():
    r = reconcile(get_preset("densenet121").replace(input_size=64))
    assert all(r["agree"].values())
    assert r["difference"] == r["explained"]
    assert "aten::max_pool2d" in r["not_counted_by_either"]


@pytest.mark.parametrize("name,stage", [("cspdensenet121", "stages.1"), ("cspresnet50", "stages.2"),
                                        ("darknet53", "stages.0"), ("peleenet", "stages.3")])
def test_block_rows_add_up_to_the_stage(name, stage):
    from explorer.counts.analysis import block_rows

    cfg = get_preset(name)
    rows = block_rows(cfg, stage)
    st = next(s for s in summarize(cfg)["stages"] if s["name"] == stage)
    for key in ("params", "macs", "fvcore_macs", "cio", "activations"):
        assert sum(r[key] for r in rows) == st[key], key
    assert len([r for r in rows if r["unit"].startswith("block.")]) >= cfg.repeats[int(stage[-1])]


def test_block_rows_unknown_stage_is_a_config_error():
    from cspnet import ConfigError
    from explorer.counts.analysis import block_rows

    with pytest.raises(ConfigError, match="allowed: stem"):
        block_rows(get_preset("densenet121"), "stages.7")


def test_live_trace_shapes_on_meta_allocate_nothing_for_large_designs():
    cfg = get_preset("densenet201", input_size=640)
    t = live_trace(cfg, with_fvcore=False)
    assert t["fvcore"] is None and t["params"] == 20_013_928
    assert t["shapes"]["stages.3"]["output"] == [1920, 20, 20]
