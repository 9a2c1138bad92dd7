"""A detector design on the Tradeoff page's COCO view (issue 19, item 7): placed in its convention's panel at its
published point when it is a preset with a published AP (the computed compute beside), else as a line at its
computed compute (AP unknown), and its distance from the Pareto front, as for ImageNet."""
from __future__ import annotations

import json
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from app_ui.detection_figures import detection_figure
from cspnet import get_preset
from explorer.paper.detection import filter_detection, load_detection, plottable_detection
from explorer.paper.pareto import position
from explorer.paper.reproduce import (
    Profiled,
    detection_preset_of_design,
    detector_point,
    detector_position,
    profiled_count,
    reproduce_detection,
)

APP = str(Path(__file__).resolve().parent.parent / "app.py")


@pytest.mark.parametrize("preset", ["yolov5su", "yolov8n", "yolo11m", "yolov5s", "yolov4_csp"])
def test_a_preset_is_placed_at_its_published_point(preset):
    """In its row's own convention and size: a file-backed preset too (yolov5s in YOLOv5's model_info of the fused
    model, yolov4_csp in Darknet's BFLOPs of its 640 px row)."""
    rec = next(r for r in reproduce_detection() if r["preset"] == preset and r["res"] == 640)
    p = detector_point(get_preset(preset))
    assert p["preset"] == preset and p["published"]["model"] == rec["model"]
    assert (p["x"], p["ap"]) == (rec["compute_published"], rec["ap_published"])
    assert p["computed"] == pytest.approx(rec["compute_tool"])
    assert p["convention"] == rec["row_convention"] and p["scale"] == "flops"


def test_at_another_input_size_it_is_still_the_preset_counted_at_640():
    p = detector_point(get_preset("yolov8s", input_size=320))
    assert p["preset"] == "yolov8s" and p["input_size"] == 320 and p["res"] == 640
    assert p["computed"] == pytest.approx(profiled_count("yolov8s", 640, "ultralytics", Profiled(fused=True, at=32))
                                          / 1e9)


def test_an_untrained_detector_has_no_ap_and_a_classifier_no_point():
    cfg = get_preset("yolov8n").replace(neck_fusion="none")
    assert detection_preset_of_design(cfg) is None
    p = detector_point(cfg)
    assert p["ap"] is None and p["published"] is None and p["x"] == p["computed"]
    assert p["computed"] > detector_point(get_preset("yolov8n"))["computed"]   # the plain neck costs more
    assert detector_position(p) is None
    assert detector_point(get_preset("cspresnet50")) is None


def test_pareto_distance_leaves_the_preset_s_own_row_out():
    p = detector_point(get_preset("yolov8n"))
    pos = detector_position(p)
    rows = plottable_detection(load_detection())
    rows = rows[(rows["scale"] == "flops") & (rows["preset"] != "yolov8n")]
    want = position(p["x"], p["ap"], [{"x": x, "y": y, "label": m} for x, y, m in
                                       zip(rows["compute"], rows["ap"], rows["model"])])
    assert pos["on_front"] == want["on_front"] and pos["front_size"] == want["front_size"]
    assert pos["equal_accuracy"]["compute_saved"] == pytest.approx(want["equal_accuracy"]["compute_saved"])
    assert pos["equal_compute"]["accuracy_gained"] == pytest.approx(want["equal_compute"]["accuracy_gained"])
    assert not pos["on_front"] and pos["equal_accuracy"]["label"].startswith("YOLO11n")   # YOLO11n beats it


def test_the_figure_draws_the_design_in_its_panel():
    df = load_detection()
    fig = detection_figure(df, design=detector_point(get_preset("yolo11n")))
    star = [t for t in fig.data if t.name and t.name.startswith("your design")]
    assert len(star) == 1 and star[0].marker.symbol == "star" and list(star[0].y) == [39.5]
    assert "computed here" in star[0].hovertext[0]
    line = [t for t in detection_figure(df, design=detector_point(get_preset("yolo11n").replace(neck_fusion="none")))
            .data if t.name == "your design (AP unknown)"]
    assert len(line) == 1 and line[0].mode == "lines" and line[0].x[0] == line[0].x[1]
    # a panel the filters hide: not drawn
    none = detection_figure(filter_detection(df, convention="mmengine"), design=detector_point(get_preset("yolo11n")))
    assert not [t for t in none.data if t.name and t.name.startswith("your design")]


def _coco(preset: str) -> AppTest:
    at = AppTest.from_file(APP, default_timeout=90)
    at.query_params["preset"] = preset
    at.run()
    at.switch_page("pages/Tradeoff.py").run()
    if at.radio(key="to_dataset").value != "coco":   # (a detector opens on COCO; a classifier switches to it)
        at.radio(key="to_dataset").set_value("coco").run()
    assert not at.exception and not at.error, [e.value for e in [*at.exception, *at.error]]
    return at


def test_a_detector_opens_on_the_coco_view_and_a_classifier_on_imagenet():
    for preset, want in (("yolov8n", "coco"), ("yolov8n_cls", "imagenet")):
        at = AppTest.from_file(APP, default_timeout=90)
        at.query_params["preset"] = preset
        at.run()
        at.switch_page("pages/Tradeoff.py").run()
        assert at.radio(key="to_dataset").value == want, preset


def test_the_page_places_a_detector_preset_and_says_how_far_it_is():
    at = _coco("yolov8n")
    fig = json.loads(at.get("plotly_chart")[0].proto.spec)
    assert "your design (YOLOv8n, published)" in {t.get("name") for t in fig["data"]}
    text = " ".join(c.value for c in at.caption)
    assert "preset **yolov8n**" in text and "8.746 GFLOPs computed here" in text
    assert "behind the front" in text and "YOLO11n" in text and "Its own preset's row is left out" in text



def test_the_imagenet_view_points_a_detector_to_the_coco_view():
    at = AppTest.from_file(APP, default_timeout=90)
    at.query_params["preset"] = "yolo11n"
    at.run()
    at.switch_page("pages/Tradeoff.py").run()
    at.radio(key="to_dataset").set_value("imagenet").run()   # (it opens on COCO)
    assert not at.exception and not at.error
    assert any("is a detector" in i.value and "COCO detection" in i.value for i in at.info)
