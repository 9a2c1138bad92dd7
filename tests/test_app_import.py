"""Opening your own network on the Design page (issue 13, part 4), through AppTest: a small CSP network
in Darknet syntax (written here) becomes a darknet_cfg design that every page shows; its CSP stages
switch fusion (the cfg is rewritten); a malformed file names the line and section and keeps the design;
the share link says it does not carry the network."""
from __future__ import annotations

import pytest
from streamlit.testing.v1 import AppTest

import explorer.io  # noqa: F401 - registers darknet_cfg
from apptest_helpers import APP, clear_caches, no_problem  # noqa: F401  (clear_caches: autouse)
from cfg_samples import TINY_CFG

PAGES = ("pages/Diagram.py", "pages/Tradeoff.py", "pages/Latency.py", "pages/Sweep.py", "pages/Learn.py",
         "pages/Paper.py")


def opened(text: bytes = TINY_CFG, name: str = "tiny_csp.cfg") -> AppTest:
    at = AppTest.from_file(APP, default_timeout=90).run()
    at.file_uploader(key="open_network").set_value((name, text, "application/octet-stream"))
    return at.run()


def metric(at: AppTest, label: str) -> str:
    return next(m.value for m in at.metric if m.label == label)


def stage_table(at: AppTest):
    return next(df.value for df in at.dataframe if "stage" in df.value.columns)


def test_a_cfg_opens_as_a_design_with_its_stage_table_and_numbers():
    from cspnet import plan_network
    from explorer.fmt import si
    from explorer.io.family import design_from_cfg

    at = opened()
    no_problem(at)
    cfg = at.session_state["design_cfg"]
    assert cfg.family == "darknet_cfg" and cfg.name == "tiny_csp" and cfg.input_size == 64
    assert cfg == design_from_cfg(TINY_CFG, "tiny_csp")
    assert metric(at, "Params") == si(plan_network(cfg).params)
    df = stage_table(at)
    assert list(df["stage"]) == ["stem", "stages.0", "stages.1", "head"]
    assert list(df["fusion"])[1:3] == ["csp", "fusion_first"]
    assert at.subheader[0].value.startswith("tiny_csp — darknet_cfg")
    # its plain twin (its CSP stages rewritten as plain stages: explorer.io.rewrite): deltas, no warning
    assert not any("plain twin" in w.value for w in at.warning)
    assert any("against the **plain twin**" in c.value for c in at.caption)
    # the knobs: input size only, and one fusion select per CSP stage
    assert at.selectbox(key="cfg_fusion_stages.0").value == "csp"
    assert at.selectbox(key="cfg_fusion_stages.1").value == "fusion_first"
    labels = [n.label for n in at.number_input]
    assert "Input size (pixels)" in labels and "Growth rate k" not in labels and "Classes" not in labels
    # the share link names the family only, and says so
    assert at.query_params["family"] in ("darknet_cfg", ["darknet_cfg"]) and "network" in at.query_params
    assert any("not in this link" in c.value for c in at.caption)


def test_switching_a_stage_fusion_rewrites_the_cfg():
    from cspnet import plan_network

    at = opened()
    before = plan_network(at.session_state["design_cfg"]).params
    at.selectbox(key="cfg_fusion_stages.1").set_value("fusion_last").run()
    no_problem(at)
    cfg = at.session_state["design_cfg"]
    assert [s.fusion for s in plan_network(cfg).stages][1:3] == ["csp", "fusion_last"]
    assert plan_network(cfg).params != before
    assert list(stage_table(at)["fusion"])[1:3] == ["csp", "fusion_last"]
    at.selectbox(key="cfg_fusion_stages.0").set_value("fusion_first").run()
    no_problem(at)
    assert [s.fusion for s in plan_network(at.session_state["design_cfg"]).stages][1:3] == \
        ["fusion_first", "fusion_last"]


def test_changing_a_stage_split_ratio_rewrites_the_cfg():
    from cspnet import plan_network

    at = opened()
    assert at.number_input(key="cfg_split_stages.1").value == 0.5
    at.number_input(key="cfg_split_stages.1").set_value(0.75).run()
    no_problem(at)
    taps = plan_network(at.session_state["design_cfg"]).stage("stages.1").taps
    assert (taps["part1"][0], taps["part2"][0]) == (8, 24)       # the two 1x1 split convs share C = 32
    assert at.number_input(key="cfg_split_stages.1").value == 0.75
    assert list(stage_table(at)["fusion"])[1:3] == ["csp", "fusion_first"]


def test_a_sliced_split_of_an_exported_cfg_takes_another_ratio():
    """A cfg this project exported (CSPPeleeNet gamma 0.25: each split is aligned [route] groups slices of
    the stage input) opens with its split ratio per stage, and a new ratio rewrites the slices."""
    from cspnet import get_preset, plan_network
    from explorer.io.darknet_export import cfg_from_config

    at = opened(cfg_from_config(get_preset("csppeleenet_gamma025")).encode(), "gamma.cfg")
    no_problem(at)
    stage = plan_network(at.session_state["design_cfg"]).stage("stages.2")
    c = stage.taps["part1"][0] + stage.taps["part2"][0]
    assert (stage.taps["part1"][0], stage.taps["part2"][0]) == (c // 4, 3 * c // 4)
    assert at.number_input(key="cfg_split_stages.2").value == 0.75
    at.number_input(key="cfg_split_stages.2").set_value(0.5).run()
    no_problem(at)
    taps = plan_network(at.session_state["design_cfg"]).stage("stages.2").taps
    assert (taps["part1"][0], taps["part2"][0]) == (c // 2, c // 2)
    assert at.number_input(key="cfg_split_stages.2").value == 0.5


def test_input_size_knob_changes_the_imported_network():
    at = opened()
    at.number_input(key="knob_input_size").set_value(96).run()
    no_problem(at)
    cfg = at.session_state["design_cfg"]
    assert cfg.input_size == 96
    assert stage_table(at)["stage output"].iloc[-2] == "32x24x24"   # 96 / 2 / 2


@pytest.mark.parametrize("text, where", [
    (TINY_CFG.replace(b"[route]\nlayers=-2", b"[route]\nlayers=-99", 1), "line 31 [route] (layer 3)"),
    (TINY_CFG.replace(b"size=3\nstride=2", b"size=3\nstrid=2", 1), "[convolutional]"),
    (b"[net]\nwidth=64\nheight=64\nchannels=3\n[sam]\n", "unsupported section [sam]"),
    (b"\x00" * 10, "NUL"),
])
def test_a_malformed_cfg_names_the_place_and_keeps_the_design(text, where):
    at = opened(text, "bad.cfg")
    assert not at.exception
    assert at.session_state["design_cfg"].family == "densenet"   # the previous (default) design stays
    errors = [e.value for e in at.error]
    assert len(errors) == 1 and "bad.cfg" in errors[0] and where in errors[0], errors


def test_an_oversized_file_is_refused_before_parsing():
    at = opened(b"#" * (256 * 1024 + 1), "big.cfg")
    assert not at.exception and at.session_state["design_cfg"].family == "densenet"
    assert "allowed at most 262,144" in at.error[0].value


def test_a_config_json_with_its_network_opens_again():
    at = opened()
    cfg = at.session_state["design_cfg"]
    at2 = opened(cfg.to_json().encode(), "tiny_csp.json")
    no_problem(at2)
    assert at2.session_state["design_cfg"] == cfg


def test_a_link_naming_an_opened_network_says_why_it_cannot_open():
    at = AppTest.from_file(APP, default_timeout=60)
    at.query_params["family"] = "darknet_cfg"
    at.query_params["network"] = "uploaded"
    at.run()
    assert not at.exception
    assert "does not carry an opened network" in at.error[0].value
    at = AppTest.from_file(APP, default_timeout=60)
    at.query_params["family"] = "darknet_cfg"
    at.run()      # the family alone: its example network
    no_problem(at)
    assert at.session_state["design_cfg"].family == "darknet_cfg"


@pytest.mark.parametrize("page", PAGES)
def test_every_page_shows_an_opened_network(page):
    at = opened()
    at.switch_page(page).run()
    no_problem(at)


def test_latency_page_measures_an_opened_network():
    at = opened()
    at.switch_page("pages/Latency.py").run()
    buttons = [b for b in at.button if "Measure" in b.label or "measure" in b.label.lower()]
    assert buttons, [b.label for b in at.button]
    buttons[0].click().run(timeout=180)
    no_problem(at)


def test_live_trace_of_an_opened_network_agrees():
    at = opened()
    at.toggle(key="verify_trace").set_value(True).run(timeout=120)
    no_problem(at)
    assert any("agrees" in s.label for s in at.status)
