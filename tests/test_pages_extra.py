"""AppTest smoke and interaction tests of the Latency, Sweep and Learn pages.

Starts from the entry point (app.py) as AppTest wants for multipage apps, opens a tiny design from
the URL, then switches to each page.
"""
from __future__ import annotations

import json
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from cspnet import CSPConfig
from explorer.design import to_query

TINY = CSPConfig(family="densenet", name="tiny", repeats=(2,), growth_rate=8, stem_channels=16, input_size=32,
                 fusion="csp", num_classes=10)
APP = str(Path(__file__).resolve().parent.parent / "app.py")
LATENCY, SWEEP, LEARN = "pages/Latency.py", "pages/Sweep.py", "pages/Learn.py"


def open_app(cfg: CSPConfig | None = TINY) -> AppTest:
    at = AppTest.from_file(APP, default_timeout=60)
    if cfg is not None:
        at.query_params.update(to_query(cfg))
    at.run()
    assert not at.exception
    return at


def no_errors(at: AppTest) -> None:
    assert not at.exception, [e.value for e in at.exception]


def figure(at: AppTest, i: int = 0) -> dict:
    return json.loads(at.get("plotly_chart")[i].proto.spec)


def metric(at: AppTest, label: str) -> str:
    return next(m.value for m in at.metric if m.label == label)


@pytest.mark.parametrize("page,title", [(LATENCY, "Latency"), (SWEEP, "Sweep"), (LEARN, "Learn")])
def test_page_runs_without_exception(page, title):
    at = open_app()
    at.switch_page(page).run()
    no_errors(at)
    assert at.title[0].value == title
    assert not at.error, [e.value for e in at.error]


# --------------------------------------------------------------------------- sweep
def test_sweep_range_and_knobs_change_the_figure():
    at = open_app()
    at.switch_page(SWEEP).run()
    no_errors(at)
    fig = figure(at)
    assert fig["data"][0]["type"] == "heatmap" and len(fig["data"][0]["x"]) == 10  # split 0.1..1.0
    at.text_input(key="sw_range_split_ratio").set_value("0.25:0.75:0.25").run()
    no_errors(at)
    assert figure(at)["data"][0]["x"] == ["0.25", "0.5", "0.75"]
    at.radio(key="sw_metric").set_value("cio").run()
    assert "Memory traffic" in figure(at)["layout"]["title"]["text"]
    at.radio(key="sw_metric").set_value("macs").run()
    at.radio(key="sw_convention").set_value("flops").run()
    assert "FLOPs" in figure(at)["layout"]["title"]["text"]
    at.radio(key="sw_convention").set_value("macs").run()
    at.toggle(key="sw_pct").set_value(True).run()
    no_errors(at)
    heat = figure(at)["data"][0]
    assert heat["zmid"] == 0 and "% vs plain twin" in figure(at)["layout"]["title"]["text"]
    at.selectbox(key="sw_knob2").set_value("(none)").run()
    no_errors(at)
    fig = figure(at)
    assert fig["data"][0]["type"] == "scatter" and fig["data"][0]["x"] == [0.25, 0.5, 0.75]


def test_sweep_bad_range_shows_the_error_naming_the_field():
    at = open_app()
    at.switch_page(SWEEP).run()
    at.text_input(key="sw_range_growth_rate").set_value("8:4:2").run()
    no_errors(at)
    msgs = [e.value for e in at.error]
    assert msgs and "growth_rate" in msgs[0] and "stop >= start" in msgs[0]
    assert not at.get("plotly_chart")
    at.text_input(key="sw_range_growth_rate").set_value("8,x").run()
    assert "'x' is not an integer" in at.error[0].value
    at.text_input(key="sw_range_growth_rate").set_value("1:2000:1").run()
    at.text_input(key="sw_range_split_ratio").set_value("0.1:1:0.1").run()
    assert "at most 1,000" in at.error[0].value
    at.selectbox(key="sw_knob1").set_value("growth_rate").run()  # the second knob's: it becomes '(none)'
    no_errors(at)
    assert at.selectbox(key="sw_knob2").value == "(none)" and "split_ratio" not in at.selectbox(key="sw_knob1").value


def test_sweep_invalid_points_are_gaps_with_reasons():
    at = open_app()
    at.switch_page(SWEEP).run()
    at.text_input(key="sw_range_split_ratio").set_value("0.05,0.5").run()
    fig = figure(at)
    assert fig["data"][0]["z"][0][0] is None
    invalid = [t for t in fig["data"] if t.get("marker", {}).get("symbol") == "x"][0]
    assert "split_ratio" in invalid["hovertext"][0]
    assert "invalid" in at.caption[1].value


def test_sweep_latency_bound_and_small_run():
    at = open_app()
    at.switch_page(SWEEP).run()
    at.toggle(key="sw_lat_on").set_value(True).run()
    no_errors(at)
    assert any("at most 12" in i.value for i in at.info)  # 80 designs: too many to time
    at.selectbox(key="sw_knob2").set_value("(none)").run()
    at.text_input(key="sw_range_split_ratio").set_value("0.5,1.0").run()
    at.number_input(key="sw_lat_runs").set_value(1).run()
    at.button(key="sw_lat_start").click().run()
    no_errors(at)
    assert any(s.label.startswith("Measured 2 designs") for s in at.status)
    assert at.get("plotly_chart")[-1].proto.spec and "Measured time" in figure(at, -1)["layout"]["title"]["text"]


def open_preset(name: str) -> AppTest:
    at = AppTest.from_file(APP, default_timeout=60)
    at.query_params["preset"] = name
    at.run()
    assert not at.exception
    return at


def test_sweep_on_a_plain_design_varies_a_knob_that_acts_and_offers_the_csp_version():
    at = open_preset("densenet121")
    at.switch_page(SWEEP).run()
    no_errors(at)
    assert at.selectbox(key="sw_knob1").value == "growth_rate"  # not the split ratio: it does not act
    assert at.selectbox(key="sw_knob2").value == "(none)" and not at.info
    ys = figure(at)["data"][0]["y"]
    assert len(set(ys)) == len(ys)  # every column differs
    # the user picks a CSP-only knob: a message naming it, and a button to the CSP version
    at.selectbox(key="sw_knob1").set_value("split_ratio").run()
    no_errors(at)
    msgs = [i.value for i in at.info]
    assert any("**split_ratio** acts only in CSP stages" in m and "has no CSP" in m for m in msgs), msgs
    assert len(set(figure(at)["data"][0]["y"])) == 1  # the same design at every point
    at.button(key="sw_make_csp").click().run()
    no_errors(at)
    assert not at.info and at.selectbox(key="sw_knob1").value == "split_ratio"
    assert at.query_params.get("preset") in (["cspdensenet121"], "cspdensenet121")
    assert len(set(figure(at)["data"][0]["y"])) > 1
    # sweeping fusion as well: the split ratio acts on the CSP values, no message
    at = open_preset("densenet121")
    at.switch_page(SWEEP).run()
    at.selectbox(key="sw_knob1").set_value("split_ratio").run()
    at.selectbox(key="sw_knob2").set_value("fusion").run()
    no_errors(at)
    assert not at.info


# --------------------------------------------------------------------------- learn
def test_lesson_slider_changes_a_number_and_steps_move():
    at = open_app()
    at.switch_page(LEARN).run()
    no_errors(at)
    at.button(key="learn_skip_dense").click().run()   # step 1 asks first: its numbers come after Reveal
    assert metric(at, "Feature-map reads in the block") == "21"
    at.slider(key="learn_dense_layers").set_value(10).run()
    no_errors(at)
    assert metric(at, "Feature-map reads in the block") == "55"
    at.button(key="learn_next").click().run()
    no_errors(at)
    assert at.subheader[0].value.startswith("2.")
    before = metric(at, "Part 2: block channels")
    at.slider(key="learn_split_split_ratio").set_value(0.25).run()
    assert metric(at, "Part 2: block channels") != before == "32"
    assert metric(at, "Paper's γ") == "0.75"
    for expected in ("3.", "4.", "5."):
        at.button(key="learn_next").click().run()
        no_errors(at)
        assert at.subheader[0].value.startswith(expected)
        assert at.get("graphviz_chart")[0].proto.spec.startswith("digraph")
    dense = metric(at, "Dense block CIO (formula)")
    at.slider(key="learn_cio_c").set_value(256).run()
    assert metric(at, "Dense block CIO (formula)") != dense
    at.button(key="learn_prev").click().run()
    at.button(key="learn_skip_fusion").click().run()  # step 4 shows its takeaway after the prediction
    at.radio(key="learn_fusion_fusion").set_value("fusion_first").run()
    no_errors(at)
    assert "fusion first" in at.info[0].value
    at.toggle(key="learn_source").set_value(True).run()
    assert "def plan_dense_stage" in at.code[0].value


def test_lesson_open_button_loads_the_design_on_the_design_page():
    at = open_app()
    at.switch_page(LEARN).run()
    at.slider(key="learn_dense_layers").set_value(4).run()
    at.button(key="learn_open_dense").click().run()
    no_errors(at)
    assert at.title[0].value == "Design"
    cfg = at.session_state["design_cfg"]
    assert cfg.repeats == (4,) and cfg.fusion == "none" and cfg.stem_channels == 64


# --------------------------------------------------------------------------- latency
def test_latency_measures_a_tiny_design_on_cpu_and_shows_results():
    at = open_app()
    at.switch_page(LATENCY).run()
    no_errors(at)
    gpu = __import__("torch").cuda.is_available()
    assert at.radio(key="lat_device").options == (["CPU", "GPU (cuda)"] if gpu else ["CPU"])
    assert gpu or any("only the CPU is measured" in c.value for c in at.caption)
    # nothing measured on a plain rerun (the roofline chart is analytic)
    assert not [c for c in at.get("plotly_chart") if c.key != "roof_chart"]
    at.multiselect(key="lat_batches").set_value([1, 2])
    at.number_input(key="lat_runs").set_value(2)
    at.number_input(key="lat_warmup").set_value(1).run()
    at.button(key="lat_start").click().run()
    no_errors(at)
    assert not at.error, [e.value for e in at.error]
    assert at.status[0].label.startswith("Measured in")
    titles = [json.loads(c.proto.spec)["layout"]["title"]["text"] for c in at.get("plotly_chart")
              if c.key != "roof_chart"]
    assert titles[0].startswith("Time against batch size") and len(titles) == 3
    assert any(df.value.columns[-3:].tolist() == ["% of roofline", "achieved TFLOP/s", "achieved GB/s"]
               for df in at.dataframe)  # each stage's measured time against its roofline bound
    assert any("torch 2." in c.value and "device cpu" in c.value for c in at.caption)
    assert any(m.value.startswith("- Batch 1: MACs") for m in at.markdown)
    rec = at.session_state["lat_result"]["record"]
    assert [r["batch"] for r in rec["design"]["results"]] == [1, 2] and rec["design"]["results"][0]["runs"] == 2
    # a rerun does not measure again; switching the per-stage batch just redraws
    at.selectbox(key="lat_stage_batch").set_value(2).run()
    assert at.session_state["lat_result"]["record"] is rec or at.session_state["lat_result"]["at"]
    assert "batch 2" in json.loads(at.get("plotly_chart")[2].proto.spec)["layout"]["title"]["text"]


def test_latency_plain_design_cancel_and_interrupt_messages():
    at = open_app(CSPConfig(family="densenet", name="plain", repeats=(1,), growth_rate=4, stem_channels=8,
                            input_size=32, num_classes=4))
    at.switch_page(LATENCY).run()
    assert any("its own twin" in c.value for c in at.caption)
    at.multiselect(key="lat_batches").set_value([])
    at.run()
    assert any("at least one batch" in w.value for w in at.warning)
    at.session_state["lat_cancel_flag"] = True
    at.session_state["lat_running"] = True
    at.run()
    assert any("cancelled" in i.value for i in at.info)
    at.session_state["lat_running"] = True
    at.run()
    assert any("interrupted" in i.value for i in at.info)


def test_latency_says_before_measuring_when_a_batch_is_over_the_memory_budget(monkeypatch):
    import explorer.real.latency as latency
    from explorer.real.budget import estimate

    cfg = CSPConfig(family="densenet", name="wide", repeats=(2, 2), growth_rate=32, stem_channels=64,
                    input_size=224, num_classes=10)
    bound = estimate(cfg, 8).total + 2**20  # the default batches (1, 8) fit, 256 does not
    monkeypatch.setattr(latency, "BENCH_BUDGET", bound)
    at = open_app(cfg)
    at.switch_page(LATENCY).run()
    assert not at.warning or not any("Measure would refuse" in w.value for w in at.warning)
    at.multiselect(key="lat_batches").set_value([1, 256]).run()
    msgs = [w.value for w in at.warning if "Measure would refuse" in w.value]
    assert msgs and msgs[0].startswith("batch: 256 needs about"), msgs
    assert f"limited to {bound / 2**30:.1f} GiB" in msgs[0], msgs
    monkeypatch.setattr(latency, "build_model", lambda *a, **k: pytest.fail("a model was built"))
    at.button(key="lat_start").click().run()
    assert not at.exception
    assert any(e.value.startswith("batch: 256") for e in at.error), [e.value for e in at.error]
