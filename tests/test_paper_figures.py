"""app_ui.paper_figures: the Paper page's figure, tables, filters and downloads (pure, no Streamlit)."""
from __future__ import annotations

import json
import math

import pandas as pd
import pytest

from app_ui import paper_figures as pf
from explorer.paper.published import load_published
from explorer.paper.reproduce import VERDICTS, claims, reproduce_table


@pytest.fixture(scope="module")
def frame(records):
    return pf.reproduce_frame(records, load_published())


@pytest.fixture(scope="module")
def analytic_claims():
    return claims(measure=False)


# --------------------------------------------------------------------------- ablation
def test_ablation_figure_puts_the_tool_beside_the_paper(ablation):
    fig = pf.ablation_figure(ablation, what_if=False)
    assert [t.type for t in fig.data] == ["bar", "bar"] and fig.layout.barmode == "group"
    tool, paper = fig.data
    labels = [r["label"] for r in ablation["rows"]]
    assert list(tool.x) == labels == list(paper.x)
    assert list(tool.y) == pytest.approx([r["tool_delta_pct"] for r in ablation["rows"]])
    assert list(paper.y) == pytest.approx([r["paper_delta_pct"] for r in ablation["rows"]])
    # the paper's Figure 4 / text numbers, rounded as the paper prints them
    by = {r["preset"]: r for r in ablation["rows"]}
    assert [round(by[p]["paper_delta_pct"]) for p in ("csppeleenet", "csppeleenet_fusion_first",
                                                      "csppeleenet_fusion_last", "csppeleenet_gamma025",
                                                      "csppeleenet_fusion_last_gamma025")] == [-13, -26, -21, -3, -11]
    assert paper.text[0] == f"{by['csppeleenet']['paper_delta_pct']:+.1f}%"
    # approximate paper values (read off the plot, derived from text) are hatched, the exact one is not
    shapes = list(paper.marker.pattern.shape)
    for r, shape in zip(ablation["rows"], shapes):
        assert (shape == "/") == (r["paper_status"] in pf.APPROX_STATUSES)
    assert shapes[0] == ""  # CSPPeleeNet's 0.888 BFLOPs is exact
    lo, hi = fig.layout.yaxis.range
    assert lo < min(tool.y + paper.y) and hi > max(tool.y + paper.y)


def test_what_if_bars_only_for_the_full_csp_variants(ablation):
    fig = pf.ablation_figure(ablation)
    assert len(fig.data) == 3
    wf = fig.data[2]
    for r, y in zip(ablation["rows"], wf.y):
        if r["fusion"] == "csp":
            assert y == pytest.approx(r["pool_first_delta_pct"])
        else:
            assert y is None


def test_ablation_frame_and_summary_use_the_module_numbers(ablation):
    df = pf.ablation_frame(ablation)
    assert list(df["preset"]) == [r["preset"] for r in ablation["rows"]]
    assert df["tool change %"].tolist() == pytest.approx([r["tool_delta_pct"] for r in ablation["rows"]])
    assert df["tool MMACs"].tolist() == pytest.approx([r["macs"] / 1e6 for r in ablation["rows"]])
    assert set(df["paper value"]) == {"exact", "approximate"}
    text = " ".join(pf.ablation_summary(ablation))
    csp = next(r for r in ablation["rows"] if r["preset"] == "csppeleenet")
    assert f"{csp['tool_delta_pct']:+.1f}%" in text and f"{csp['paper_delta_pct']:+.1f}%" in text
    assert "partial transition" in text and "2x2 pool" in text
    assert ("alike" in text) == ablation["ordering"]["agree"]


def test_ablation_helpers_tolerate_an_empty_result():
    assert pf.ablation_frame({}).empty
    assert len(pf.ablation_figure({"rows": []}).data) == 3
    assert pf.ablation_summary({}) == []


# --------------------------------------------------------------------------- published vs tool
def test_reproduce_frame_matches_reproduce_table(records, frame):
    flat = pd.DataFrame(reproduce_table(records))
    assert len(frame) == len(records) == len(flat)
    assert list(frame.columns) == pf.REPRODUCE_COLUMNS
    assert frame["model"].tolist() == flat["model"].tolist()
    assert frame["compute diff %"].round(2).tolist() == pytest.approx(
        flat["compute diff %"].astype(float).tolist(), nan_ok=True)
    assert frame["params tool (M)"].tolist() == pytest.approx(flat["params tool (M)"].tolist(), abs=1e-4)
    for col in pf.NUMERIC_COLUMNS:
        assert pd.api.types.is_float_dtype(frame[col]), col
    assert frame["family"].notna().all()


def test_families_come_from_the_published_rows(records, frame):
    df = load_published()
    mapped = df[df["preset"].notna()]
    assert frame["family"].tolist() == mapped["family"].tolist()
    # without the data set, or in another order, the model name is used
    assert pf.reproduce_frame(records[:3])["family"].isna().all()
    rev = pf.reproduce_frame(list(reversed(records)), df)
    assert rev["family"].tolist() == list(reversed(frame["family"].tolist()))


def test_filters(frame):
    def rows(frame, families=None, sources=None, with_compute=False):
        return frame[pf.filter_mask(frame, families, sources, with_compute)]

    assert len(rows(frame)) == len(frame)
    pelee = rows(frame, families=["PeleeNet"])
    assert 0 < len(pelee) < len(frame) and set(pelee["family"]) == {"PeleeNet"}
    timm = rows(frame, sources=["timm"])
    assert set(timm["source"]) == {"timm"}
    both = rows(frame, families=["Darknet"], sources=["timm"])
    assert set(both["family"]) == {"Darknet"} and set(both["source"]) == {"timm"}
    with_c = rows(frame, with_compute=True)
    assert with_c["compute published"].notna().all() and len(with_c) < len(frame)
    mask = pf.filter_mask(frame, ["PeleeNet"], None)
    assert int(mask.sum()) == len(pelee)


def test_row_label_names_model_source_resolution_and_preset(frame):
    label = pf.row_label(frame.iloc[0])
    r = frame.iloc[0]
    assert r["model"] in label and r["source"] in label and f"{int(r['res'])} px" in label
    assert label.endswith(r["preset"])


def test_downloads_are_strict_json_and_csv(records, frame):
    text = pf.records_json(records)
    back = json.loads(text)
    assert len(back) == len(records) and back[0]["model"] == records[0]["model"]
    assert "NaN" not in text
    assert json.loads(pf.records_json([{"x": float("nan"), "y": pd.NA, "z": (1, 2)}])) == [
        {"x": None, "y": None, "z": [1, 2]}]
    csv = pf.frame_csv(frame)
    assert csv.splitlines()[0].split(",")[:3] == ["model", "source", "res"]
    assert len(pd.read_csv(__import__("io").StringIO(csv))) == len(frame)


# --------------------------------------------------------------------------- claims
def test_every_verdict_has_a_badge():
    assert set(pf.VERDICT_BADGES) == set(VERDICTS)
    assert pf.verdict_badge("holds") == "green"
    assert pf.verdict_badge("does not hold here") == "red"
    assert pf.verdict_badge("something else") == "blue"


def test_computed_tables_show_every_number(analytic_claims):
    for c in analytic_claims:
        tables = pf.computed_tables(c["computed"])
        assert tables, c["claim"]
        for title, df in tables:
            assert isinstance(df, pd.DataFrame) and not df.empty, (c["claim"], title)
    first = dict(pf.computed_tables(analytic_claims[0]["computed"]))
    assert len(first["published pairs"]) == len(analytic_claims[0]["computed"]["published_pairs"])
    latency = dict(pf.computed_tables(analytic_claims[-1]["computed"]))["numbers"]
    assert "measured" in latency["item"].tolist()


def test_computed_tables_flatten_a_latency_measurement():
    computed = {"macs_delta_pct": -15.4, "measured": True, "latency_delta_pct": -17.0,
                "latency": {"median_ms": {"resnet50": 50.0, "cspresnet50": 41.0},
                            "round_medians_ms": {"resnet50": [50.0, 51.0]}, "batch": 1, "dtype": "fp32",
                            "environment": {"device": "cpu", "threads": 2, "torch": "2", "device_name": "x86"}},
                "empty": []}
    tables = dict(pf.computed_tables(computed))
    items = dict(zip(tables["numbers"]["item"], tables["numbers"]["value"]))
    assert items["measured"] == "yes" and items["latency / median ms / resnet50"] == "50"
    assert items["latency / round medians ms / resnet50"] == "50, 51" and items["empty"] == "none"
    assert "latency / environment" in tables


def test_claims_frame(analytic_claims):
    df = pf.claims_frame(analytic_claims)
    assert len(df) == len(analytic_claims) and set(df["verdict"]) <= set(VERDICTS)
    assert not any(isinstance(v, float) and math.isnan(v) for v in df["reason"])
