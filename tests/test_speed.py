"""The published speed data set (timm benchmark rows) and the MAC-ratio vs throughput-ratio pairs."""
from __future__ import annotations

from pathlib import Path

import pytest

from cspnet import get_preset, plan_network
from cspnet.presets import paper_base
from explorer.counts.conventions import count
from explorer.paper.published import load_published
from explorer.paper.speed import COLUMNS, devices, load_speed, speed_pairs, throughput_points

TIMM = "https://github.com/huggingface/pytorch-image-models/blob/"


def test_every_row_has_all_columns_and_a_source_url():
    df = load_speed()
    assert tuple(df.columns) == COLUMNS and len(df) == 54
    for col in COLUMNS:
        assert (df[col].astype(str).str.strip() != "").all(), col
    for _, r in df.iterrows():
        assert r["source_url"] == f"{TIMM}{r['source_commit']}/{r['source_file']}"
        assert len(r["source_commit"]) == 40 and r["source_file"].startswith("results/benchmark-infer-")
        get_preset(r["preset"])  # every row names a preset that exists
        # timm's infer_step_time is ms per batch: batch / (img/s) in ms, to the file's rounding
        assert r["step_time_ms"] == pytest.approx(1000 * r["batch"] / r["samples_per_sec"], rel=0.01)
    assert devices() == ["RTX 4090", "RTX 5090", "CPU i9-10940X"]
    assert set(df.loc[df["device"] == "CPU i9-10940X", "batch"]) == {1}
    assert set(df.loc[df["device"] != "CPU i9-10940X", "batch"]) == {1024}


@pytest.mark.parametrize("device", ["RTX 4090", "RTX 5090", "CPU i9-10940X"])
def test_pairs_mac_ratios_come_from_the_engine(device):
    pairs = speed_pairs(device)
    assert set(pairs["csp"]) == {"cspresnet50", "cspresnext50", "cspdarknet53"}
    for _, p in pairs.iterrows():
        assert paper_base(p["csp"]) == p["base"]
        csp = count(plan_network(get_preset(p["csp"], input_size=p["csp_res"])), "macs")
        base = count(plan_network(get_preset(p["base"], input_size=p["base_res"])), "macs")
        assert p["mac_ratio"] == pytest.approx(csp / base)
        assert p["throughput_ratio"] == pytest.approx(p["csp_img_s"] / p["base_img_s"])
    dark = pairs.set_index("csp").loc["cspdarknet53"]
    assert dark["same_res"] and dark["csp_res"] == 256


def test_cspdarknet53_has_fewer_macs_but_lower_throughput_than_darknet53_on_the_4090():
    df = load_speed()
    row = df[(df["device"] == "RTX 4090") & (df["img_size"] == 256)].set_index("model")
    assert row.loc["cspdarknet53", "samples_per_sec"] == 2741.47  # as printed in timm's file
    assert row.loc["darknet53", "samples_per_sec"] == 3003.97
    dark = speed_pairs("RTX 4090").set_index("csp").loc["cspdarknet53"]
    assert dark["mac_ratio"] == pytest.approx(0.704, abs=0.001)  # ~29.6 % fewer MACs
    assert dark["throughput_ratio"] < 1  # ...yet fewer images per second


def test_throughput_points_match_published_rows_through_the_preset():
    pts = throughput_points(load_published(), "RTX 4090")
    assert len(pts) and pts["preset"].notna().all() and pts["top1"].notna().all()
    speed = load_speed()
    assert set(pts["preset"]) <= set(speed["preset"])
    same = pts[pts["res"].notna() & (pts["res"] == pts["speed_res"])]
    assert len(same) > len(pts) / 2


def test_measured_points_place_presets_at_their_published_accuracy_and_keep_the_rest():
    from cspnet import get_preset
    from explorer.paper.speed import measured_points
    from explorer.real.latency import BenchRequest, compare_latency

    rec = compare_latency(get_preset("cspdensenet121", input_size=64), BenchRequest(batch_sizes=(1,), runs=3, warmup=1))
    pts = measured_points([rec["design"], rec["twin"]])
    assert list(pts["name"]) == ["cspdensenet121", "cspdensenet121 (plain twin)"]
    assert (pts["median_ms"] > 0).all() and (pts["batch"] == 1).all()
    # the CSP design has no published accuracy; its twin is densenet121, which has one
    assert pts["top1"].isna().tolist() == [True, False]
    assert "accuracy unknown" in pts["top1_source"].iloc[0] and "densenet121" in pts["top1_source"].iloc[1].lower()


def test_tradeoff_measured_axis_appears_after_a_measurement():
    from streamlit.testing.v1 import AppTest

    from app_ui import state
    from cspnet import get_preset
    from explorer.real.latency import BenchRequest, compare_latency

    at = AppTest.from_file(str(Path(__file__).resolve().parents[1] / "app.py"), default_timeout=120).run()
    at.switch_page("pages/Tradeoff.py").run()
    assert all("measured here" not in o for o in at.radio(key="to_axis").options)
    rec = compare_latency(get_preset("densenet121", input_size=64), BenchRequest(batch_sizes=(1,), runs=3, warmup=1))
    at.session_state[state.K_MEASURED] = [rec["design"]]
    at.run()
    axis = at.radio(key="to_axis")
    measured = [o for o in axis.options if "measured here" in o]
    assert measured, axis.options
    axis.set_value(measured[0]).run()
    assert not at.exception, [e.value for e in at.exception]
    spec = at.get("plotly_chart")[0].proto.spec
    assert "latency measured here" in spec and "densenet121" in spec
    assert any("measured in this session" in c.value for c in at.caption)
