"""AppTest tests of the "Paper vs tool" page (pages/Paper.py).

Starts from the entry point (app.py), as AppTest wants for multipage apps, then switches page.  The
latency measurement is replaced by a fake (monkeypatched ``explorer.reproduce.claims``) so that these
tests never time anything; the real measurement is covered by tests/test_reproduce.py.
"""
from __future__ import annotations

import json
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from explorer.paper import reproduce as rp

APP = str(Path(__file__).resolve().parent.parent / "app.py")
PAPER = "pages/Paper.py"


def open_paper() -> AppTest:
    at = AppTest.from_file(APP, default_timeout=90).run()
    assert not at.exception, [e.value for e in at.exception]
    at.switch_page(PAPER).run()
    no_errors(at)
    return at


def no_errors(at: AppTest) -> None:
    assert not at.exception, [e.value for e in at.exception]
    assert not at.error, [e.value for e in at.error]


def repro_table(at: AppTest):
    return next(d.value for d in at.dataframe if "compute diff %" in d.value.columns)


def badges(at: AppTest) -> list:
    return [m.value for m in at.markdown if "-badge[" in m.value]


def test_page_runs_and_shows_every_section():
    at = open_paper()
    assert at.title[0].value == "Paper vs tool"
    assert [h.value for h in at.header] == ["Fusion ablation (paper Figure 4, PeleeNet)", "Published vs this tool",
                                            "COCO detection rows", "Claims checker", "Downloads"]
    # the ablation: chart (tool, paper, what-if), the module's numbers in the table, its reasons
    fig = json.loads(at.get("plotly_chart")[0].proto.spec)
    assert [t["type"] for t in fig["data"]] == ["bar", "bar", "bar"]
    abl = rp.fusion_ablation()
    assert fig["data"][0]["y"] == pytest.approx([r["tool_delta_pct"] for r in abl["rows"]])
    table = next(d.value for d in at.dataframe if "paper change %" in d.value.columns)
    assert table["paper change %"].round().tolist() == [-13, -26, -21, -3, -11]
    text = " ".join(m.value for m in at.markdown)
    assert "channel-keeping partial transition" in text and "2x2 pool" in text
    assert [e.label for e in at.expander][:5] == [
        f"{r['label']}: this tool {r['tool_delta_pct']:+.1f}%, paper {r['paper_delta_pct']:+.1f}%" for r in abl["rows"]]
    # the claims: four, each with a coloured verdict badge and the accuracy note
    claims = rp.claims(measure=False)
    b = badges(at)
    assert len(b) == len(claims)
    for c, badge in zip(claims, b):
        assert c["verdict"] in badge
    assert ":gray-badge[" in b[-1] and "not measured" in b[-1]
    captions = [c.value for c in at.caption]
    assert sum(rp.ACCURACY_NOTE in c for c in captions) >= len(claims)
    assert any("batch size 1, fp32" in c for c in captions)
    assert [bt.label for bt in at.button if bt.key == "paper_measure"] == ["Measure latency here"]


def test_filters_change_the_table():
    at = open_paper()
    full = repro_table(at)
    assert len(full) == len(rp.reproduce())
    at.multiselect(key="paper_family").set_value(["PeleeNet"]).run()
    no_errors(at)
    pelee = repro_table(at)
    assert 0 < len(pelee) < len(full) and set(pelee["family"]) == {"PeleeNet"}
    at.multiselect(key="paper_source").set_value(["CSPNet paper/README"]).run()
    both = repro_table(at)
    assert 0 < len(both) < len(pelee) and set(both["source"]) == {"CSPNet paper/README"}
    assert all(o.endswith("px) -> " + o.split(" -> ")[-1]) for o in at.selectbox(key="paper_open_row").options)
    at.multiselect(key="paper_family").set_value([]).run()
    at.multiselect(key="paper_source").set_value([]).run()
    at.toggle(key="paper_with_compute").set_value(True).run()
    with_c = repro_table(at)
    assert len(with_c) < len(full) and with_c["compute published"].notna().all()
    # the downloads follow the filter only when asked
    assert any(f"({len(full)} rows)" in b.proto.label for b in at.get("download_button"))
    at.toggle(key="paper_dl_filtered").set_value(True).run()
    assert any(f"({len(with_c)} rows)" in b.proto.label for b in at.get("download_button"))


def test_a_row_opens_its_design_at_the_rows_resolution():
    at = open_paper()
    at.multiselect(key="paper_source").set_value(["timm"]).run()
    sb = at.selectbox(key="paper_open_row")
    label = next(o for o in sb.options if o.endswith("-> cspresnet50") and "256 px" in o)
    sb.set_value(label).run()
    at.button(key="paper_open_btn").click().run()
    no_errors(at)
    cfg = at.session_state["design_cfg"]
    assert at.session_state["design_preset"] == "cspresnet50"
    assert cfg.name == "cspresnet50" and cfg.input_size == 256
    assert at.title[0].value != "Paper vs tool"  # now on the Design page


def _fake_claims(fail: bool):
    real = rp.claims

    def fake(measure: bool = True):
        out = real(measure=False)
        if not measure:
            return out
        if fail:
            raise RuntimeError("no device today")
        lat = dict(out[-1])
        lat["computed"] = dict(lat["computed"], measured=True, latency_delta_pct=-17.5,
                               latency={"min_ms": {"resnet50": 40.0, "cspresnet50": 33.0},
                                        "median_ms": {"resnet50": 42.0, "cspresnet50": 35.0}, "batch": 1,
                                        "dtype": "fp32", "device": "cpu", "input_size": 256, "method": "fake"})
        lat["verdict"] = "holds"
        lat["reason"] = "Measured here (fake)."
        return out[:-1] + [lat]

    return fake


def test_measure_latency_shows_the_measurement(monkeypatch):
    at = open_paper()
    monkeypatch.setattr(rp, "claims", _fake_claims(fail=False))
    at.button(key="paper_measure").click().run()
    no_errors(at)
    b = badges(at)
    assert ":green-badge[" in b[-1] and "holds" in b[-1]
    metrics = {m.label: m.value for m in at.metric}
    assert metrics["resnet50, fastest run"] == "40.0 ms" and metrics["change (fastest run)"] == "-17.5 %"
    assert any("Latency measured at" in c.value for c in at.caption)
    # a rerun keeps the session's measurement (not re-measured: the fake would be needed again)
    monkeypatch.setattr(rp, "claims", _fake_claims(fail=True))
    at.run()
    assert ":green-badge[" in badges(at)[-1]
    at.button(key="paper_measure_clear").click().run()
    no_errors(at)
    assert "not measured" in badges(at)[-1]


def test_a_failed_measurement_is_a_message_not_a_traceback(monkeypatch):
    at = open_paper()
    monkeypatch.setattr(rp, "claims", _fake_claims(fail=True))
    at.button(key="paper_measure").click().run()
    assert not at.exception, [e.value for e in at.exception]
    assert any("no device today" in e.value for e in at.error)
    assert len(badges(at)) == 4 and "not measured" in badges(at)[-1]  # the analytic claims are still shown
