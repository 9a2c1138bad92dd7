"""The Design page's logic, moved into the engine (issue 18, item 5): the form (explorer.design.form), opening a
network file (explorer.design.files) and the stage table's views and the comparison sentences
(explorer.counts.analysis).  The page keeps the widgets and the layout."""
from __future__ import annotations

import pytest

from cspnet import ConfigError, all_presets, get_preset
from cspnet.config import FIELDS
from cspnet.presets import paper_base
from explorer.counts.analysis import (
    BLOCK_COLUMN,
    SHARE_COLUMN,
    STAGE_VIEWS,
    blocks_caption,
    compare_with_base,
    delta_tone,
    field_text,
    no_base_text,
    stage_table,
    stage_view,
    summarize,
    why_they_differ,
)
from explorer.counts.conventions import REGISTRY
from explorer.design.edits import apply_edits
from explorer.design.files import MAX_FILE_BYTES, MAX_UPLOAD_BYTES, design_from_file
from explorer.design.form import (
    WIDGET_KINDS,
    knob_key,
    shown_fields,
    widget_input,
    widget_kind,
    widget_text,
    widget_value,
)


# --------------------------------------------------------------------------- the form
def test_every_field_with_a_widget_gets_a_known_kind():
    for name, spec in FIELDS.items():
        kind = widget_kind(name)
        assert kind in WIDGET_KINDS, name
        if spec.per_stage or spec.stages:
            assert kind == "text", name
    assert widget_kind("repeats") == "text" and widget_kind("split_ratio") == "float"
    assert widget_kind("input_size") == "int" and widget_kind("fusion") == "choice"
    assert knob_key("growth_rate") == "knob_growth_rate"


def test_shown_fields_are_the_family_s_fields_of_the_group_in_declaration_order():
    order = list(FIELDS)
    for family in ("densenet", "resnet", "yolo11", "darknet_cfg"):
        for group in ("main", "advanced"):
            names = shown_fields(family, group)
            assert names == sorted(names, key=order.index)
            assert all(FIELDS[n].group == group and FIELDS[n].reads(family) for n in names)
    assert "growth_rate" in shown_fields("densenet", "main") and "growth_rate" not in shown_fields("resnet", "main")


@pytest.mark.parametrize("name", ["cspdensenet121", "cspresnext50", "csppeleenet", "yolo11n_cls", "cspdarknet53",
                                  "yolov7_backbone"])
def test_a_widget_filled_from_the_design_gives_the_same_design_back(name):
    """What a form shows (widget_value) typed back (widget_text -> apply_edits) changes nothing, field by field."""
    cfg = get_preset(name)
    for group in ("main", "advanced"):
        for field in shown_fields(cfg.family, group):
            value = widget_value(cfg, field)
            kind = widget_kind(field)
            assert isinstance(value, {"int": int, "float": float, "text": str}.get(kind, object)), (field, value)
            out = apply_edits(cfg, {field: widget_text(field, value)}, latest=field)
            assert not out.errors and not out.pending and out.cfg == cfg, (name, field, out.errors)


def test_widget_text_and_widget_input():
    assert widget_text("verify", True) == "true" and widget_text("verify", False) == "false"
    assert widget_text("split_ratio", 0.1 + 0.2) == "0.3"                    # no float noise
    assert widget_text("repeats", None) == "" and widget_text("repeats", "6,12") == "6,12"
    assert widget_input("input_size", "224") == 224 and isinstance(widget_input("input_size", 224.0), int)
    assert widget_input("split_ratio", "0.25") == 0.25
    assert widget_input("repeats", "6,12,24,16") == "6,12,24,16"


# --------------------------------------------------------------------------- opening a file
def test_a_config_json_opens_as_the_same_design():
    cfg = get_preset("cspresnet50")
    assert design_from_file("mine.json", cfg.to_json().encode("utf-8")) == cfg


def test_a_darknet_cfg_and_an_ultralytics_yaml_open_as_designs():
    from explorer.io.darknet_export import cfg_from_config
    from explorer.io.ultralytics import yaml_from_config

    dk = design_from_file("nets/cspdarknet53.cfg", cfg_from_config(get_preset("cspdarknet53")).encode("utf-8"))
    assert dk.family == "darknet_cfg" and dk.name == "cspdarknet53"
    y = get_preset("yolo11n_cls")
    got = design_from_file("y11.YAML", yaml_from_config(y).encode("utf-8"))
    assert got.family == "yolo11" and summarize(got)["params"] == summarize(y)["params"]


@pytest.mark.parametrize("name,data,size,field", [
    ("big.cfg", b"", MAX_UPLOAD_BYTES + 1, "network"),
    ("big.json", b"x" * (MAX_FILE_BYTES + 1), None, "network"),     # a design JSON may carry a 256 KiB network
    ("model.pt", b"\x80\x02", None, "file"),
    ("model.yaml", b"\xff\xfe", None, "yaml"),
])
def test_a_file_that_cannot_open_names_the_field(name, data, size, field):
    with pytest.raises(ConfigError) as exc:
        design_from_file(name, data, size=size)
    assert exc.value.field == field


# --------------------------------------------------------------------------- the stage table's views
@pytest.mark.parametrize("key", list(REGISTRY))
def test_counts_view_puts_the_share_after_the_convention_s_column(key):
    rows = stage_table(summarize(get_preset("cspresnet50")), key)
    df, blocks = stage_view(rows, "counts", key)
    cols = list(df.columns)
    assert cols[cols.index(REGISTRY[key].label) + 1] == SHARE_COLUMN
    assert cols[:3] == ["stage", "fusion", "repeats"] and "stage output" in cols and blocks == []
    assert "part 1 (bypass)" not in cols                               # shapes other than the output: other view
    assert df[REGISTRY[key].label].sum() == summarize(get_preset("cspresnet50"))["conventions"][key]["value"]


def test_shapes_view_and_blank_columns():
    s = summarize(get_preset("yolo11n_cls"))
    rows = stage_table(s, "macs")
    df, blocks = stage_view(rows, "shapes")
    cols = list(df.columns)
    assert cols[:2] == ["stage", BLOCK_COLUMN] and "part 1 (bypass)" in cols and "params" not in cols
    assert blocks == [r[BLOCK_COLUMN] for r in rows]
    assert all(not (df[c].astype(str) == "").all() for c in cols)       # a column blank on every row is dropped
    plain = stage_table(summarize(get_preset("resnet50")), "macs")
    df, _ = stage_view(plain, "shapes")
    assert "part 1 (bypass)" not in df.columns                           # a plain network has no CSP taps
    assert set(STAGE_VIEWS) == {"counts", "shapes"}
    with pytest.raises(ConfigError, match="view"):
        stage_view(rows, "bars")


def test_blocks_caption_joins_runs_of_equal_stages():
    stages = ["stem", "stages.0", "stages.1", "stages.2", "stages.3", "head"]
    blocks = ["", "c3k (all taps)", "c3k (all taps)", "psa (last tap)", "c3k (all taps)", ""]
    text = blocks_caption(stages, blocks)
    assert "stages.0-1 c3k (all taps); stages.2 psa (last tap); stages.3 c3k (all taps)." in text


def test_delta_tone_and_field_text():
    assert [delta_tone(x) for x in (None, 0.0, 0.04, -0.04, -0.05, -3.0, 0.05, 12.0)] == [
        "gray", "gray", "gray", "gray", "green", "green", "red", "red"]
    assert field_text({"repeats": [3, 4, 6, 3]}, "repeats") == "3-4-6-3"
    assert field_text({"repeats": (2, 2, 2)}, "repeats") == "2" and field_text({"fusion": "csp"}, "fusion") == "csp"


# --------------------------------------------------------------------------- comparison sentences
def test_why_the_paper_base_and_the_twin_differ():
    cfg = get_preset("cspresnet50")
    text = why_they_differ(cfg, compare_with_base(cfg, paper_base("cspresnet50")), "cspresnet50")
    assert text.startswith("They differ because the twin keeps cspresnet50's own knobs (repeats 3-3-5-2")
    assert "resnet50 that cspresnet50 replaces (repeats 3-4-6-3" in text
    cfg = get_preset("cspdensenet121")
    assert why_they_differ(cfg, compare_with_base(cfg, "densenet121"), "cspdensenet121").startswith(
        "Here the plain twin *is* densenet121")


def test_no_base_text_says_why_only_the_twin_is_compared():
    assert "No published plain counterpart" in no_base_text(get_preset("yolo11n_cls"), "yolo11n_cls")
    assert no_base_text(get_preset("resnet50"), "resnet50") == ""          # plain: nothing to say
    assert no_base_text(get_preset("cspresnet50"), None) == ""             # not started from a preset
    csp_without_base = [n for n in all_presets() if get_preset(n).is_csp and paper_base(n) is None
                        and not FIELDS["taps"].reads(get_preset(n).family)]
    assert csp_without_base
    for n in csp_without_base:
        assert no_base_text(get_preset(n), n).startswith("**No paper base**"), n
