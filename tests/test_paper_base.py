"""The paper base: every CSP preset names the plain preset the CSPNet paper compares it against (one
``base`` column in the preset tables), and the engine, the CLI, the claims checker and the Design and
Latency pages all read that one definition, at the design's input size."""
from __future__ import annotations

import json
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from cspnet import CSPConfig, all_presets, get_preset
from cspnet.config import LINEAGE
from cspnet.families import get_family
from cspnet.presets import base_config, paper_base
from explorer.cli import main
from explorer.counts.analysis import compare_with_base, compare_with_twin
from explorer.design import to_query

APP = str(Path(__file__).resolve().parent.parent / "app.py")

EXPECTED = {
    "cspresnet50": "resnet50",
    "cspresnext50": "resnext50_32x4d",
    "cspdarknet53": "darknet53",
    **{f"cspdensenet{d}{s}": f"densenet{d}" for d in (121, 169, 201) for s in ("", "_fusion_first", "_fusion_last")},
    **{p: "peleenet" for p in ("csppeleenet", "csppeleenet_fusion_first", "csppeleenet_fusion_last",
                                "csppeleenet_gamma025", "csppeleenet_fusion_last_gamma025")},
    # growth 12 and no stem/head norm: densenet121 is not its fair base (its twin is)
    "cspdensenet_walkthrough": None,
    # the modern lineage: no source publishes a plain (non-CSP) counterpart; compared with the plain twin
    **{p.name: None for fam in LINEAGE for p in get_family(fam).presets},
    # the detection YAMLs (yolo_yaml: YOLOv5's C3s, YOLOv7's ELANs as written): no published plain counterpart;
    # compared with the plain twin
    "yolov7": None, "yolov7_tiny": None, **{f"yolov5{s}": None for s in "nsmlx"},
    # an opened Darknet cfg (darknet_cfg): no published plain counterpart; compared with its plain twin
    "yolov4_csp": None, "cspresnext50_panet_spp": None,
}


# --------------------------------------------------------------------------- the mapping
def test_every_csp_preset_names_its_paper_base():
    presets = all_presets()
    csp = {n for n, p in presets.items() if p.config["fusion"] != "none"}
    assert csp == set(EXPECTED)
    assert {n: paper_base(n) for n in csp} == EXPECTED
    assert {n: p.base for n, p in presets.items() if n in csp} == EXPECTED


def test_a_paper_base_is_a_plain_preset_of_the_same_family_and_plain_presets_have_none():
    presets = all_presets()
    for name, p in presets.items():
        if p.config["fusion"] == "none":
            assert p.base is None, name
        elif p.base is not None:
            base = presets[p.base]
            assert base.config["fusion"] == "none" and base.config["family"] == p.config["family"], name
    assert paper_base(None) is None and paper_base("no_such_preset") is None


def test_walkthrough_base_would_not_be_fair():
    """densenet121 differs from the walkthrough's plain network in more than CSP: growth 32 not 12, and
    a stem and a head norm; its fair comparison is its own twin."""
    walk, d121 = get_preset("cspdensenet_walkthrough"), get_preset("densenet121")
    assert set(walk.growth_rate) == {12} and set(d121.growth_rate) == {32}
    assert (walk.stem_norm, walk.head_norm) == (False, False) and (d121.stem_norm, d121.head_norm) == (True, True)
    assert compare_with_twin(d121)["design"]["params"] > 5 * compare_with_twin(walk)["twin"]["params"]


# --------------------------------------------------------------------------- the engine
def test_compare_with_base_is_at_the_designs_input_size_with_the_twins_delta_shape():
    cfg = get_preset("cspresnet50")
    b = compare_with_base(cfg, "resnet50")
    t = compare_with_twin(cfg)
    assert b["base_name"] == "resnet50" and b["input_size"] == 256 and b["base_config"]["input_size"] == 256
    assert b["base"]["input_size"] == 256
    assert b["deltas"]["macs"]["delta_pct"] == pytest.approx(-15.41, abs=0.01)   # the paper's side
    assert t["deltas"]["macs"]["delta_pct"] == pytest.approx(40.8, abs=0.05)     # the twin's side
    assert list(b["deltas"]) == list(t["deltas"])
    for key, d in b["deltas"].items():
        assert set(d) == set(t["deltas"][key]) - {"twin"} | {"base"}
        assert d["reference"] == d["base"] and d["delta"] == d["design"] - d["base"]
    assert t["deltas"]["macs"]["reference"] == t["deltas"]["macs"]["twin"]
    assert "widths" in b["twin_differs_in"] and "repeats" in b["twin_differs_in"] and not b["same_as_twin"]
    b320 = compare_with_base(get_preset("cspresnet50", input_size=320), "resnet50")
    assert b320["input_size"] == 320 and b320["base"]["macs"] == compare_with_twin(base_config("resnet50", 320))[
        "design"]["macs"]
    assert compare_with_base(cfg, None) is None


def test_the_twin_is_the_base_for_the_dense_presets():
    cfg = get_preset("cspdensenet201")
    b, t = compare_with_base(cfg, paper_base(cfg.name)), compare_with_twin(cfg)
    assert b["same_as_twin"] and b["twin_differs_in"] == []
    assert {k: d["delta_pct"] for k, d in b["deltas"].items()} == {k: d["delta_pct"] for k, d in t["deltas"].items()}


# --------------------------------------------------------------------------- the CLI
def run_cli(capsys, *args):
    rc = main(list(args))
    out, err = capsys.readouterr()
    return rc, out, err


def test_summary_json_has_a_base_block_beside_the_twin(capsys, tmp_path):
    rc, out, _ = run_cli(capsys, "summary", "cspresnet50", "--json")
    assert rc == 0
    s = json.loads(out)
    assert s["base"]["name"] == "resnet50" and s["base"]["input_size"] == 256
    assert s["base"]["config"]["widths"] == [256, 512, 1024, 2048]
    assert set(s["base"]["deltas"]) == set(s["twin"]["deltas"])
    assert s["base"]["deltas"]["macs"]["delta_pct"] == pytest.approx(-15.41, abs=0.01)
    rc, out, _ = run_cli(capsys, "summary", "cspresnet50", "--input-size", "320", "--json")
    assert json.loads(out)["base"]["input_size"] == 320
    for design in ("resnet50", "cspdensenet_walkthrough"):
        rc, out, _ = run_cli(capsys, "summary", design, "--json")
        assert rc == 0 and json.loads(out)["base"] is None
    path = tmp_path / "d.json"
    path.write_text(get_preset("cspresnet50").to_json())
    rc, out, _ = run_cli(capsys, "summary", str(path), "--json")
    assert rc == 0 and json.loads(out)["base"] is None  # a file names no preset


def test_summary_text_prints_the_paper_base_line(capsys):
    rc, out, _ = run_cli(capsys, "summary", "cspresnet50")
    assert rc == 0
    lines = out.splitlines()
    base = next(ln for ln in lines if ln.startswith("vs paper base"))
    assert base.startswith("vs paper base (resnet50 @256): Parameters -15.4%") and "MACs (conv + linear) -15.4%" in base
    assert any(ln.startswith("vs plain twin (fusion=none): Parameters +62.7%") for ln in lines)
    rc, out, _ = run_cli(capsys, "summary", "resnet50")
    assert "vs paper base" not in out and "vs plain twin" not in out


def test_presets_list_the_paper_base(capsys):
    rc, out, _ = run_cli(capsys, "presets", "--json")
    assert {r["name"]: r["base"] for r in json.loads(out) if r["fusion"] != "none"} == EXPECTED


def test_bench_base_needs_a_preset_with_one(capsys):
    rc, _, err = run_cli(capsys, "bench", "resnet50", "--base")
    assert rc == 2 and "no paper base" in err and len(err.strip().splitlines()) == 1
    rc, _, err = run_cli(capsys, "bench", "cspresnet50", "--base", "--twin")
    assert rc == 2 and "not allowed with" in err


# --------------------------------------------------------------------------- latency against a reference
TINY = CSPConfig(family="densenet", name="tiny", repeats=(2,), growth_rate=8, stem_channels=16, input_size=32,
                 fusion="csp", num_classes=10)
TINY_REF = CSPConfig(family="densenet", name="tiny_ref", repeats=(3,), growth_rate=8, stem_channels=16,
                     input_size=64, num_classes=10)


def test_compare_latency_against_a_reference_design():
    from explorer.real.latency import BenchRequest, compare_latency

    req = BenchRequest(warmup=0, runs=2, per_stage=False)
    rec = compare_latency(TINY, req, rounds=1, reference=TINY_REF, reference_label="paper base tiny_ref")
    assert rec["reference"] == {"kind": "other", "name": "tiny_ref", "label": "paper base tiny_ref"}
    assert rec["twin"]["name"] == "tiny_ref" and rec["twin"]["config"]["input_size"] == 32  # the design's size
    assert rec["comparison"][0]["twin_ms"] == rec["twin"]["results"][0]["median_ms"]
    rec = compare_latency(TINY, req, rounds=1)
    assert rec["reference"] == {"kind": "twin", "name": TINY.twin().name, "label": "plain twin"}


# --------------------------------------------------------------------------- the claims checker
def test_claims_take_the_base_from_the_preset_tables():
    from explorer.paper import reproduce

    assert all(base == paper_base(csp) for csp, base, _ in reproduce.TOOL_PAIRS)
    assert (reproduce.LATENCY_CSP, reproduce.LATENCY_BASE) == ("cspresnet50", "resnet50")
    assert reproduce.ABLATION_BASE[1] == paper_base("csppeleenet") == "peleenet"
    pairs = {t["csp"]: t for t in reproduce._tool_pairs()}
    for csp, base, res in reproduce.TOOL_PAIRS:
        d = compare_with_base(get_preset(csp, input_size=res), base)["deltas"]["macs"]["delta_pct"]
        assert pairs[csp]["compute_delta_pct"] == pytest.approx(d)
    lat = next(c for c in reproduce.claims(measure=False) if "ResNet-50" in c["claim"] and "time" in c["claim"])
    assert lat["computed"]["macs_delta_pct"] == pytest.approx(
        compare_with_base(get_preset("cspresnet50"), "resnet50")["deltas"]["macs"]["delta_pct"])


# --------------------------------------------------------------------------- the pages
def open_app(params: dict) -> AppTest:
    import streamlit as st

    st.cache_data.clear()
    at = AppTest.from_file(APP, default_timeout=60)
    at.query_params.update(params)
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def test_design_page_shows_both_comparisons_labelled():
    at = open_app({"preset": "cspresnet50"})
    assert [m.label for m in at.metric] == ["Params", "MACs", "fvcore MACs", "CIO", "Activations"]
    assert at.metric[1].delta.startswith("+40.8")  # the metrics keep the plain twin
    md = [m.value for m in at.markdown]
    assert any("What the paper compares: vs resnet50 at 256 px" in v for v in md)
    assert any(v.startswith("MACs") and "-15.4 %" in v for v in md)
    caps = " ".join(c.value for c in at.caption)
    assert "the same knobs without CSP" in caps and "They differ because the twin keeps cspresnet50" in caps
    # a design that started from the preset keeps its base, at its own input size
    at.number_input(key="knob_input_size").set_value(320).run()
    assert any("vs resnet50 at 320 px" in m.value for m in at.markdown)


def test_design_page_base_agrees_with_the_twin_for_densenet_and_is_absent_without_one():
    at = open_app({"preset": "cspdensenet201"})
    assert any("vs densenet201 at 224 px" in m.value for m in at.markdown)
    assert any("plain twin *is* densenet201" in c.value for c in at.caption)
    for preset in ("cspdensenet_walkthrough", "resnet50"):
        at = open_app({"preset": preset})
        assert not any("What the paper compares" in m.value for m in at.markdown), preset
        assert len(at.metric) == 5


def test_latency_page_offers_the_paper_base_first(monkeypatch):
    import explorer.real.latency as latency

    at = open_app({"preset": "cspresnet50"})
    at.switch_page("pages/Latency.py").run()
    assert not at.exception
    radio = at.radio(key="lat_against")
    assert radio.options[0].startswith("paper base: resnet50 at 256 px") and radio.value == "base"
    assert any("paper base resnet50" in c.value for c in at.caption)
    seen = {}
    real = latency.compare_latency

    def fake(cfg, req, **kw):  # measure tiny stand-ins; keep what the page asked for
        seen.update(cfg=cfg, **kw)
        return real(TINY, req, reference=TINY_REF, reference_label=kw.get("reference_label"),
                    progress=kw.get("progress"), cancelled=kw.get("cancelled"), on_wait=kw.get("on_wait"), rounds=1)

    monkeypatch.setattr(latency, "compare_latency", fake)
    at.multiselect(key="lat_batches").set_value([1])
    at.number_input(key="lat_runs").set_value(1)
    at.number_input(key="lat_warmup").set_value(0).run()
    at.button(key="lat_start").click().run()
    assert not at.exception and not at.error, [e.value for e in at.error]
    assert seen["reference"] == base_config("resnet50", 256) and seen["reference_label"] == "paper base resnet50"
    charts = [json.loads(c.proto.spec) for c in at.get("plotly_chart")]
    names = [t.get("name", "") for c in charts for t in c["data"]]
    assert any(n.startswith("paper base resnet50") for n in names) and not any("plain twin" in n for n in names)
    assert "paper base resnet50" in charts[1]["layout"]["title"]["text"]
    assert any("tiny_ref median ms" in df.value.columns for df in at.dataframe)
    # the twin is one click away
    at.radio(key="lat_against").set_value("twin").run()
    at.button(key="lat_start").click().run()
    assert seen["reference"] == get_preset("cspresnet50").twin() and seen["reference_label"] == "plain twin"


def test_latency_page_without_a_base_has_no_choice():
    at = open_app(to_query(TINY))
    at.switch_page("pages/Latency.py").run()
    assert not at.exception
    assert not [r for r in at.radio if r.key == "lat_against"]
