"""Pure tests of explorer/lesson/ (the guided lesson) and app_ui/figures.py (page figures)."""
from __future__ import annotations

import shutil
import subprocess

import pandas as pd
import pytest

from app_ui.figures import (
    dense_arcs_figure,
    fusion_network_figure,
    fusion_stage_figure,
    latency_curve,
    latency_sweep_figure,
    reads_figure,
    record_caption,
    savings_figure,
    selected_cells,
    stage_bars,
    sweep_heatmap,
    sweep_lines,
)
from cspnet import ConfigError, CSPConfig
from explorer import lesson
from explorer.counts.sweep import parse_vary, sweep
from explorer.design import parse_value
from explorer.real.verdicts import savings_verdicts

TINY = CSPConfig(family="densenet", name="tiny", repeats=(2,), growth_rate=8, stem_channels=16, input_size=32,
                 fusion="csp", num_classes=10)


def _dot_ok(text: str) -> None:
    assert text.startswith("digraph") and text.rstrip().endswith("}")
    if shutil.which("dot"):
        r = subprocess.run(["dot", "-Tsvg"], input=text, capture_output=True, text=True, timeout=30)
        assert r.returncode == 0, r.stderr


# =========================================================================== lesson
@pytest.mark.parametrize("step", lesson.STEP_KEYS)
def test_every_step_builds_a_one_stage_design_with_numbers_text_and_diagrams(step):
    vals = lesson.defaults(step)
    cfg = lesson.step_design(step, vals)
    assert cfg.num_stages == 1
    nums = lesson.step_numbers(step, vals)
    assert nums and all(isinstance(n, lesson.Number) for n in nums)
    assert all(isinstance(n.value, (int, float)) for n in nums)
    text = lesson.takeaway(step, vals)
    assert len(text) > 40
    _dot_ok(lesson.stage_dot(step, vals))
    s = lesson.get_step(step)
    assert s.title and s.intro and s.paper and s.controls


@pytest.mark.parametrize("m", [1, 2, 6, 13])
def test_dense_step_counts_come_from_the_plan_and_match_the_dense_block_arithmetic(m):
    cfg = lesson.step_design("dense", {"layers": m})
    reads = lesson.feature_reads(cfg)
    assert reads == [m - i for i in range(m)]  # x_i is read by the m - i later layers
    layers = lesson.dense_layers(cfg)
    assert [L["in_channels"] for L in layers] == [64 + 32 * j for j in range(m)]
    nums = {n.label: n.value for n in lesson.step_numbers("dense", {"layers": m})}
    assert nums["Dense layers that read x₀"] == m  # dense layers: the block's concat reads x0 too
    assert nums["Feature-map reads in the block"] == m * (m + 1) // 2
    assert f"m = {m}" in lesson.takeaway("dense", {"layers": m})


def test_a_slider_moves_the_numbers():
    a = {n.label: n.value for n in lesson.step_numbers("split", {"split_ratio": 0.5})}
    b = {n.label: n.value for n in lesson.step_numbers("split", {"split_ratio": 0.25})}
    assert a["Part 2: block channels"] == 32 and b["Part 2: block channels"] == 16
    assert b["Stage MACs"] < a["Stage MACs"]
    assert b["Paper's γ"] == 0.75
    t1 = {n.label: n.value for n in lesson.step_numbers("transition", {"transition_ratio": 1.0})}
    t2 = {n.label: n.value for n in lesson.step_numbers("transition", {"transition_ratio": 0.5})}
    assert t1["Partial transition channels"] == 224 and t2["Partial transition channels"] == 112


@pytest.mark.parametrize("c,m,k", [(64, 6, 32), (128, 12, 32), (256, 24, 32), (32, 1, 8), (512, 3, 64)])
def test_cio_formula_equals_the_count_read_off_the_plan(c, m, k):
    f = lesson.cio_formula(c, m, k)
    assert f["dense"] == c * m + (m * m + m) * k / 2
    assert f["partial"] == (c * m + (m * m + m) * k) / 2
    assert 0 < f["saving_pct"] <= 50
    dense = lesson.step_design("cio", {"c": c, "m": m, "k": k, "partial": False})
    part = lesson.step_design("cio", {"c": c, "m": m, "k": k, "partial": True})
    assert lesson.plan_cio_channels(dense) == f["dense"]
    assert lesson.plan_cio_channels(part) == f["partial"]  # c even: floor(c/2) == c/2
    assert lesson.block_cio_elements(part) < lesson.block_cio_elements(dense)


def test_cio_saving_is_at_most_half_and_shrinks_with_depth():
    shallow = lesson.cio_formula(512, 1, 8)["saving_pct"]
    deep = lesson.cio_formula(512, 32, 64)["saving_pct"]
    assert deep < shallow < 50


def test_transition_break_even_is_the_last_cheaper_ratio_on_the_slider():
    even = lesson.transition_break_even()
    assert even is not None
    c = lesson.get_step("transition").controls[0]

    def delta(r):
        d, t = lesson._twin_stage(lesson.step_design("transition", {"transition_ratio": r}))
        return d["macs"] - t["macs"]

    assert delta(even) < 0
    if even + c.step <= c.max:
        assert delta(even + c.step) >= 0


def test_fusion_rows_compare_computed_and_published_numbers():
    rows = lesson.fusion_rows()
    assert [r["fusion"] for r in rows] == list(lesson.FUSION_ORDER)
    by = {r["fusion"]: r for r in rows}
    assert by["none"]["stage_macs_pct"] == 0
    # the lesson's stage rows carry no whole-network (paper) numbers: those are network_rows, apart
    assert not any(k.startswith("paper") or k.startswith("pelee") for r in rows for k in r)
    # computed, not stored: the lesson's fusion designs really differ
    assert len({round(by[f]["stage_macs_pct"], 6) for f in ("fusion_first", "fusion_last", "csp")}) == 3
    # issue 10: the paper's numbers are the Paper page's (fusion_ablation), with their status; the CSP
    # value is -12.7 % (exact), no longer a rounded -13 (fusion first/last were -26/-21, now read off Fig. 4)
    net = {r["fusion"]: r for r in lesson.network_rows()}
    assert round(net["csp"]["paper_pct"], 1) == -12.7 and net["csp"]["paper_status"] == "exact"
    assert round(net["fusion_first"]["paper_pct"], 1) == -25.8 and net["fusion_first"]["approximate"]
    assert round(net["fusion_last"]["paper_pct"], 1) == -20.9 and net["fusion_last"]["approximate"]
    assert net["csp"]["paper_top1_pts"] == 0.2
    text = lesson.fusion_verdict(rows)
    assert "fusion last" in text and "%" in text and "-12.7 % (exact" in text


def test_dense_graph_has_every_read_and_the_arc_figure_draws_them():
    for m in (1, 3, 6):
        g = lesson.dense_graph(lesson.step_design("dense", {"layers": m}))
        assert [n["id"] for n in g["nodes"]] == ["x0"] + [f"L{j}" for j in range(1, m + 1)] + ["cat"]
        assert len(g["edges"]) == m * (m + 1) // 2 + (m + 1)  # reads into layers + everything into the concat
        assert g["part1"] is None and g["hidden_layers"] == 0
        fig = dense_arcs_figure(g)
        assert len([t for t in fig.data if t.mode == "lines"]) == len(g["edges"])
    g = lesson.dense_graph(lesson.step_design("split", {"split_ratio": 0.5}))
    assert g["part1"] == 32 and g["nodes"][0]["detail"] == "32 ch in"
    fig = dense_arcs_figure(g)
    assert any(t.line.dash == "dash" for t in fig.data if t.mode == "lines")
    # the arcs (reads) are unchanged by what follows the block: only the dashed part-1 line is extra
    assert len([t for t in fig.data if t.mode == "lines" and t.line.dash != "dash"]) == len(g["edges"])
    big = lesson.dense_graph(lesson.step_design("dense", {"layers": 16}))
    assert big["hidden_layers"] == 8 and "8 more layers not drawn" in dense_arcs_figure(big).layout.title.text


@pytest.mark.parametrize("fusion,after", [("none", ["trans"]), ("csp", ["ptrans", "join", "trans"]),
                                          ("fusion_first", ["join", "trans"]), ("fusion_last", ["trans", "join"])])
def test_dense_graph_draws_the_rest_of_the_stage_in_the_models_order(fusion, after):
    cfg = lesson.step_design("fusion", {"fusion": fusion})
    g = lesson.dense_graph(cfg)
    assert [a["id"] for a in g["after"]] == after
    taps = [t for t in lesson._stage(cfg).taps if t in lesson.AFTER_BLOCK]  # the plan's (forward) order
    assert [lesson.AFTER_BLOCK[t][0] for t in taps] == after
    assert g["part1_joins"] == (None if fusion == "none" else "join")


def test_step2_arcs_join_part1_after_the_partial_transition():
    """Issue 10: step 2 (full CSP) once drew part 1 joining inside the dense block's own concat (the
    fusion-first layout); part 1 joins at the stage's concat, after the partial transition."""
    g = lesson.dense_graph(lesson.step_design("split", {}))
    assert [a["label"] for a in g["after"]] == ["partial transition", "concat", "transition"]
    assert g["part1_joins"] == "join" and g["after"][1]["detail"] == "32 + 224 = 256 ch"
    fig = dense_arcs_figure(g)
    after = next(t for t in fig.data if t.name == "after the block")
    x = dict(zip(after.customdata, after.x))
    block_concat = len(g["nodes"]) - 1
    part1 = next(t for t in fig.data if t.name == "part 1")
    assert part1.line.dash == "dash"
    assert part1.x[-1] == x["join"] > x["ptrans"] > block_concat and x["trans"] > x["join"]
    arrows = [a for a in fig.layout.annotations if a.arrowcolor == "#1f77b4"]
    assert len(arrows) == 1 and arrows[0].x == x["join"] != block_concat
    assert any("after the partial transition" in (a.text or "") for a in fig.layout.annotations)
    assert "after the partial transition" in lesson.arcs_caption(g)
    plain = dense_arcs_figure(lesson.dense_graph(lesson.step_design("dense", {})))
    assert not any(t.name == "part 1" for t in plain.data)


def test_invalid_values_become_a_message():
    numbers, text, err = lesson.safe_step("split", {"split_ratio": 0.01})
    assert numbers == [] and err and err.startswith("split_ratio")
    with pytest.raises(ConfigError):
        lesson.step_design("split", {"split_ratio": 0.01})


def test_stage_source_is_the_plan_the_model_is_generated_from():
    src = lesson.stage_source()
    assert "def plan_dense_stage" in src and "def plan_dense_layer" in src and src.startswith("# cspnet/")


# =========================================================================== latency figures
def _rec(name, fusion, ms_by_batch, spread=0.05):
    results = []
    for b, ms in ms_by_batch.items():
        results.append({"batch": b, "median_ms": ms, "p10_ms": ms * (1 - spread), "p90_ms": ms * (1 + spread),
                        "min_ms": ms * 0.9, "runs": 5, "throughput_img_s": b / ms * 1e3,
                        "per_stage_ms": {"stem": ms * 0.2, "stages.0": ms * 0.7, "head": ms * 0.1}})
    return {"name": name, "config": {"fusion": fusion}, "macs": 100, "results": results,
            "environment": {"torch": "2.13.0+cpu", "device": "cpu", "device_name": "x86_64", "threads": 2},
            "request": {"dtype": "fp32", "channels_last": False, "warmup": 3, "runs": 5},
            "note": "measured on the CPU; no GPU here"}


def _record(design_ms, twin_ms, macs_pct=-13.0, spread=0.01):
    d = _rec("d", "csp", design_ms, spread)
    t = _rec("t", "none", twin_ms, spread)
    comp = [{"batch": b, "design_ms": design_ms[b], "twin_ms": twin_ms[b],
             "time_delta_pct": 100 * (design_ms[b] - twin_ms[b]) / twin_ms[b], "macs_delta_pct": macs_pct}
            for b in design_ms]
    return {"design": d, "twin": t, "comparison": comp}


def test_latency_curve_has_median_and_band_for_design_and_twin():
    rec = _record({1: 10.5, 8: 50.0}, {1: 10.0, 8: 60.0})
    fig = latency_curve(rec)
    assert len(fig.data) == 6  # (upper, lower band, median) x 2
    med = [t for t in fig.data if t.mode == "lines+markers"]
    assert list(med[0].x) == [1, 8] and list(med[0].y) == [10.5, 50.0]
    band = [t for t in fig.data if t.fill == "tonexty"]
    assert len(band) == 2 and list(band[0].y) == pytest.approx([10.5 * 0.99, 50.0 * 0.99])
    per_img = latency_curve(rec, per_image=True)
    assert list([t for t in per_img.data if t.mode == "lines+markers"][0].y) == [10.5, 50.0 / 8]
    plain = {"design": _rec("p", "none", {1: 3.0}), "twin": _rec("p", "none", {1: 3.0}),
             "comparison": [{"batch": 1, "design_ms": 3, "twin_ms": 3, "time_delta_pct": 0, "macs_delta_pct": 0}]}
    assert len(latency_curve(plain).data) == 3


def test_stage_bars_and_savings_figure():
    rec = _record({1: 10.5, 8: 50.0}, {1: 10.0, 8: 60.0})
    fig = stage_bars(rec, 8)
    assert [t.name.split(":")[0] for t in fig.data] == ["design", "plain twin"]
    assert list(fig.data[0].x) == ["stem", "stages.0", "head"]
    assert stage_bars(rec, 999).layout.annotations  # no such batch: an empty figure that says so
    sv = savings_figure(rec)
    assert [t.name for t in sv.data] == ["MACs change", "time change (median)"]
    assert list(sv.data[1].y) == pytest.approx([5.0, -100 / 6])


def test_savings_verdicts_say_where_time_does_not_follow_macs():
    rec = _record({1: 10.5, 64: 87.0, 128: 100.0}, {1: 10.0, 64: 100.0, 128: 102.0})
    v = savings_verdicts(rec)
    assert len(v) == 3
    assert v[0].startswith("Batch 1: MACs -13.0 % but time +5.0 %") and "launch- and memory-bound" in v[0]
    assert v[1].startswith("Batch 64: MACs -13.0 % and time -13.0 %: time follows MACs")
    assert "only -2.0 %" in v[2] and "15 % of the MAC saving" in v[2]
    busy = _record({8: 18.5}, {8: 0.8})
    assert "suspicious" in savings_verdicts(busy)[0] and "Measure again" in savings_verdicts(busy)[0]
    noisy = _record({1: 10.5}, {1: 10.0}, spread=0.2)
    assert "within run-to-run noise" in savings_verdicts(noisy)[0]
    plain = {"design": _rec("p", "none", {1: 3.0}), "twin": _rec("p", "none", {1: 3.0}), "comparison": []}
    assert "its own twin" in savings_verdicts(plain)[0]


def test_record_caption_names_device_and_torch():
    cap = record_caption(_record({1: 1.0}, {1: 1.0}))
    assert "x86_64" in cap and "torch 2.13.0+cpu" in cap and "no GPU here" in cap


# =========================================================================== sweep figures
def _grid(with_twin=False):
    return sweep(TINY, [parse_vary("split_ratio=0.05,0.25,0.5,0.75"), parse_vary("growth_rate=4,8,12")],
                 with_twin=with_twin)


def test_sweep_heatmap_gaps_reasons_and_clickable_cells():
    df = _grid()
    assert (df["error"] != "").sum() == 3  # split 0.05 leaves floor(16 x 0.05) = 0 channels
    fig = sweep_heatmap(df, "split_ratio", "growth_rate", "macs", "MACs")
    heat = fig.data[0]
    assert heat.type == "heatmap"
    assert list(heat.x) == ["0.05", "0.25", "0.5", "0.75"] and list(heat.y) == ["4", "8", "12"]
    assert all(row[0] is None for row in heat.z) and all(v is not None for row in heat.z for v in row[1:])
    invalid = [t for t in fig.data if t.type == "scatter" and t.marker.symbol == "x"][0]
    assert len(invalid.x) == 3 and all("split_ratio: " in h for h in invalid.hovertext)
    valid = [t for t in fig.data if t.type == "scatter" and t.marker.symbol == "square"][0]
    assert len(valid.customdata) == 9
    # a click hands back labels that parse to the grid's values
    x, y = valid.customdata[0]
    assert parse_value("split_ratio", x) in (0.25, 0.5, 0.75) and parse_value("growth_rate", y) in (4, 8, 12)
    pct = sweep_heatmap(_grid(True), "split_ratio", "growth_rate", "macs_vs_twin_pct", "MACs", pct=True)
    assert pct.data[0].zmid == 0


def test_sweep_lines_gaps_series_and_categorical_knobs():
    df = sweep(TINY, [parse_vary("split_ratio=0.05:0.5:0.15")])
    fig = sweep_lines(df, "split_ratio", "params", "Parameters")
    line = fig.data[0]
    assert line.y[0] is None and all(v is not None for v in line.y[1:])
    assert fig.data[-1].name.startswith("invalid design") and "split_ratio" in fig.data[-1].hovertext[0]
    two = sweep_lines(_grid(), "split_ratio", "macs", "MACs", series_key="growth_rate")
    assert [t.name for t in two.data[:3]] == ["growth_rate = 4", "growth_rate = 8", "growth_rate = 12"]
    assert list(two.data[0].customdata[1]) == ["0.25", "4"]
    fus = sweep(TINY, [parse_vary("fusion=none,fusion_first,fusion_last,csp")])
    f = sweep_lines(fus, "fusion", "macs", "MACs")
    assert f.layout.xaxis.type == "category" and list(f.data[0].x) == ["none", "fusion_first", "fusion_last", "csp"]
    reps = sweep(TINY, [parse_vary("repeats=1;2;3")])
    r = sweep_lines(reps, "repeats", "params", "Parameters")
    assert parse_value("repeats", r.data[0].customdata[2][0]) == (3,)


def test_selected_cells_reads_plotly_selections():
    sel = {"points": [{"customdata": ["0.5", "8"], "x": "0.5"}, {"x": 1}, {"customdata": [0.25]}]}
    assert selected_cells(sel) == [["0.5", "8"], ["0.25"]]
    assert selected_cells(None) == [] and selected_cells({}) == []


def test_latency_sweep_figure():
    df = pd.DataFrame([{"split_ratio": 0.25, "macs": 100, "median_ms": 1.0, "error": ""},
                       {"split_ratio": 0.5, "macs": 200, "median_ms": 1.5, "error": ""},
                       {"split_ratio": 0.75, "macs": 300, "median_ms": None, "error": "cancelled"}])
    fig = latency_sweep_figure(df, ["split_ratio"])
    assert list(fig.data[0].x) == [100, 200] and list(fig.data[0].text) == ["split_ratio=0.25", "split_ratio=0.5"]
    assert latency_sweep_figure(df.iloc[2:], ["split_ratio"]).layout.annotations


# =========================================================================== lesson figures
def test_lesson_figures():
    fig = reads_figure([6, 5, 4, 3, 2, 1])
    assert list(fig.data[0].y) == [6, 5, 4, 3, 2, 1] and list(fig.data[0].x)[0] == "x0"
    rows = lesson.fusion_rows()
    ff = fusion_stage_figure(rows, chosen="csp")
    # the plain row is the reference, not a bar; fusion last twice (preset ratio, and equal width)
    assert len(ff.data[0].x) == 4 and sum("fusion last" in x for x in ff.data[0].x) == 2
    assert not any("paper" in t.name.lower() for t in ff.data)  # issue 10: no whole-network number here
    assert "one DenseNet-121 stage" in ff.layout.title.text
    assert [x.split("<br>")[1] for x in ff.data[0].x] == ["128 ch out", "144 ch out", "128 ch out, ratio 0.43",
                                                          "128 ch out"]
    nf = fusion_network_figure(lesson.network_rows())
    assert "Whole networks" in nf.layout.title.text
    # issue 10: the paper's values as on the Paper page (-12.7 %, not -13 %), hatched where approximate
    assert list(nf.data[-1].y) == pytest.approx([-25.76, -20.94, -12.68], abs=0.01)
    assert list(nf.data[-1].marker.pattern.shape) == ["/", "/", ""]
    assert list(nf.data[0].y) == pytest.approx([r["tool_pct"] for r in lesson.network_rows()])


def test_fig4_close_labels_go_apart():
    """Issue 21.8: 'CSPPeleeNet (Fig. 3b)' and 'fusion last, gamma = 0.25' overlapped."""
    from app_ui.figures import fig4_figure, fig4_label_positions

    pts = lesson.fig4_points()
    pos = dict(zip((p["preset"] for p in pts), fig4_label_positions(pts)))
    assert pos["csppeleenet"] == "top left" and pos["csppeleenet_fusion_last_gamma025"] == "middle right"
    assert pos["peleenet"] == "bottom center"  # the label running right would hit PeleeNet's
    fig = fig4_figure(pts)
    assert list(fig.data[len(pts)].textposition) == fig4_label_positions(pts)
    assert "γ = 0.25" in " ".join(fig.data[len(pts)].text)
