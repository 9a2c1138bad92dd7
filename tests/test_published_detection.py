"""The published COCO detection data set (explorer/paper/data/published_detection.csv), its loader and checks,
and `explorer published --detection`."""
from __future__ import annotations

import json
from io import StringIO
from pathlib import Path

import pandas as pd
import pytest

from explorer.cli import main
from explorer.paper import detection as det
from explorer.paper.detection import (
    AP_SPLITS,
    CONVENTIONS,
    NO_COMPUTE,
    SCALES,
    ap_split,
    convention_of,
    detection_csv,
    detection_families,
    detection_records,
    filter_detection,
    load_detection,
    parse_ap,
    parse_compute,
    plottable_detection,
    source_repo,
)

# the vetted reference copy, next to the project: <project>/../shared/reference/
REFERENCE_DIR = Path(__file__).resolve().parents[1].parent / "shared" / "reference"
N_ROWS = 119
# the detector lines the issue names, each present with plotted rows
NAMED_SERIES = ("CSPNet", "YOLOv4", "Scaled-YOLOv4", "YOLOv5", "YOLOv7", "YOLOv8", "YOLO11", "RTMDet", "YOLOX")


@pytest.fixture(scope="module")
def df():
    return load_detection()


def _row(df, model, size=None, split=None):
    rows = df[df["model"] == model]
    if size is not None:
        rows = rows[rows["input_size"] == size]
    if split is not None:
        rows = rows[rows["ap_split"] == split]
    assert len(rows) == 1, (model, len(rows))
    return rows.iloc[0]


# ----------------------------------------------------------------------------- the shipped copy
@pytest.mark.parametrize("name", ["published_detection.csv", "published_detection.md"])
def test_shipped_copy_is_the_vetted_reference(name):
    ref = REFERENCE_DIR / name
    if not REFERENCE_DIR.is_dir():
        pytest.skip(f"the shared reference folder {REFERENCE_DIR} is not next to the project")
    assert ref.is_file(), f"{ref} is missing from the shared reference folder"
    assert (det.DATA_PATH.parent / name).read_bytes() == ref.read_bytes(), f"{name} differs from {ref}"


def test_the_loader_never_reads_the_shared_folder():
    text = Path(det.__file__).read_text()
    assert "shared" not in text.replace("../shared/reference/published_detection.csv", "")
    assert det.DATA_PATH.is_file() and det.NOTES_PATH.is_file()
    assert det.DATA_PATH.parent == Path(det.__file__).parent / "data"


# ----------------------------------------------------------------------------- shape and checks
def test_shape_columns_and_types(df):
    assert len(df) == N_ROWS
    assert tuple(df.columns[:len(det.COLUMNS)]) == det.COLUMNS
    for col in ("compute", "ap", "ap50_pct", "params_m"):
        assert df[col].dtype == "float64", col
    for col in ("year", "input_size", "compute_res"):
        assert df[col].dtype == "int64", col
    assert df["is_csp"].dtype == bool and df["one_point"].dtype == bool


def test_every_row_has_source_convention_unit_resolution_and_ap_definition(df):
    assert (df["source_title"].str.strip() != "").all()
    assert df["source_url"].str.startswith("https://").all()
    assert (df["source_repo"] != "").all()
    assert set(df["convention"]) <= set(CONVENTIONS) | {NO_COMPUTE}
    has = df["compute"].notna()
    assert (df.loc[has, "flops_unit"].str.strip() != "").all()
    assert (df.loc[has, "convention"] != NO_COMPUTE).all() and (df.loc[~has, "convention"] == NO_COMPUTE).all()
    for _, r in df[has].iterrows():  # each unit is one its convention is printed in
        assert r["flops_unit"] in CONVENTIONS[r["convention"]].units, r["model"]
        assert r["scale"] in SCALES
    assert (df["input_size"] > 0).all()
    assert (df["ap"].notna() | df["ap50_pct"].notna()).all()
    assert set(df["ap_split"]) == set(AP_SPLITS)
    assert df["ap_definition"].str.startswith("COCO box AP").all()
    assert (df.loc[~has, "plot_note"].str.startswith("no compute published")
            | df.loc[~has, "plot_note"].str.startswith("only AP50")).all()


def test_convention_counts(df):
    counts = df["convention"].value_counts().to_dict()
    assert counts == {NO_COMPUTE: 31, "darknet_style": 16, "ultralytics_fused": 15, "darknet": 14, "yolov5": 10,
                      "paddle": 8, "yolov7": 7, "yolox": 7, "thu_mig": 6, "mmengine": 5}


@pytest.mark.parametrize("model,size,split,ap,compute,unit,conv,scale", [
    ("YOLOv8n", 640, "val2017", 37.3, 8.7, "GFLOPs (docs: 'B')", "ultralytics_fused", "flops"),
    ("YOLO11x", 640, "val2017", 54.7, 194.9, "GFLOPs (docs: 'B')", "ultralytics_fused", "flops"),
    ("YOLOv5s", 640, "val2017", 37.4, 16.5, "GFLOPs (README: 'B')", "yolov5", "flops"),
    ("YOLOv7", 640, "test-dev", 51.4, 104.7, "GFLOPs (G)", "yolov7", "flops"),
    ("RTMDet-tiny", 640, "val2017", 41.1, 8.1, "GFLOPs as labelled 'FLOPS(G)' (actually GMACs)", "mmengine", "macs"),
    ("YOLOX-Nano", 416, "val2017", 25.8, 1.08, "GFLOPs (G)", "yolox", "flops"),
    ("YOLOv4 (CSPDarknet53-PANet-SPP)", 608, "test-dev", 43.5, 128.5, "BFLOPs", "darknet", "flops"),
    ("CSPResNeXt50-PANet-SPP (early weights)", 512, "not stated", 38.0, 71.3, "BFLOPs", "darknet", "flops"),
    ("PP-YOLOE+_x", 640, "val2017", 54.7, 206.59, "GFLOPs (G)", "paddle", "unstated"),
    ("YOLOv10-N", 640, "val2017", 38.5, 6.7, "GFLOPs (G)", "thu_mig", "flops"),
])
def test_rows_as_published(df, model, size, split, ap, compute, unit, conv, scale):
    r = _row(df, model, size, split)
    assert r["ap"] == ap and r["compute"] == compute and r["flops_unit"] == unit
    assert r["convention"] == conv and r["scale"] == scale and r["plot_note"] == ""


def test_fma_text_cocoeval_fractions_and_other_resolution_rows(df):
    r = _row(df, "YOLOv4-CSP", 640)
    assert r["flops_value"] == "120 (60 FMA)" and r["compute"] == 120.0  # printed text kept, number parsed
    frac = _row(df, "YOLOv4-CSP (PyTorch)")
    assert frac["ap50_95"] == "0.48656" and frac["ap"] == 48.656 and frac["ap50_pct"] == 67.002
    assert frac["ap_scale"] == "COCOeval fraction x 100"
    assert _row(df, "YOLOv7", 640, "val2017")["ap"] == 51.206
    # YOLOv5's P6 models: FLOPs at 640, AP at 1280, so not one point
    p6 = df[df["model"].str.match(r"YOLOv5[nsmlx]6$")]
    assert len(p6) == 5 and (p6["compute_res"] == 640).all() and (p6["input_size"] == 1280).all()
    assert (~p6["one_point"]).all() and p6["plot_note"].str.contains("640 px, AP measured at 1280").all()
    tiny = _row(df, "YOLOv4-tiny")
    assert pd.isna(tiny["ap"]) and tiny["ap50_pct"] == 40.2 and tiny["plot_note"].startswith("only AP50")


def test_plottable_rows_and_named_detectors(df):
    pts = plottable_detection(df)
    assert len(pts) == 80
    assert pts["ap"].notna().all() and pts["compute"].notna().all() and pts["one_point"].all()
    assert set(NAMED_SERIES) <= set(pts["series"])
    assert not df.loc[df["model"].str.startswith("YOLOv3"), "is_csp"].any()
    assert not _row(df, "YOLOX-Darknet53")["is_csp"] and _row(df, "YOLOX-s")["is_csp"]


# ----------------------------------------------------------------------------- the checks refuse bad rows
def test_convention_of_refuses_unknown_notes_units_and_silent_empties():
    assert convention_of("Ultralytics get_flops: thop MACs x2 ...", "GFLOPs (docs: 'B')", "8.7") == "ultralytics_fused"
    assert convention_of("no FLOPs stated", "", "") == NO_COMPUTE
    with pytest.raises(ValueError, match="names no known counting convention"):
        convention_of("counted by hand", "GFLOPs (G)", "3.0")
    with pytest.raises(ValueError, match="is not a unit of convention 'mmengine'"):
        convention_of("OpenMMLab get_flops -> mmengine", "BFLOPs", "8.1")
    with pytest.raises(ValueError, match="without a flops_value"):
        convention_of("no FLOPs stated", "BFLOPs", "")
    with pytest.raises(ValueError, match="must say why"):
        convention_of("", "", "")


def test_value_parsers():
    assert parse_compute("71.3") == 71.3 and parse_compute("221 (110 FMA)") == 221.0 and parse_compute("") is None
    with pytest.raises(ValueError, match="not half"):
        parse_compute("120 (90 FMA)")
    with pytest.raises(ValueError, match="is not a number"):
        parse_compute("xxx")
    assert parse_ap("37.3") == (37.3, "percent") and parse_ap("") == (None, "")
    assert parse_ap("0.220", "0.421") == (22.0, "COCOeval fraction x 100")
    with pytest.raises(ValueError, match="outside"):
        parse_ap("101")
    assert ap_split("val2017 (docs: mAP val 50-95)") == "val2017" and ap_split("test-dev (per ...)") == "test-dev"
    with pytest.raises(ValueError, match="coco_split"):
        ap_split("train2017")
    repo, url = source_repo("ultralytics/ultralytics@" + "a" * 40 + ":docs/en/models/yolov8.md")
    assert repo == "ultralytics/ultralytics" and url == "https://github.com/ultralytics/ultralytics/tree/" + "a" * 40
    with pytest.raises(ValueError, match="neither"):
        source_repo("somewhere on the web")


def test_a_bad_data_file_names_the_row(tmp_path, monkeypatch):
    text = det.DATA_PATH.read_text(encoding="utf-8").replace("YOLOv8n,YOLOv8,2023,", "YOLOv8n,YOLOv8,2023,", 1)
    lines = text.splitlines(keepends=True)
    i = next(k for k, line in enumerate(lines) if line.startswith("YOLOv8n,"))
    lines[i] = lines[i].replace("Ultralytics get_flops", "Somebody's counter", 1)
    bad = tmp_path / "published_detection.csv"
    bad.write_text("".join(lines), encoding="utf-8")
    monkeypatch.setattr(det, "DATA_PATH", bad)
    det._load.cache_clear()
    try:
        with pytest.raises(ValueError, match=rf"row {i + 1} \(YOLOv8n\): flops_convention_note"):
            det._load()
    finally:
        monkeypatch.undo()
        det._load.cache_clear()


# ----------------------------------------------------------------------------- filters and export
def test_filters(df):
    assert set(filter_detection(df, series_="YOLO11")["model"]) == {f"YOLO11{k}" for k in "nsmlx"}
    assert set(filter_detection(df, year=2024)["series"]) == {"YOLO11", "YOLOv10"}
    assert set(filter_detection(df, convention="mmengine")["series"]) == {"RTMDet"}
    assert (filter_detection(df, split="test-dev")["ap_split"] == "test-dev").all()
    assert set(filter_detection(df, resolution=[1536])["model"]) == {"YOLOv4-P7"}
    assert len(filter_detection(df, family=["YOLOv8", "YOLO11"])) == 10
    for kw, bad in (("series_", "YOLOv99"), ("year", 1999), ("convention", "fvcore"), ("split", "train"),
                    ("family", "NoNet"), ("resolution", 123)):
        with pytest.raises(ValueError, match=f"unknown {kw.rstrip('_')}"):
            filter_detection(df, **{kw: bad})


def test_records_and_csv_round_trip():
    recs = detection_records()
    assert len(recs) == N_ROWS and json.loads(json.dumps(recs, allow_nan=False)) == recs
    back = pd.read_csv(StringIO(detection_csv(family="RTMDet (CSPNeXt)")))
    assert list(back["model"]) == [f"RTMDet-{k}" for k in ("tiny", "s", "m", "l", "x")]
    assert (back["convention"] == "mmengine").all()


# ----------------------------------------------------------------------------- CLI
def test_cli_published_detection(capsys):
    assert main(["published", "--detection", "--json"]) in (0, None)
    rows = json.loads(capsys.readouterr().out)
    assert len(rows) == N_ROWS
    v8n = next(r for r in rows if r["model"] == "YOLOv8n")
    assert v8n["convention"] == "ultralytics_fused" and v8n["flops_value"] == "8.7" and v8n["ap"] == 37.3
    assert v8n["source_url_or_repo_path"].startswith("ultralytics/ultralytics@")
    assert main(["published", "--detection", "--csv", "--family", "YOLO11"]) in (0, None)
    assert len(pd.read_csv(StringIO(capsys.readouterr().out))) == 5
    assert main(["published", "--detection", "--family", "YOLOv8"]) in (0, None)
    out = capsys.readouterr().out
    assert "YOLOv8x" in out and "ultralytics_fused" in out and "YOLO11n" not in out


def test_cli_published_detection_unknown_family_is_one_line(capsys):
    assert main(["published", "--detection", "--family", "NoNet"]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "--family: unknown 'NoNet'" in err and "YOLO11" in err
    assert set(detection_families()) >= {"YOLO11", "YOLOv8"}
