"""The Tradeoff page's COCO detection view and the Pareto fronts (AppTest), and the detection figure."""
from __future__ import annotations

import json

from streamlit.testing.v1 import AppTest

from app_ui.detection_figures import FRONT_NAME, detection_figure, front_table
from apptest_helpers import app, clear_caches, no_problem  # noqa: F401  (clear_caches: autouse)
from explorer.paper.detection import COMPARABILITY, filter_detection, load_detection


def tradeoff(params: dict) -> AppTest:
    at = app(params)
    at.switch_page("pages/Tradeoff.py").run()
    no_problem(at)
    return at


def chart(at: AppTest) -> dict:
    return json.loads(at.get("plotly_chart")[0].proto.spec)


def captions(at: AppTest) -> str:
    return " ".join(c.value for c in at.caption)


# ----------------------------------------------------------------------------- the figure
def test_detection_figure_panels_per_scale_and_fronts():
    df = load_detection()
    fig = detection_figure(df)
    titles = [a.text for a in fig.layout.annotations]
    assert titles == ["FLOPs = 2 x MACs (Darknet, thop-based YOLO tools)", "MACs (mmdetection's 'FLOPS(G)')",
                      "not stated (PaddleDetection 'FLOPs(G)')"]
    assert fig.layout.xaxis.title.text == "GFLOPs (2 x MACs), as published"
    assert fig.layout.xaxis2.title.text == "GMACs, as published"
    assert fig.layout.yaxis.range == fig.layout.yaxis3.range  # one AP scale in every panel
    fronts = [t for t in fig.data if t.name == FRONT_NAME]
    assert len(fronts) == 3 and [t.showlegend for t in fronts] == [True, False, False]
    assert all(t.line.shape == "hv" for t in fronts)
    rtm = next(t for t in fig.data if t.name == "RTMDet")
    assert rtm.xaxis == "x2" and list(rtm.x) == [8.1, 14.8, 39.27, 80.23, 141.67]  # as published, not converted
    hover = " ".join(h for t in fig.data if t.hovertext for h in t.hovertext)
    assert "YOLOv8n" in hover and "convention: Ultralytics get_flops, fused" in hover
    assert "8.7 GFLOPs (docs: 'B')" in hover
    assert "source: Ultralytics" in hover
    # one scale shown: one panel; nothing plottable: a figure that says so
    one = detection_figure(filter_detection(df, convention="mmengine"))
    assert [a.text for a in one.layout.annotations] == ["MACs (mmdetection's 'FLOPS(G)')"]
    empty = detection_figure(filter_detection(df, year=2019, convention="none"))
    assert "No shown row" in empty.layout.annotations[0].text
    assert not [t for t in detection_figure(df, front=False).data if t.name == FRONT_NAME]
    table = front_table(df)
    assert list(table.loc[table["scale"] == "MACs", "model"])[0] == "RTMDet-tiny"


# ----------------------------------------------------------------------------- the page
def test_coco_view_shows_rows_conventions_and_fronts():
    at = tradeoff({"preset": "cspdarknet53"})
    assert at.radio(key="to_dataset").value == "imagenet"  # ImageNet stays the default
    at.radio(key="to_dataset").set_value("coco").run()
    assert not at.exception and not at.error
    fig = chart(at)
    names = {t.get("name") for t in fig["data"]}
    assert {"YOLOv8", "YOLO11", "RTMDet", "YOLOX", "CSPNet", "YOLOv4", "Scaled-YOLOv4", "YOLOv7"} <= names
    assert FRONT_NAME in names and "convention: mmengine (OpenMMLab) MACs" in names
    text = captions(at)
    assert "80 of 119 selected rows are plotted" in text and "Your design is a classifier" in text
    assert COMPARABILITY in " ".join(i.value for i in at.info)
    # filters: one convention, one year
    at.multiselect(key="td_convention").set_value(["ultralytics_fused"]).run()
    at.multiselect(key="td_year").set_value([2024]).run()
    assert not at.exception and not at.error
    fig = chart(at)
    series = {t["name"] for t in fig["data"] if t.get("mode") == "markers" and t.get("x") != [None]}
    assert series == {"YOLO11"}
    assert "5 of 5 selected rows are plotted" in captions(at)
    at.toggle(key="td_front").set_value(False).run()
    assert FRONT_NAME not in {t.get("name") for t in chart(at)["data"]}


def test_imagenet_front_and_the_distance_of_a_published_preset():
    at = tradeoff({"preset": "darknet53", "input_size": "256"})
    fronts = [t for t in chart(at)["data"] if t.get("name") == FRONT_NAME]
    assert len(fronts) == 1 and fronts[0]["mode"] == "lines"
    assert fronts[0]["hoverinfo"] == "skip"  # clicks reach the published points under it (they load presets)
    text = captions(at)
    assert "Your design (darknet53, at 9.31 GMACs and its published 80.01 %) is behind the front" in text
    assert "cspresnext50 (timm, old eval @224) (timm) reaches 80.04 %" in text and "(67 % less compute)" in text
    assert "the front reaches 82.10 % (+2.09 points, CSPNeXt-x (mmdetection))" in text  # the README's figures
    assert "Its own preset's published rows are left out" in text
    at.toggle(key="to_front").set_value(False).run()
    assert FRONT_NAME not in {t.get("name") for t in chart(at)["data"]}
    assert "behind the front" not in captions(at)
