"""The Streamlit pages through AppTest: they run, knobs change numbers, errors keep the last valid
design, and the URL opens a design. (Layout, navigation labels and downloads: tests/test_e2e.py.)"""
from __future__ import annotations

import json
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from apptest_helpers import APP, app, clear_caches, no_problem  # noqa: F401  (clear_caches: autouse)
from cspnet import get_preset, plan_network
from explorer.counts.analysis import summarize

PAGES = {"pages/Diagram.py": "Diagram", "pages/Tradeoff.py": "Tradeoff"}  # page file -> title


def metric(at: AppTest, label: str) -> str:
    for m in at.metric:
        if m.label == label:
            return m.value
    raise AssertionError(f"no metric {label!r}: {[m.label for m in at.metric]}")


def table(at: AppTest, column: str = "stage"):
    """The first data frame with ``column`` (AppTest does not expose keys of st.dataframe)."""
    for df in at.dataframe:
        if column in df.value.columns:
            return df.value
    raise AssertionError(f"no table with column {column!r}")


# ----------------------------------------------------------------------------- every page
def test_design_page_runs_with_metrics_table_and_downloads():
    at = app()
    no_problem(at)
    assert at.title[0].value == "Design"
    assert [m.label for m in at.metric] == ["Params", "MACs", "fvcore MACs", "CIO", "Activations"]
    assert metric(at, "Params") == "8.57 M"  # cspdensenet121, the default design
    assert at.metric[0].delta.startswith("+7.4")  # against the plain twin (densenet121)
    assert table(at)["stage"].tolist()[:2] == ["stem", "stages.0"]
    assert {b.key for b in at.get("download_button")} >= {"dl_config", "dl_csv"}
    assert at.query_params.get("preset") in (["cspdensenet121"], "cspdensenet121")


def test_explain_a_number_adds_up_to_the_stage_total_and_lesson_is_linked():
    at = app()
    summary = summarize(get_preset("cspdensenet121"))
    stage = {s["name"]: s for s in summary["stages"]}["stages.0"]
    formulas = table(at, "formula")
    assert formulas["value"].sum() == stage["macs"] and "×" in formulas["formula"].iloc[0]
    assert any(f"total {stage['macs']:,}" in c.value for c in at.caption)
    at.radio(key="explain_metric").set_value("cio").run()
    assert table(at, "formula")["value"].sum() == stage["cio"]
    at.selectbox(key="explain_stage").set_value("stages.2").run()
    assert table(at, "formula")["value"].sum() == {s["name"]: s for s in summary["stages"]}["stages.2"]["cio"]
    assert any("lesson" in link.label for link in at.get("page_link"))


@pytest.mark.parametrize("page", PAGES)
def test_other_pages_run(page):
    at = app()
    at.switch_page(page).run()
    no_problem(at)
    assert at.title[0].value == PAGES[page]


def test_every_preset_opens_and_one_of_each_family_and_task_on_every_page():
    """Every preset opens on the Design page (its numbers, twin and base); the first preset of each family and
    task (a classifier and a detector of the yolov5 / yolov8 / yolo11 families) on every page.  The pages read a
    design through the family-generic paths, so a family's other presets add time, not cases."""
    from cspnet import preset_names
    from cspnet.presets import get_preset

    seen = set()
    for name in preset_names():
        cfg = get_preset(name)
        kind = (cfg.family, cfg.is_detector)
        at = app({"preset": name})
        no_problem(at)
        if kind in seen:
            continue
        seen.add(kind)
        for page in PAGES:
            at.switch_page(page).run()
            no_problem(at)
    assert len(seen) >= 15


def test_every_page_file_is_named_as_its_url_path():
    """Streamlit's legacy first run routes a URL by file name (app_ui.state.leave_legacy_run)."""
    import ast

    pages = [node for node in ast.walk(ast.parse(Path(APP).read_text()))
             if isinstance(node, ast.Call) and getattr(node.func, "attr", "") == "Page"]
    assert len(pages) == 8
    for node in pages:
        kw = {k.arg: k.value.value for k in node.keywords if isinstance(k.value, ast.Constant)}
        assert Path(node.args[0].value).stem == kw["url_path"], ast.unparse(node)


# ----------------------------------------------------------------------------- knobs
def test_changing_knobs_changes_the_metrics():
    at = app({"preset": "densenet201"})
    p0, m0 = metric(at, "Params"), metric(at, "MACs")
    assert p0 == "20 M"
    at.text_input(key="knob_growth_rate").set_value("40").run()
    no_problem(at)
    p1 = metric(at, "Params")
    assert p1 != p0
    assert p1 == f"{summarize(get_preset('densenet201').replace(growth_rate=40))['params'] / 1e6:.3g} M"
    at.selectbox(key="knob_fusion").set_value("fusion_last").run()
    no_problem(at)
    assert metric(at, "MACs") != m0
    assert at.metric[1].delta  # now CSP: a delta against the plain twin
    at.number_input(key="knob_split_ratio").set_value(0.25).run()
    no_problem(at)
    assert any("γ = 0.75" in m.value for m in at.markdown)
    at.text_input(key="knob_repeats").set_value("6,12,24").run()  # fewer stages: growth rate follows
    no_problem(at)
    assert len(table(at)) == 5  # stem, 3 stages, head


def test_bad_value_shows_why_keeps_typed_value_and_last_valid_design():
    at = app({"preset": "cspdensenet201"})
    before = [m.value for m in at.metric]
    at.text_input(key="knob_growth_rate").set_value("0").run()
    assert not at.exception
    msgs = [e.value for e in at.error]
    assert any("growth_rate" in m and "Nearest valid value: **1**" in m for m in msgs), msgs
    assert at.text_input(key="knob_growth_rate").value == "0"
    assert [m.value for m in at.metric] == before
    assert "growth_rate" not in at.query_params  # the URL keeps the last valid design
    # the other knobs still work while one is invalid
    at.number_input(key="knob_input_size").set_value(256).run()
    assert [m.value for m in at.metric] != before
    assert at.text_input(key="knob_growth_rate").value == "0"
    # one click applies the nearest valid value
    at.button(key="use_nearest").click().run()
    no_problem(at)
    assert at.text_input(key="knob_growth_rate").value == "1"


def test_split_ratio_that_leaves_no_channels_names_the_field():
    at = app({"preset": "cspdensenet121"})
    at.number_input(key="knob_split_ratio").set_value(0.001).run()
    assert not at.exception
    assert any("split_ratio" in e.value and "Nearest valid value" in e.value for e in at.error)
    at.button(key="discard_edits").click().run()
    no_problem(at)
    assert at.number_input(key="knob_split_ratio").value == 0.5


def test_more_stages_than_fit_name_repeats_and_the_allowed_range():
    """8 stages of DenseNet do not fit 224 px: the error is about repeats (the knob edited), never
    about a per-stage field the edit left with 4 values or that DenseNet does not read (widths)."""
    at = app({"preset": "densenet121"})
    before = metric(at, "Params")
    at.text_input(key="knob_repeats").set_value("6,12,24,16,6,12,24,16").run()
    assert not at.exception
    msgs = [e.value for e in at.error]
    assert len(msgs) == 1 and msgs[0].startswith("repeats: 8 stages are too many for input 224"), msgs
    assert "allowed 1 to 6 stages at input 224" in msgs[0] and "Nearest valid value: **6,12,24,16,6,12**" in msgs[0]
    assert not any(f in msgs[0] for f in ("widths", "growth_rate", "bn_size"))
    assert metric(at, "Params") == before
    at.button(key="use_nearest").click().run()
    no_problem(at)
    assert len(table(at)) == 8  # stem, 6 stages, head
    # with a larger input, 8 stages are valid: every per-stage field follows the stage count
    at = app({"preset": "densenet121", "input_size": "512"})
    at.text_input(key="knob_repeats").set_value("6,12,24,16,6,12,24,16").run()
    no_problem(at)
    assert len(table(at)) == 10 and at.text_input(key="knob_growth_rate").value == "32"


def test_stage_table_repeats_are_blank_for_stem_and_head():
    at = app({"preset": "densenet121"})
    df = table(at)
    assert str(df["repeats"].dtype) == "Int64"  # numeric, with missing values (not the text "None")
    assert df["repeats"].isna().tolist() == [True, False, False, False, False, True]
    assert df["repeats"].dropna().tolist() == [6, 12, 24, 16]
    el = next(d for d in at.dataframe if "stage" in d.value.columns)
    assert el.proto.HasField("placeholder") and el.proto.placeholder == ""  # a missing value: a blank cell


def test_url_with_more_stages_than_fit_names_repeats():
    at = app({"preset": "densenet121", "repeats": "6,12,24,16,6,12,24,16"})
    assert not at.exception
    msgs = [e.value for e in at.error]
    assert any("could not be opened (repeats: 8 stages are too many for input 224" in m
               and "allowed 1 to 6 stages" in m for m in msgs), msgs
    assert not any("widths" in m or "growth_rate" in m for m in msgs)


def test_preset_and_family_switch_refill_the_widgets():
    at = app()
    at.selectbox(key="pick_preset").set_value("cspresnext50").run()
    no_problem(at)
    assert at.text_input(key="knob_width_per_group").value == "4,8,16,32"
    assert metric(at, "Params") == "20.6 M"
    at.selectbox(key="knob_family").set_value("densenet").run()
    no_problem(at)
    assert at.text_input(key="knob_growth_rate").value == "32"
    assert at.subheader[0].value.startswith("custom_densenet")  # not the old preset's name
    with pytest.raises(KeyError):
        at.text_input(key="knob_widths")


def test_convention_switch_changes_the_table():
    at = app({"preset": "cspdarknet53"})
    at.radio(key="convention").set_value("bflops").run()
    no_problem(at)
    assert "CSPNet paper FLOPs (2 x MACs; printed as BFLOPs)" in table(at).columns
    at.segmented_control(key="table_view").set_value("shapes").run()
    no_problem(at)
    assert "part 1 (bypass)" in table(at).columns


# ----------------------------------------------------------------------------- URL state
def test_url_query_params_open_a_design():
    at = app({"preset": "cspdensenet201", "growth_rate": "40", "split_ratio": "0.25"})
    no_problem(at)
    cfg = get_preset("cspdensenet201").replace(growth_rate=40, split_ratio=0.25)
    assert metric(at, "Params") == f"{summarize(cfg)['params'] / 1e6:.3g} M"
    assert at.text_input(key="knob_growth_rate").value == "40"
    assert at.number_input(key="knob_split_ratio").value == 0.25


@pytest.mark.parametrize("params", [{"preset": "nosuchnet"}, {"growth_rate": "abc"},
                                    {"split_ratio": "7"}, {"bogus": "1"}])
def test_bad_url_shows_a_message_and_the_default_design(params):
    at = app(params)
    assert not at.exception
    assert any("could not be opened" in e.value for e in at.error)
    assert metric(at, "Params") == "8.57 M"


def test_live_trace_agrees():
    at = app({"preset": "cspdensenet_walkthrough", "input_size": "64"})
    at.toggle(key="verify_trace").set_value(True).run()
    no_problem(at)
    df = table(at, "quantity")
    assert list(df["agree"]) == ["yes"] * len(df)


# ----------------------------------------------------------------------------- other pages
def test_diagram_expands_stages():
    at = app({"preset": "cspdensenet201"})
    at.switch_page("pages/Diagram.py").run()
    no_problem(at)
    spec = at.get("graphviz_chart")[0].proto.spec
    assert spec.startswith("digraph cspnet") and "more blocks" not in spec
    at.multiselect(key="diagram_expand").set_value(["stages.2"]).run()
    no_problem(at)
    assert "more blocks" in at.get("graphviz_chart")[0].proto.spec
    assert {b.key for b in at.get("download_button")} >= {"dl_dot", "dl_svg", "dl_png"}


def test_diagram_lists_every_layer_with_what_it_reads():
    at = app({"preset": "cspresnet50", "input_size": "128"})
    at.switch_page("pages/Diagram.py").run()
    no_problem(at)
    df = table(at, "from")
    plan = plan_network(get_preset("cspresnet50", input_size=128))
    assert len(df) == len(list(plan.ops)) and int(df["macs"].sum()) == plan.macs
    assert any("[" in f for f in df["from"])      # a split's parts: channel slices of the expand conv
    at.selectbox(key="layers_convention").set_value("fvcore").run()
    at.selectbox(key="layers_stage").set_value("stages.1").run()
    no_problem(at)
    df = table(at, "from")
    assert set(df["stage"]) == {"stages.1"} and "fvcore" in df.columns
    assert "dl_layers" in {b.key for b in at.get("download_button")}


def test_diagram_onnx_is_built_only_on_request():
    at = app({"preset": "cspdensenet_walkthrough", "input_size": "64"})
    at.switch_page("pages/Diagram.py").run()
    assert "dl_onnx" not in {b.key for b in at.get("download_button")}
    at.button(key="onnx_prepare").click().run()
    no_problem(at)
    assert "dl_onnx" in {b.key for b in at.get("download_button")}


def tradeoff_traces(at: AppTest) -> tuple[list, list]:
    """(the 'accuracy unknown' lines, the design/twin markers at a published top-1) of the chart."""
    fig = json.loads(at.get("plotly_chart")[0].proto.spec)
    lines = [t for t in fig["data"] if "accuracy unknown" in (t.get("name") or "")]
    stars = [t for t in fig["data"] if "published top-1 of" in (t.get("name") or "")]
    return lines, stars


def test_tradeoff_places_design_without_accuracy_and_filters():
    cfg = get_preset("cspdarknet53").replace(split_ratio=0.75)  # a modified preset: nobody trained it
    at = app({"preset": "cspdarknet53", "split_ratio": "0.75"})
    at.switch_page("pages/Tradeoff.py").run()
    no_problem(at)
    lines, stars = tradeoff_traces(at)
    assert len(lines) == 2 and not stars  # the design and its plain twin, accuracy unknown
    gm = summarize(cfg)["fvcore_macs"] / 1e9
    assert any(t["x"] == [pytest.approx(gm), pytest.approx(gm)] for t in lines)
    at.multiselect(key="to_family").set_value(["DenseNet"]).run()
    no_problem(at)
    fig = json.loads(at.get("plotly_chart")[0].proto.spec)
    names = {t.get("name") for t in fig["data"] if t.get("mode") == "markers" and t.get("x") != [None]
             and "published top-1" not in t.get("name", "")}
    assert names == {"DenseNet"}


def test_tradeoff_places_a_published_preset_at_its_published_accuracy():
    at = app({"preset": "densenet201"})
    at.switch_page("pages/Tradeoff.py").run()
    no_problem(at)
    lines, stars = tradeoff_traces(at)
    assert not lines and len(stars) == 1  # a plain design: no twin
    gm = summarize(get_preset("densenet201"))["fvcore_macs"] / 1e9
    assert stars[0]["x"] == [pytest.approx(gm)] and stars[0]["y"] == [pytest.approx(76.896)]
    hover = stars[0]["hovertext"][0]
    assert "torchvision" in hover and "224 px" in hover and "densenet201 (torchvision IMAGENET1K_V1)" in hover
    caption = " ".join(c.value for c in at.caption)
    assert "is the preset **densenet201**" in caption and "76.90 % top-1 published by torchvision" in caption
    assert "one of 5 published rows at 224 px" in caption and "timm 77.28 %" in caption
    # a CSP design: the design is unknown (a line), its plain twin is densenet201 (a star)
    at = app({"preset": "cspdensenet201"})
    at.switch_page("pages/Tradeoff.py").run()
    no_problem(at)
    lines, stars = tradeoff_traces(at)
    assert [t["name"] for t in lines] == ["your design (cspdensenet201) (accuracy unknown)"]
    assert [t["name"] for t in stars] == ["its plain twin (published top-1 of densenet201)"]
    # at another input size: the same network, and the caption says which row is shown
    at = app({"preset": "densenet201", "input_size": "256"})
    at.switch_page("pages/Tradeoff.py").run()
    no_problem(at)
    assert "no published row at 256 px; shown: the row at 224 px" in " ".join(c.value for c in at.caption)


def test_builds_over_the_servers_budget_are_refused_with_the_bound(monkeypatch):
    import explorer.real.budget as budget
    import explorer.real.trace as trace

    monkeypatch.setattr(budget, "BUILD_BUDGET", 512 * 2**20)  # below the fixed allowance: nothing fits
    monkeypatch.setattr(trace, "build_model", lambda *a, **k: pytest.fail("a model was built"))
    at = app({"preset": "cspdensenet_walkthrough", "input_size": "64"})
    at.toggle(key="verify_trace").set_value(True).run()
    assert not at.exception
    assert any("Live trace: design: the real model needs" in e.value and "up to 0.5 GiB" in e.value
               for e in at.error), [e.value for e in at.error]
    assert metric(at, "Params")  # the analytic numbers stay
    at.switch_page("pages/Diagram.py").run()
    at.button(key="onnx_prepare").click().run()
    assert not at.exception
    assert any(e.value.startswith("ONNX export: design:") and "up to 0.5 GiB" in e.value
               for e in at.error), [e.value for e in at.error]
    assert "dl_onnx" not in {b.key for b in at.get("download_button")}


def test_tradeoff_throughput_axis_shows_published_speed_and_the_pair_table():
    at = app({"preset": "cspdarknet53"})
    at.switch_page("pages/Tradeoff.py").run()
    no_problem(at)
    assert at.radio(key="to_axis").value == "compute (GMACs)"
    at.radio(key="to_axis").set_value("published throughput on RTX 4090").run()
    no_problem(at)
    fig = json.loads(at.get("plotly_chart")[0].proto.spec)
    assert "RTX 4090" in fig["layout"]["xaxis"]["title"]["text"]
    hovers = [h for t in fig["data"] for h in t["hovertext"]]
    assert any("cspdarknet53" in h and "2741.47 img/s" in h and "batch 1024" in h
               and "benchmark-infer-amp-nchw-pt291-cu128-4090.csv" in h for h in hovers)
    tables = [d.value for d in at.dataframe if "CSP preset" in d.value.columns]
    assert len(tables) == 1
    pairs = tables[0].set_index("CSP preset")
    assert pairs.loc["cspdarknet53", "paper base"] == "darknet53"
    assert pairs.loc["cspdarknet53", "MAC ratio CSP/base"] < 1
    assert pairs.loc["cspdarknet53", "throughput ratio CSP/base"] < 1
