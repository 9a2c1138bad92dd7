"""The pure helpers behind the pages: knob edits, the tradeoff chart, trace agreement."""
from __future__ import annotations

import pytest

from app_ui.charts import plottable, selected_presets, tradeoff_figure
from cspnet import ConfigError, get_preset
from explorer.counts.analysis import summarize
from explorer.design import with_changes
from explorer.design.edits import apply_edits, display_value, nearest_valid
from explorer.paper.published import load_published, preset_of_design, published_accuracy
from explorer.real.agreement import trace_agreement


# ----------------------------------------------------------------------------- knobs
def test_valid_edit_applies():
    cfg = get_preset("cspdensenet121")
    out = apply_edits(cfg, {"growth_rate": "40"}, "growth_rate")
    assert out.changed and out.cfg.growth_rate == (40,) * 4 and not out.errors and not out.pending


def test_reverting_to_the_current_value_clears_the_pending_edit():
    cfg = get_preset("cspdensenet121")
    out = apply_edits(cfg, {"growth_rate": "32"}, "growth_rate")
    assert not out.changed and not out.pending and not out.errors


@pytest.mark.parametrize("field,text,nearest", [
    ("growth_rate", "0", "1"),
    ("split_ratio", "1.5", "1.0"),
    ("repeats", "6,0,24,16", "6,1,24,16"),
    ("input_size", "8", None),  # checked below: the smallest size the design allows
])
def test_invalid_edit_names_field_and_nearest_valid_value(field, text, nearest):
    cfg = get_preset("cspdensenet201")
    out = apply_edits(cfg, {field: text}, field)
    assert not out.changed and out.cfg == cfg
    assert out.pending == {field: text}
    err = out.errors[field]
    assert err["message"].startswith(f"{field}:")
    if nearest is not None:
        assert err["nearest"] == nearest
    # the nearest value always builds
    assert apply_edits(cfg, {field: err["nearest"]}, field).errors == {}


def test_nearest_split_ratio_is_just_valid():
    cfg = get_preset("cspdensenet121")
    near = float(nearest_valid(cfg, "split_ratio", "0.001"))
    with_changes(cfg, {"split_ratio": near})
    with pytest.raises(ConfigError):
        with_changes(cfg, {"split_ratio": near / 2})


def test_unparsable_text_has_no_nearest_value():
    out = apply_edits(get_preset("densenet121"), {"repeats": "abc"}, "repeats")
    assert out.errors["repeats"]["nearest"] is None and "not an integer" in out.errors["repeats"]["message"]


def test_stage_count_change_keeps_uniform_fields_and_waits_for_the_rest():
    dn = apply_edits(get_preset("densenet121"), {"repeats": "6,12,24"}, "repeats")
    assert dn.changed and dn.cfg.repeats == (6, 12, 24) and dn.cfg.growth_rate == (32,) * 3
    rx = get_preset("cspresnext50")
    one = apply_edits(rx, {"repeats": "3,4,6,3,2"}, "repeats")
    assert not one.changed and "widths" in one.errors["repeats"]["message"]
    edits = dict(one.pending, widths="256,512,1024,2048,2048", strides="1,2,2,2,1",
                 width_per_group="4,8,16,32,32")
    done = apply_edits(rx, edits, "width_per_group")
    assert done.changed and done.cfg.num_stages == 5 and not done.pending


def test_a_valid_latest_edit_applies_while_another_stays_pending():
    cfg = get_preset("cspdensenet121")
    out = apply_edits(cfg, {"growth_rate": "0", "input_size": "256"}, "input_size")
    assert out.changed and out.cfg.input_size == 256
    assert out.pending == {"growth_rate": "0"} and "growth_rate" in out.errors


def test_display_value_collapses_equal_stages():
    assert display_value(get_preset("densenet121"), "growth_rate") == "32"
    assert display_value(get_preset("cspresnext50"), "width_per_group") == "4,8,16,32"
    assert display_value(get_preset("densenet121"), "repeats") == "6,12,24,16"


# ----------------------------------------------------------------------------- chart
def test_tradeoff_figure_draws_design_and_twin_as_lines_without_accuracy():
    df = load_published()
    fig = tradeoff_figure(df, {"gmacs": 3.1, "label": "your design"}, {"gmacs": 2.9, "label": "its plain twin"})
    lines = [t for t in fig.data if t.mode == "lines"]
    assert [t.name for t in lines] == ["its plain twin (accuracy unknown)", "your design (accuracy unknown)"]
    assert all(len(set(t.x)) == 1 for t in lines)  # vertical: one compute, no accuracy
    pts = [t for t in fig.data if t.mode == "markers" and t.x and t.x[0] is not None]
    assert sum(len(t.x) for t in pts) == len(plottable(df))
    # every published point can be traced back to its row and preset
    cd = [c for t in pts for c in t.customdata]
    assert {c[2] for c in cd} == set(plottable(df)["model"])
    assert fig.layout.xaxis.title.text.startswith("compute (GMACs")


def test_a_preset_with_published_rows_is_drawn_at_its_published_accuracy():
    df = load_published()
    pub = published_accuracy(get_preset("densenet201"))
    fig = tradeoff_figure(df, {"gmacs": 4.3, "label": "your design", "published": pub},
                          {"gmacs": 2.9, "label": "its plain twin", "published": None})
    lines = [t for t in fig.data if t.mode == "lines"]
    assert [t.name for t in lines] == ["its plain twin (accuracy unknown)"]  # only the design without one
    star = [t for t in fig.data if (t.name or "").endswith("(published top-1 of densenet201)")]
    assert len(star) == 1 and star[0].x == (4.3,) and star[0].y == (pytest.approx(76.896),)
    assert "torchvision" in star[0].hovertext[0] and "224 px" in star[0].hovertext[0]
    assert any("76.9 % (torchvision, 224 px)" in a.text for a in fig.layout.annotations)
    assert star[0].customdata is None  # not a published point: a click on it loads nothing


def test_published_accuracy_of_a_design():
    pub = published_accuracy(get_preset("densenet201"))
    assert pub["preset"] == "densenet201" and pub["model"] == "densenet201 (torchvision IMAGENET1K_V1)"
    assert pub["res"] == 224 and pub["at_input_size"] and pub["source_group"] == "torchvision"
    assert len(pub["others"]) == 4 and "10-crop" not in pub["model"]
    # the name and (for a plain design) the CSP-only fields do not make another network
    assert preset_of_design(get_preset("densenet201").replace(name="mine", split_ratio=0.3)) == "densenet201"
    assert published_accuracy(get_preset("densenet201").replace(growth_rate=16)) is None  # a modified design
    assert published_accuracy(get_preset("cspdensenet201")) is None  # no published row builds it
    assert published_accuracy(get_preset("cspdensenet201").twin())["preset"] == "densenet201"
    # another input size: the same network; the row shown says at which resolution it was published
    pub = published_accuracy(get_preset("densenet201").replace(input_size=256))
    assert not pub["at_input_size"] and pub["why"] == "no published row at 256 px; shown: the row at 224 px"
    # several resolutions: the one at the design's input size
    assert published_accuracy(get_preset("darknet53"))["res"] == 256
    assert published_accuracy(get_preset("darknet53").replace(input_size=288))["res"] == 288
    # rows for another activation are another network (PeleeNet-swish is not the peleenet preset)
    assert published_accuracy(get_preset("peleenet"))["model"] == "PeleeNet (official)"
    assert all("swish" not in o["model"] and "mish" not in o["model"]
               for o in published_accuracy(get_preset("peleenet"))["others"])


def test_hover_shows_the_published_value_and_unit():
    df = load_published()
    fig = tradeoff_figure(df[df["model"] == "CSPDarkNet-53"])
    text = fig.data[0].hovertext[0]
    assert "6.535" not in text.split("as published")[0]
    assert "13.07 BFLOPs" in text and "256 px" in text and "exact" in text and "cspdarknet53" in text


def test_selected_presets_reads_customdata():
    sel = {"points": [{"customdata": [3, "densenet201", "densenet201.tv_in1k"]}, {"x": 1}]}
    assert selected_presets(sel) == [("densenet201", "densenet201.tv_in1k")]
    assert selected_presets(None) == [] and selected_presets({"points": []}) == []


def test_empty_selection_still_makes_a_figure():
    fig = tradeoff_figure(load_published().iloc[0:0], {"gmacs": 1.0, "label": "d"}, None, log_x=True)
    assert len(fig.data) == 1 and fig.layout.xaxis.type == "log"


# ----------------------------------------------------------------------------- agreement
def test_trace_agreement_reports_mismatches():
    cfg = get_preset("cspdensenet121")
    s = summarize(cfg)
    shapes = {st["name"]: {t: list(v) for t, v in st["shapes"].items()} for st in s["stages"]}
    trace = {"params": s["params"], "shapes": shapes, "fvcore": {"total": s["fvcore_macs"], "unsupported_ops": {}}}
    assert trace_agreement(s, trace)["agree"]
    shapes["stages.1"]["concat"] = [1, 1, 1]
    bad = trace_agreement(s, dict(trace, params=s["params"] + 1))
    assert not bad["agree"] and bad["shape_mismatches"] and not bad["rows"][0]["agree"]
