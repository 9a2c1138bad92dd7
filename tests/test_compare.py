"""explorer.compare and ``python -m explorer compare``: designs side by side, aligned stages, what changed."""
from __future__ import annotations

import csv
import io
import json

import pytest

from cspnet import ConfigError, get_preset, plan_network
from explorer.cli import main
from explorer.compare import (
    NO_TWIN_DETECTOR,
    NOT_MEASURED,
    compare,
    field_changes,
    highlight_dot,
    resolve,
    stage_table_rows,
    what_changed,
)
from explorer.counts.analysis import compare_with_twin, summarize
from explorer.counts.conventions import REGISTRY, count
from explorer.counts.diagram import to_dot
from explorer.design.text import from_query
from explorer.fmt import json_safe
from explorer.io.ultralytics_det import detector_from_yaml, summarize_detector
from test_ultralytics_detect import V8, Y11

# stage 2 of yolov5s_cls: 9 dark blocks (3 at depth 0.33) -> 6 bottleneck_3x3 blocks (2)
V5_CHANGED = "?preset=yolov5s_cls&repeats=3,6,6,3&block_type=dark,dark,bottleneck_3x3,dark"


def _row(result, key):
    return next(r for r in result["rows"] if r["key"] == key)


@pytest.fixture(scope="module")
def detectors(tmp_path_factory):
    d = tmp_path_factory.mktemp("det")
    (d / "yolov8n.yaml").write_text(V8)
    (d / "yolo11n.yaml").write_text(Y11)
    return str(d / "yolov8n.yaml"), str(d / "yolo11n.yaml")


def test_totals_are_the_summaries_in_every_convention_with_deltas_and_verdicts():
    r = compare(["yolov8n_cls", "yolo11n_cls", "cspresnet50"])
    sums = [summarize(get_preset(n)) for n in ("yolov8n_cls", "yolo11n_cls", "cspresnet50")]
    for k, conv in REGISTRY.items():
        row = _row(r, f"conventions.{k}")
        assert row["convention"] == k and row["unit"] == conv.unit and row["label"] == conv.label
        assert [c["value"] for c in row["cells"]] == [s["conventions"][k]["value"] for s in sums]
    macs = _row(r, "conventions.macs")
    assert macs["better"] == "lower"
    a, b, c = (cell["value"] for cell in macs["cells"])
    assert [cell["verdict"] for cell in macs["cells"]] == ["baseline", "better" if b < a else "worse",
                                                             "better" if c < a else "worse"]
    assert macs["cells"][2]["delta"] == c - a
    assert macs["cells"][2]["delta_pct"] == pytest.approx(100.0 * (c - a) / a)
    params = _row(r, "params")
    assert [cell["value"] for cell in params["cells"]] == [s["params"] for s in sums]
    # the parts add up to the totals in every convention
    for i, s in enumerate(sums):
        for k in REGISTRY:
            parts = [row["cells"][i]["value"] for row in r["rows"]
                     if row["section"] == "parts" and row["convention"] == k and row["cells"][i]["value"] is not None]
            assert sum(parts) == s["conventions"][k]["value"]
    json.dumps(json_safe(r), allow_nan=False)


def test_stages_align_by_part_and_resolution_not_by_index():
    r = compare(["yolov8n_cls", "yolo11n_cls"])
    by = {s["label"]: s for s in r["stages"]}
    # yolo11n_cls has a fifth stage at stride 32 (the PSA stage): a slot of its own, beside nothing
    psa = by["backbone · stride 32 · #2"]
    assert psa["cells"][0]["value"] is None and "no stage" in psa["cells"][0]["why"]
    assert psa["cells"][1]["stage"] == "stages.4" and psa["differs"]
    assert [s["cells"][0].get("stage") for s in r["stages"]] == ["stem", "stages.0", "stages.1", "stages.2",
                                                                  "stages.3", None, "head"]
    s16 = by["backbone · stride 16 · #1"]["cells"]
    assert (s16[0]["what"], s16[1]["what"]) == ("bottleneck_3x3 x2, fusion_first", "c3k x1, fusion_first")
    # against a plain preset at 256 px: cspresnet50's stem sits at stride 4, beside yolov8n_cls' stages.0
    r2 = compare(["yolov8n_cls", "cspresnet50"])
    s4 = next(s for s in r2["stages"] if s["label"] == "backbone · stride 4 · #1")
    assert [c["stage"] for c in s4["cells"]] == ["stages.0", "stem"]
    taps = stage_table_rows(r2, taps=True)
    assert taps[1]["cspresnet50 taps"] == "output 64x64x64"
    assert "part1 16x56x56" in taps[1]["yolov8n_cls taps"]
    rows = stage_table_rows(r2, "flops")
    assert sum(row["cspresnet50 FLOP"] or 0 for row in rows) == count(plan_network(get_preset("cspresnet50")), "flops")


def test_detectors_compare_and_cells_say_why(detectors):
    v8, y11 = detectors
    r = compare([v8, y11, "yolov8n_cls"])
    assert [s["kind"] for s in r["subjects"]] == ["design", "design", "design"]   # a YAML opens as a yolo_yaml design
    det = summarize_detector(detector_from_yaml(V8, "yolov8n.yaml"))
    assert _row(r, "conventions.ultralytics")["cells"][0]["value"] == det["conventions"]["ultralytics"]["value"]
    twin = _row(r, "twin_macs_pct")["cells"]   # each file against its plain twin: yolov8n's is the design's
    assert twin[0]["value"] == pytest.approx(compare_with_twin(get_preset("yolov8n"))["deltas"]["macs"]["delta_pct"])
    assert all(c["value"] < 0 for c in twin)
    planned = compare([detector_from_yaml(V8, "yolov8n.yaml"), "yolov8n_cls"])   # a planned detector: no twin
    assert _row(planned, "twin_macs_pct")["cells"][0]["why"] == NO_TWIN_DETECTOR
    neck = _row(r, "parts.neck.macs")["cells"]
    assert neck[0]["value"] > 0 and neck[2]["value"] is None and "no neck" in neck[2]["why"]
    lat = _row(r, "latency.median_ms")["cells"]
    assert all(c["value"] is None and c["why"] == NOT_MEASURED for c in lat)
    assert all(c["value"] > 0 for c in _row(r, "roofline.bound_ms")["cells"])
    # two files: their layers are compared, and the stage shares add up to the whole difference
    wc = r["what_changed"][0]
    assert [c["field"] for c in wc["fields"]] == ["network"] and "set" not in wc["fields"][0]
    steps = wc["walk"]["steps"]
    assert [s["changes"] for s in steps] == [[wc["fields"][0]["text"]]] and not steps[0]["why"]
    assert any("C2f" in d["text"] and "C3k2" in d["text"] for d in wc["stages"])
    psa = next(d for d in wc["stages"] if d["a"] is None)    # YOLO11's C2PSA: nothing beside it in YOLOv8
    assert psa["b"]["what"] == "C2PSA" and psa["b"]["layers"]["matmul"] == 2 and "matmul 0 -> 2" in psa["text"]
    assert sum(d["macs_share"] for d in wc["stages"]) == pytest.approx(1.0)
    json.dumps(json_safe(r), allow_nan=False)


def test_measured_latency_only_where_given():
    rec = {"results": [{"batch": 1, "median_ms": 2.5}, {"batch": 8, "median_ms": 9.0}], "note": "measured on cpu"}
    r = compare(["yolov8n_cls", "yolo11n_cls"], measured=[rec, None])
    cells = _row(r, "latency.median_ms")["cells"]
    assert cells[0]["value"] == 2.5 and cells[1]["value"] is None and cells[1]["why"] == NOT_MEASURED
    r8 = compare(["yolov8n_cls", "yolo11n_cls"], measured=[rec, rec], batch=8)
    assert [c["value"] for c in _row(r8, "latency.median_ms")["cells"]] == [9.0, 9.0]
    assert _row(r8, "latency.median_ms")["cells"][1]["verdict"] == "same"
    r4 = compare(["yolov8n_cls", "yolo11n_cls"], measured=[rec, None], batch=4)
    assert "not at batch 4" in _row(r4, "latency.median_ms")["cells"][0]["why"]


def test_field_changes_per_stage_and_the_walk_adds_up():
    a, b = get_preset("yolov5s_cls"), from_query({"preset": "yolov5s_cls", "repeats": "3,6,6,3",
                                                  "block_type": "dark,dark,bottleneck_3x3,dark"})[0]
    texts = [c["text"] for c in field_changes(a, b)]
    assert texts == ["stages.2 repeats 9 -> 6", "stages.2 block_type dark -> bottleneck_3x3"]
    wc = what_changed("yolov5s_cls", V5_CHANGED)
    walk = wc["walk"]
    assert [s["changes"] for s in walk["steps"]] == [[t] for t in texts] and walk["separable"]
    assert walk["steps"][-1]["macs"] == count(plan_network(b), "macs")
    assert walk["total"]["macs"] == count(plan_network(b), "macs") - count(plan_network(a), "macs")
    assert sum(s["macs_share"] for s in walk["steps"]) == pytest.approx(1.0)
    assert sum(s["time_share"] for s in walk["steps"]) == pytest.approx(1.0)
    assert walk["steps"][0]["macs_delta"] < 0 < walk["steps"][1]["macs_delta"]


def test_a_change_invalid_alone_is_grouped_with_the_next_and_says_why():
    wc = what_changed("yolov8n_cls", "yolo11n_cls")
    steps = wc["walk"]["steps"]
    assert steps[0]["changes"] == ["family yolov8 -> yolo11"]
    grouped = [s for s in steps if s["grouped"]]
    assert grouped and grouped[0]["changes"][0].startswith("repeats ") and "widths" in grouped[0]["why"]
    assert len(grouped[0]["changes"]) == 2 and not wc["walk"]["separable"]
    assert steps[-1]["macs"] == count(plan_network(get_preset("yolo11n_cls")), "macs")
    assert sum(s["macs_share"] for s in steps) == pytest.approx(1.0)


def test_subjects_from_links_json_and_files(tmp_path, detectors):
    s = resolve("?preset=yolov8n_cls&width_multiple=0.5")
    assert s.cfg == get_preset("yolov8n_cls").replace(width_multiple=0.5, name=s.cfg.name)
    assert s.label == "yolov8n_cls + width_multiple=0.5"
    assert resolve(s.link).cfg == s.cfg          # the link names the same design
    assert resolve("http://host/Compare?preset=yolov5s_cls&cmp1=x&l_step=2").cfg == get_preset("yolov5s_cls")
    path = tmp_path / "d.json"
    path.write_text(get_preset("yolo11n_cls").to_json())
    assert resolve(str(path)).cfg == get_preset("yolo11n_cls")
    assert resolve(get_preset("yolo11n_cls").to_json()).cfg == get_preset("yolo11n_cls")
    assert resolve(detectors[0], input_size=320).cfg.input_size == 320
    assert resolve("yolov8n_cls", input_size=256).cfg.input_size == 256
    same = resolve("yolov8n_cls")
    r = compare([same, same])
    assert [x["label"] for x in r["subjects"]] == ["yolov8n_cls", "yolov8n_cls (2)"]
    assert same.label == "yolov8n_cls"       # the caller's subject is not relabelled
    assert r["what_changed"][0]["fields"] == [] and r["what_changed"][0]["stages"] == []


@pytest.mark.parametrize("subjects, field", [
    (["yolov8n_cls"], "subjects"),
    (["yolov8n_cls"] * 5, "subjects"),
    (["yolov8n_cls", "nosuch"], "subject 2"),
    (["yolov8n_cls", "?preset=yolov8n_cls&repeats=0"], "subject 2"),
    (["yolov8n_cls", "?preset=nosuch"], "subject 2"),
    (["yolov8n_cls", "yolo11n_cls", {"device": "tpu"}], "device"),
    (["yolov8n_cls", "yolo11n_cls", {"batch": 0}], "batch"),
    (["yolov8n_cls", "yolo11n_cls", {"dtype": "int8"}], "dtype"),
])
def test_bad_subjects_name_the_subject(subjects, field):
    options = subjects[-1] if isinstance(subjects[-1], dict) else {}
    with pytest.raises(ConfigError) as exc:
        compare([s for s in subjects if not isinstance(s, dict)], **options)
    assert exc.value.field == field


def test_highlight_dot_outlines_the_named_stages_only():
    cfg = get_preset("yolo11n_cls")
    dot = to_dot(cfg)
    out = highlight_dot(dot, plan_network(cfg), ["stages.4"])
    assert out.count('color="#d62728"') == 1 and out != dot
    assert "subgraph cluster_s4 {" in out and out.split("subgraph cluster_s4 {")[1].split("\n")[1].count("#d62728")


def test_cli_compare_json_csv_table_and_errors(capsys, detectors):
    assert main(["compare", "yolov5s_cls", V5_CHANGED, "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["what_changed"][0]["walk"]["steps"][0]["changes"] == ["stages.2 repeats 9 -> 6"]
    assert out["device"]["key"] == "h100"
    assert main(["compare", "yolov8n_cls", detectors[1], "--csv", "--device", "a100"]) == 0
    rows = list(csv.DictReader(io.StringIO(capsys.readouterr().out)))
    macs = next(r for r in rows if r["convention"] == "macs" and r["section"] == "totals")
    assert int(macs["yolov8n_cls"]) == count(plan_network(get_preset("yolov8n_cls")), "macs")
    assert main(["compare", "yolov8n_cls", "yolo11n_cls"]) == 0
    text = capsys.readouterr().out
    assert "what changed from yolov8n_cls to yolo11n_cls" in text and "grouped" in text
    for argv, word in ((["compare", "yolov8n_cls"], "designs"), (["compare", "yolov8n_cls", "nosuch"], "subject 2"),
                       (["compare", "yolov8n_cls", "yolo11n_cls", "--device", "tpu"], "device"),
                       (["compare", "yolov8n_cls", "yolo11n_cls", "--batch", "0"], "batch")):
        assert main(argv) == 2
        err = capsys.readouterr().err
        assert err.count("\n") == 1 and err.startswith("error: ") and word in err


def test_page_tables_name_columns_by_letter_and_colour_verdicts():
    from app_ui.compare_figures import TONE, rows_frame, stages_frame

    r = compare(["yolov8n_cls", "yolo11n_cls"])
    styler, notes, n = rows_frame(r, ("totals", "roofline", "latency"))
    df = styler.data
    assert list(df.columns[:4]) == ["quantity", "unit", "A", "B"] and "B vs A" in df.columns
    assert n == len(df) == sum(row["section"] in ("totals", "roofline", "latency") for row in r["rows"])
    macs = df[df["quantity"] == REGISTRY["macs"].label].iloc[0]
    assert macs["B vs A"].endswith("better")      # yolo11n_cls has fewer MACs than yolov8n_cls
    html = styler.to_html()
    assert TONE["better"].split(";")[0] in html and TONE["worse"].split(";")[0] in html
    assert any("not measured" in note for note in notes)
    stages, m = stages_frame(r, "macs")
    assert m == len(r["stages"]) and {"A", "A MAC", "B", "B MAC", "B Δ%"} <= set(stages.data.columns)
