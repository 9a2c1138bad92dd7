"""The Pareto front of published points and a design's distance to it (explorer.paper.pareto), on made-up
points, against the definition (hypothesis), and on the published ImageNet and COCO rows."""
from __future__ import annotations

import math

import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from explorer.paper.detection import load_detection, plottable_detection
from explorer.paper.pareto import (
    dominates,
    front_indices,
    front_rows,
    position,
    position_sentence,
    table_position,
)
from explorer.paper.published import load_published, sets_front

PTS = [  # (compute, accuracy)
    (1.0, 70.0), (2.0, 75.0), (2.5, 74.0), (3.0, 75.0), (4.0, 80.0), (4.0, 78.0), (5.0, 79.0), (0.5, 60.0),
]


def test_front_of_a_small_set():
    xs, ys = zip(*PTS)
    assert front_indices(xs, ys) == [7, 0, 1, 4]  # by increasing compute
    # equal points are on the front together; a point equal in accuracy but costlier is not
    assert front_indices([1, 1, 2], [5, 5, 5]) == [0, 1]
    assert front_indices([], []) == []


def test_front_refuses_bad_input():
    with pytest.raises(ValueError, match="not finite"):
        front_indices([1.0, math.nan], [1.0, 2.0])
    with pytest.raises(ValueError, match="2 compute values but 1"):
        front_indices([1.0, 2.0], [1.0])


@settings(max_examples=200, deadline=None)
@given(st.lists(st.tuples(st.integers(0, 12), st.integers(0, 12)), max_size=30))
def test_front_is_exactly_the_undominated_points(pts):
    xs, ys = [p[0] for p in pts], [p[1] for p in pts]
    got = front_indices(xs, ys)
    want = [i for i, p in enumerate(pts) if not any(dominates(q, p) for q in pts)]
    assert sorted(got) == want
    assert [xs[i] for i in got] == sorted(xs[i] for i in got)


def _points():
    return [{"x": x, "y": y, "label": f"p{i}"} for i, (x, y) in enumerate(PTS)]


def test_position_behind_the_front():
    pos = position(3.0, 74.0, _points())
    assert not pos["on_front"] and pos["dominated_by"] == ["p1"]
    acc = pos["equal_accuracy"]  # the cheapest front point at least as accurate
    assert acc["label"] == "p1" and acc["compute_saved"] == pytest.approx(1.0)
    assert acc["compute_saved_pct"] == pytest.approx(100 / 3)
    cmp_ = pos["equal_compute"]  # the most accurate front point at most as costly
    assert cmp_["label"] == "p1" and cmp_["accuracy_gained"] == pytest.approx(1.0)
    text = position_sentence("Your design", pos, "GMACs", "%")
    assert text.startswith("Your design is behind the front of the shown rows: p1 reaches 75.00 %")
    assert "(33 % less compute)" in text and "+1.00 points, p1" in text


def test_position_on_the_front_and_beyond_it():
    on = position(3.0, 77.0, _points())
    assert on["on_front"] and not on["dominated_by"]
    assert on["equal_accuracy"]["label"] == "p4" and on["equal_accuracy"]["compute_saved"] < 0
    assert "is on the front" in position_sentence("X", on, "GMACs", "%")
    top = position(9.0, 90.0, _points())
    assert top["on_front"] and top["equal_accuracy"] is None
    assert "more accurate than every shown row" in position_sentence("X", top, "GMACs", "%")
    cheap = position(0.1, 10.0, _points())
    assert cheap["on_front"] and cheap["equal_compute"] is None
    assert "no published point is shown" in position_sentence("X", position(1, 1, []), "GMACs", "%")


def test_imagenet_front_and_a_preset_against_it():
    df = load_published()
    pts = df[df["gmacs"].notna() & df["top1"].notna()]
    fr = front_rows(pts, "gmacs", "top1")
    assert len(fr) >= 3
    assert fr["gmacs"].is_monotonic_increasing and fr["top1"].is_monotonic_increasing
    for _, r in pts.iterrows():  # no row beats a front row in both
        for _, f in fr.iterrows():
            assert not dominates((r["gmacs"], r["top1"]), (f["gmacs"], f["top1"]))
    # a value read off a figure or a 10-crop top-1 does not set the front
    assert "CSP (fusion last) PeleeNet" in set(fr["model"])
    held = df[~sets_front(df)]
    assert held["approximate"].any() and held["eval_notes"].str.contains("10-crop").any()
    assert (held["approximate"] | held["eval_notes"].str.contains("10-crop")).all()
    fair = front_rows(pts[sets_front(pts)], "gmacs", "top1")
    assert "CSP (fusion last) PeleeNet" not in set(fair["model"]) and not fair["approximate"].any()
    assert list(fair["model"])[:3] == ["YOLO11n-cls", "CSPPeleeNet-swish-SE", "PeleeNet (official)"]
    # darknet53 at 256 (9.31 GMACs, 80.008 % in timm) against the other presets' rows: behind the front
    pts = pts.assign(label=pts["model"])
    pos = table_position(pts, "gmacs", "top1", "label", 9.31, 80.008, leave_out=pts["preset"] == "darknet53")
    assert not pos["on_front"]
    saved = pos["equal_accuracy"]
    assert saved["x"] < 9.31 and saved["y"] >= 80.008 and saved["label"] not in set(df.loc[df["preset"] == "darknet53",
                                                                                            "model"])


def test_coco_front_per_scale():
    pts = plottable_detection(load_detection())
    fronts = {s: front_rows(pts[pts["scale"] == s], "compute", "ap") for s in ("flops", "macs", "unstated")}
    assert list(fronts["macs"]["model"]) == [f"RTMDet-{k}" for k in ("tiny", "s", "m", "l", "x")]
    assert list(fronts["unstated"]["model"]) == [f"PP-YOLOE+_{k}" for k in "smlx"]
    assert list(fronts["flops"]["model"]) == [  # the README's list; YOLOv8n is not on it (YOLO11n: less, better)
        "YOLOX-Nano", "YOLOv5n", "YOLOX-Tiny", "YOLO11n", "YOLO11s", "YOLOv10-M", "YOLO11m", "YOLO11l", "YOLOv10-X",
        "YOLO11x", "YOLOv7-W6", "YOLOv7-E6", "YOLOv7-D6", "YOLOv7-E6E"]


def test_table_position_leaves_rows_out_by_index():
    df = pd.DataFrame({"c": [1.0, 2.0, 3.0], "a": [50.0, 60.0, 70.0], "m": ["a", "b", "c"]}, index=[10, 11, 12])
    pos = table_position(df, "c", "a", "m", 2.5, 60.0, leave_out=pd.Series([False, True], index=[10, 11]))
    assert pos["front_size"] == 2 and pos["on_front"]  # b left out: nothing beats (2.5, 60) but c is costlier
    pos = table_position(df, "c", "a", "m", 2.5, 60.0)
    assert not pos["on_front"] and pos["dominated_by"] == ["b"]
