"""The published COCO detection rows a preset builds, reproduced in each row's own convention (Ultralytics'
get_flops on the fused model at a stride-32 probe, scaled to 640), the rows without a preset saying so, and
``python -m explorer reproduce`` carrying them.

Published values are read from the data set (``explorer/paper/data/published_detection.csv``, a copy of
``../shared/reference/published_detection.csv``); the unfused YAML-comment figures from tests/detection_reference."""
from __future__ import annotations

import json

import pytest

from cspnet import get_preset, plan_network
from explorer.cli import main
from explorer.counts.analysis import has_detection_head
from explorer.paper.detection import MAPPED_PRESETS, PRESET_MAP, load_detection
from explorer.paper.reproduce import (
    DETECTION_COUNTS,
    Profiled,
    detection_probe,
    profiled_count,
    reproduce_detection,
    reproduce_detection_table,
)
from tests.detection_reference import DETECTION

DETECTOR_PRESETS = [f"yolov5{k}u" for k in "nsmlx"] + [f"yolov8{k}" for k in "nsmlx"] + [f"yolo11{k}" for k in "nsmlx"]
# the file-backed presets (yolo_yaml, darknet_cfg) and their rows' conventions
FILE_PRESETS = {**{f"yolov5{k}": "yolov5" for k in "nsmlx"}, "yolov7": "yolov7", "yolov4_csp": "darknet",
                "cspresnext50_panet_spp": "darknet"}
ULTRALYTICS_ROWS = [m for m, (p, _) in PRESET_MAP.items() if p in DETECTOR_PRESETS]


@pytest.fixture(scope="module")
def records():
    return {r["model"]: r for r in reproduce_detection()}


def test_every_detector_preset_has_its_published_row():
    df = load_detection()
    assert MAPPED_PRESETS == set(DETECTOR_PRESETS) | set(FILE_PRESETS)
    for model, (preset, _) in PRESET_MAP.items():
        rows = df[df["model"] == model]
        assert len(rows) >= 1 and set(rows["preset"]) == {preset}
        assert has_detection_head(get_preset(preset))
        assert len(rows) == 1 or preset not in DETECTOR_PRESETS   # (YOLOv4-CSP at 512 and 640; YOLOv7 twice)


def test_rows_without_a_preset_say_so(records):
    df = load_detection()
    every = reproduce_detection()
    assert [r["model"] for r in every] == df["model"].tolist()      # one record per row, built or not
    unbuilt = [r for r in every if r["preset"] is None]
    assert len(unbuilt) == len(df) - df["model"].isin(list(PRESET_MAP)).sum()
    assert all(r["reason"].startswith("not reproduced: ") and r["preset_note"] for r in unbuilt)
    assert "yolov5s6.yaml" in records["YOLOv5s6"]["reason"] and "yolov10n.yaml" in records["YOLOv10-N"]["reason"]
    assert "compute_tool" not in records["RTMDet-s"]


@pytest.mark.parametrize("model", ULTRALYTICS_ROWS)
def test_each_row_rounds_to_its_printed_digits(records, model):
    r = records[model]
    assert r["dataset"] == "coco" and r["res"] == 640
    assert r["row_convention"] == "ultralytics_fused" and r["convention"] == DETECTION_COUNTS["ultralytics_fused"][0]
    assert r["compute_rounds_to_published"], (r["compute_tool"], r["compute_published"])
    assert r["params_rounds_to_published"], (r["params_tool_same_convention"], r["params_published_M"])
    assert abs(r["compute_diff_pct"]) < 0.6 and r["counted_on"].startswith("the fused model")
    assert "32x32, times (640/32)^2 = 400" in r["counted_on"]
    assert r["params_tool_same_convention"] < r["params_tool"]      # fused: each BN's 2C go, C of bias come
    assert r["reason"] and f"{r['ap_published']:.1f}" in r["reason"]


def test_the_unfused_alternative_is_the_yaml_comment(records):
    """The same recipe on the model as built gives the YAML comments' GFLOPs (tests/detection_reference)."""
    for model, (_, _, params, gflops, _) in DETECTION.items():
        if model not in records:
            continue
        r = records[model]
        alt = next(a for a in r["alternatives"] if a["counted_on"].startswith("the model as built")
                   and "32x32" in a["counted_on"])
        assert f"{alt['value']:.1f}" == gflops, model
        assert r["params_tool"] == params


def test_the_probe_matters_for_yolo11_only(records):
    """YOLO11's attention grows with the square of the positions: counted at 640 directly the fused model does
    not round to the docs for s, m and l; YOLOv8's count is the same either way."""
    real = Profiled(fused=True).describe(640)
    for k in "sml":
        r = records[f"YOLO11{k}"]
        at_640 = next(a["value"] for a in r["alternatives"] if a["counted_on"] == real)
        assert at_640 > r["compute_tool"]
        assert f"{at_640:.1f}" != f"{r['compute_published']:.1f}"
        assert "matrix products" in r["reason"]
    r = records["YOLOv8s"]
    assert next(a["value"] for a in r["alternatives"] if a["counted_on"] == real) == pytest.approx(r["compute_tool"])
    assert "matrix products" not in r["reason"]


def test_probe_is_the_coarsest_stride(records):
    assert detection_probe(plan_network(get_preset("yolov8n"))) == 32
    assert detection_probe(plan_network(get_preset("yolo11n", input_size=320))) == 32
    assert records["YOLOv8n"]["probe"] == 32
    # the probe's count, scaled by (640/32)^2, is the record's
    v = profiled_count("yolov8n", 32, "ultralytics", Profiled(fused=True)) * 400 / 1e9
    assert v == pytest.approx(records["YOLOv8n"]["compute_tool"])


def test_the_file_backed_presets_reproduce_their_rows_in_each_rows_convention():
    """YOLOv4-CSP and CSPResNeXt50-PANet-SPP in Darknet's BFLOPs at the row's own size (no probe), every one
    rounding to its printed digits; YOLOv5's README table in YOLOv5's model_info of the fused model (n and m round;
    s, l and x were printed by an older thop, said in the reason); YOLOv7's row counts its deploy model (the
    preset is the training form: a little higher, said in the reason)."""
    every = [r for r in reproduce_detection() if r["preset"] in FILE_PRESETS and r["compute_published"] is not None]
    assert {r["preset"] for r in every} == set(FILE_PRESETS)
    for r in every:
        assert r["convention"] == DETECTION_COUNTS[r["row_convention"]][0], r["model"]
        if r["row_convention"] in ("darknet", "darknet_style"):
            assert r["compute_rounds_to_published"], (r["model"], r["compute_tool"], r["compute_published"])
            assert r["counted_on"] == Profiled().describe(r["res"])   # the cfg as built, at its size: no probe
    by = {(r["model"], r["res"]): r for r in every}
    assert by[("YOLOv4-CSP", 512)]["compute_tool"] == pytest.approx(76.989, abs=5e-4)
    assert by[("YOLOv4-CSP", 640)]["compute_tool"] == pytest.approx(120.296, abs=5e-4)
    assert by[("CSPResNeXt50-PANet-SPP (PyTorch, from scratch)", 608)]["compute_tool"] == pytest.approx(100.588,
                                                                                                       abs=5e-4)
    v5 = {m: by[(m, 640)] for m in ("YOLOv5n", "YOLOv5s", "YOLOv5m")}
    assert v5["YOLOv5n"]["compute_rounds_to_published"] and v5["YOLOv5m"]["compute_rounds_to_published"]
    assert f"{v5['YOLOv5s']['compute_tool']:.1f}" == "16.4" and "older thop" in v5["YOLOv5s"]["reason"]
    assert all(r["params_rounds_to_published"] for r in v5.values())
    v7 = by[("YOLOv7", 640)]
    assert 0 < v7["compute_diff_pct"] < 2 and "deploy model" in v7["reason"]
    assert next(r for r in reproduce_detection() if r["model"] == "YOLOv7" and r["compute_published"] is None
                )["reason"].endswith("publishes no compute to reproduce")


def test_table_rows_are_flat():
    rows = reproduce_detection_table()
    built = [r for r in rows if r["preset"]]
    assert len(built) == load_detection()["model"].isin(list(PRESET_MAP)).sum()
    assert {"model", "preset", "AP published", "compute published", "compute tool", "compute diff %",
            "convention", "reason"} <= set(built[0])
    assert all(r["compute tool"] is None for r in rows if not r["preset"])


def test_cli_reproduce_includes_detection(capsys):
    assert main(["reproduce", "--json"]) in (0, None)
    recs = json.loads(capsys.readouterr().out)
    coco = {r["model"]: r for r in recs if r.get("dataset") == "coco"}
    assert coco["YOLO11n"]["compute_rounds_to_published"] and coco["YOLO11n"]["preset"] == "yolo11n"
    assert coco["YOLOv5s"]["preset"] == "yolov5s" and coco["YOLOv5x6"]["preset"] is None
    assert any(r.get("dataset") != "coco" for r in recs)          # the ImageNet records are still there
    assert main(["reproduce"]) in (0, None)
    out = capsys.readouterr().out
    assert "COCO detection rows a preset builds" in out and "YOLOv8x" in out
    assert "COCO detection rows no preset builds" in out and "YOLOX-s" in out
    assert main(["reproduce", "--csv"]) in (0, None)
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].startswith("dataset,") and any(x.startswith("coco,YOLOv8n,") for x in lines)


# --------------------------------------------------------------------------- the Paper page
def test_paper_page_shows_the_detection_rows(records):
    from pathlib import Path

    from streamlit.testing.v1 import AppTest

    at = AppTest.from_file(str(Path(__file__).resolve().parent.parent / "app.py"), default_timeout=90).run()
    at.switch_page("pages/Paper.py").run()
    assert not at.exception and not at.error, [e.value for e in [*at.exception, *at.error]]
    assert "COCO detection rows" in [h.value for h in at.header]
    table = next(d.value for d in at.dataframe if "at the real size" in d.value.columns)
    shown = [r for r in reproduce_detection() if r["preset"] and r["compute_published"] is not None]
    assert table["model"].tolist() == [r["model"] for r in shown] and len(shown) == 26
    assert table.loc[table["model"].isin(ULTRALYTICS_ROWS), "rounds to published"].all()
    assert table["compute tool"].tolist() == pytest.approx([r["compute_tool"] for r in shown])
    unbuilt = next(d.value for d in at.dataframe if "why not reproduced" in d.value.columns)
    assert unbuilt["rows"].sum() == len(load_detection()) - load_detection()["model"].isin(list(PRESET_MAP)).sum()
    assert any("26 rows a preset builds; params and compute round to the printed digits in 22" in c.value
               for c in at.caption)
