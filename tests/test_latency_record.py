"""The Latency page's engine logic: what a record was measured against and how the figures and the
table say it (explorer.real.latency), the roofline's tables and verdict (explorer.real.roofline), and
app_ui.figures.relabel, which only applies the engine's wording to the Plotly figures."""
from __future__ import annotations

import json

import pytest

from app_ui.figures import latency_curve, relabel, savings_figure, stage_bars
from cspnet import CSPConfig, get_preset
from explorer.real import latency as L
from explorer.real import roofline as R

TINY = CSPConfig(family="densenet", name="tiny", repeats=(2,), growth_rate=8, stem_channels=16, input_size=32,
                 fusion="csp", num_classes=10)
TINY_REF = CSPConfig(family="densenet", name="tiny_ref", repeats=(3,), growth_rate=8, stem_channels=16,
                     input_size=32, num_classes=10)
REQ = L.BenchRequest(batch_sizes=(1, 2), warmup=0, runs=1)


@pytest.fixture(scope="module")
def records():
    """Two real records of the tiny design: against its plain twin, and against another design."""
    twin = L.compare_latency(TINY, REQ, rounds=1)
    other = L.compare_latency(TINY, REQ, rounds=1, reference=TINY_REF, reference_label="paper base tiny_ref")
    return twin, other


def _texts(fig) -> str:
    """Every text a reader sees in a figure: trace names, hovers, legend groups, titles."""
    spec = json.loads(fig.to_json())
    bits = [spec["layout"].get("title", {}).get("text", ""), spec["layout"].get("yaxis", {}).get("title", {})
            .get("text", "")]
    for t in spec["data"]:
        bits += [t.get("name", ""), t.get("hovertemplate", ""), t.get("legendgroup", "")]
        bits += list(t.get("hovertext") or [])
    return " | ".join(b for b in bits if b)


def test_reference_label_column_and_text(records):
    twin, other = records
    assert twin["reference"]["kind"] == "twin" and other["reference"]["kind"] == "other"
    assert L.reference_label(twin) == L.TWIN_LABEL == "plain twin"
    assert L.reference_label(other) == "paper base tiny_ref"
    assert L.reference_label({}) == "plain twin"  # records from before references had no "reference"
    assert L.reference_column(twin) == "twin median ms" and L.reference_column(other) == "tiny_ref median ms"
    # against the twin, every text stays as the figures wrote it
    for text in ("plain twin: tiny_twin", "% vs plain twin", "", None):
        assert L.reference_text(text, twin) == text
        assert L.reference_text(text, twin, trace_name=True) == text
    # against another design, its label replaces "plain twin"; a trace name's "plain twin: <name>" is the label alone
    assert L.reference_text("% vs plain twin (negative)", other) == "% vs paper base tiny_ref (negative)"
    assert L.reference_text("plain twin: tiny_ref", other, trace_name=True) == "paper base tiny_ref"
    assert L.reference_text("plain twin: tiny_ref", other) == "paper base tiny_ref: tiny_ref"
    assert L.reference_text("plain twin p10-p90", other, trace_name=True) == "paper base tiny_ref p10-p90"
    assert L.reference_text(None, other) is None and L.reference_text("", other) == ""


def test_relabel_applies_the_engine_wording_to_every_latency_figure(records):
    twin, other = records
    for make in (lambda r: latency_curve(r), lambda r: latency_curve(r, per_image=True),
                 lambda r: stage_bars(r, 2), savings_figure):
        before = make(twin).to_json()
        assert relabel(make(twin), twin).to_json() == before  # against the twin: untouched
        assert "plain twin" in _texts(make(other))            # the figures say "plain twin" ...
        text = _texts(relabel(make(other), other))
        assert "plain twin" not in text and "paper base tiny_ref" in text, text  # ... the record's label instead
    names = [t.name for t in relabel(latency_curve(other), other).data]
    assert "paper base tiny_ref" in names and "paper base tiny_ref p10-p90" in names
    fig = relabel(savings_figure(other), other)
    assert fig.layout.title.text == "MACs change and time change against the paper base tiny_ref"
    assert fig.layout.yaxis.title.text == "% vs paper base tiny_ref (negative = saving)"


def test_results_rows(records):
    for rec in records:
        rows = L.results_rows(rec)
        assert [r["batch"] for r in rows] == [1, 2]
        col = L.reference_column(rec)
        for row, d, t, c in zip(rows, rec["design"]["results"], rec["twin"]["results"], rec["comparison"]):
            assert list(row) == ["batch", "design median ms", "design p10", "design p90", col, "time change %",
                                 "MACs change %", "design images/s"]
            assert (row["design median ms"], row["design p10"], row["design p90"]) == (d["median_ms"], d["p10_ms"],
                                                                                     d["p90_ms"])
            assert row[col] == t["median_ms"] and row["time change %"] == c["time_delta_pct"]
            assert row["MACs change %"] == c["macs_delta_pct"] and row["design images/s"] == d["throughput_img_s"]


def test_request_macs():
    req = L.BenchRequest(batch_sizes=(1, 8), warmup=3, runs=10)
    # (1 + 8) images x (3 warm-up + 10 timed + 10 per-stage runs) x both models
    assert L.request_macs(req, 100, 50) == 9 * 23 * 150
    assert L.request_macs(req, 100) == 9 * 23 * 100
    # the per-stage pass has at least 3 runs and at most 10
    assert L.request_macs(L.BenchRequest(batch_sizes=(2,), warmup=0, runs=1), 7) == 2 * (1 + 3) * 7
    assert L.request_macs(L.BenchRequest(batch_sizes=(2,), warmup=0, runs=50), 7) == 2 * (50 + 10) * 7


def test_memory_problem(monkeypatch):
    cfg = get_preset("cspresnet50")
    assert L.memory_problem(TINY, L.BenchRequest()) is None
    monkeypatch.setattr(L, "BENCH_BUDGET", 2 ** 30)  # 1 GiB
    two = L.memory_problem(cfg, L.BenchRequest(batch_sizes=(1024,)))
    one = L.memory_problem(cfg, L.BenchRequest(batch_sizes=(1024,)), ref=cfg)
    assert two.startswith("batch: 1024 needs about") and two.endswith(". Measure would refuse it.")
    assert "the design and the model it is compared with" in two and "one model" in one
    assert L.memory_problem(cfg, L.BenchRequest(device="cuda", batch_sizes=(1024,))) is None  # GPUs: caught later


def test_roofline_tables_and_verdict():
    d, t = R.roofline(TINY, "h100", "bf16", 8), R.roofline(TINY.twin(), "h100", "bf16", 8)
    rows = R.roofline_rows([("design: tiny", d), ("plain twin", t)])
    assert len(rows) == len(d["stages"]) + 1 + len(t["stages"]) + 1
    total = [r for r in rows if r["stage"] == "total"]
    assert [r["model"] for r in total] == ["design: tiny", "plain twin"]
    assert total[0]["GFLOP"] == d["total"]["flops"] / 1e9 and total[0]["lower bound ms"] == d["total"]["bound_ms"]
    assert total[0]["bound"] == f"{d['total']['memory_bound_share']:.0%} memory-bound"
    first = rows[0]
    s = d["stages"][0]
    assert (first["stage"], first["MB moved"], first["FLOP/byte"], first["estimated ms"]) == (
        s["name"], s["bytes"] / 1e6, s["intensity"], s["estimated_ms"])
    comps = R.component_rows(d)
    assert len(comps) == sum(len(s["components"]) for s in d["stages"])
    assert sum(c["GFLOP"] for c in comps) == pytest.approx(d["total"]["flops"] / 1e9)
    text = R.roofline_verdict([("design: tiny", d), ("plain twin", t)])
    pct = 100.0 * (d["total"]["flops"] - t["total"]["flops"]) / t["total"]["flops"]
    assert text.startswith(f"Against the plain twin: FLOPs {pct:+.0f} %, bytes moved ")
    assert "(an estimate, not a measurement)" in text  # the H100 has a calibration
    cpu_like = {"total": {**d["total"], "estimated_ms": None}}
    assert "estimate" not in R.roofline_verdict([("design", cpu_like), ("plain twin", t)])
    cal = R.calibration_rows()
    assert len(cal) == len(R.calibrations()) and all(r["max error %"] >= 0 for r in cal)


def test_record_setting_stage_ms_and_above_roof(records):
    twin, _ = records
    setting = R.record_setting(twin)
    assert setting == {"device": R.CPU, "dtype": "fp32", "channels_last": False, "autocast": False, "batch": 1}
    assert R.record_stage_ms(twin, R.CPU, "fp32", 2) == twin["design"]["results"][1]["per_stage_ms"]
    assert R.record_stage_ms(twin, R.CPU, "bf16", 2) is None and R.record_stage_ms(twin, "h100", "fp32", 2) is None
    assert R.record_stage_ms(twin, R.CPU, "fp32", 64) is None
    gpu = {**twin, "design": {**twin["design"], "environment": {"device": "cuda", "device_name": "Some GPU"}}}
    assert R.record_setting(gpu) is None
    assert not R.above_roof([{"pct_of_roofline": 99.0}, {"pct_of_roofline": None}])
    assert R.above_roof([{"pct_of_roofline": 100.5}])
