"""Step 4's fusion strategies and the paper's Fig. 4 ablation: the lesson's stage in each layout
against the plain stage (``fusion_rows``, with fusion last at equal width), the whole CSPPeleeNet
networks against PeleeNet as published and as this app counts them (``network_rows``, read through
``explorer.paper.reproduce.fusion_ablation``, the Paper page's source), Fig. 4's points and the verdict
that keeps the two scales apart.
"""
from __future__ import annotations

import math

from cspnet import CSPConfig
from explorer.lesson.designs import (
    FUSION_NAMES,
    FUSION_ORDER,
    SHORT_NAMES,
    _pct,
    _stage,
    _twin_stage,
    lesson_design,
)
from explorer.lesson.steps import step_design
from explorer.paper.published import APPROX_STATUSES
from explorer.paper.reproduce import fusion_ablation

PAPER_SOURCE = ("CSPNet paper (Wang et al., CVPRW 2020), Fig. 4: CSPPeleeNet variants on ILSVRC2012, "
                "compute (BFLOPs) and top-1 relative to PeleeNet")
# the whole networks of the paper's Fig. 4 (gamma = 0.5), as this app's presets
PELEE_PRESETS = {"csp": "csppeleenet", "fusion_first": "csppeleenet_fusion_first",
                 "fusion_last": "csppeleenet_fusion_last"}
# how sure a published value is (explorer/paper/data/PUBLISHED.md, ``value_status``), in words
STATUS_WORDS = {"exact": "exact, as published", "approx_from_figure": "approximate, read off Fig. 4",
                "derived_from_text_pct": "approximate, from the text's rounded percentages"}


def equal_width_ratio(values: dict | None = None) -> float | None:
    """The partial transition ratio at which the lesson's fusion-last stage outputs as many
    channels as the plain stage (its width is part 1 + floor(block x ratio), the others' the
    transition's): the shortest decimal that gives exactly that width, or None if none does."""
    plain = _stage(step_design("fusion", {**(values or {}), "fusion": "none"})).taps["output"][0]
    last = _stage(step_design("fusion", {**(values or {}), "fusion": "fusion_last"}))
    part1, block = last.taps.get("part1", (0,))[0], last.taps["block"][0]
    if plain <= part1:
        return None
    exact = (plain - part1) / block
    for digits in (2, 3, 4, 6):
        r = math.ceil(exact * 10 ** digits) / 10 ** digits
        if part1 + math.floor(block * r) == plain:
            return r
    return None


def fusion_rows(values: dict | None = None) -> list:
    """One row per fusion strategy: the lesson's stage (one DenseNet-121 stage) against the plain
    stage, computed.  Whole networks are :func:`network_rows`, kept apart.  The fusion-last row
    also carries ``equal_width``: the same stage with the partial transition ratio that gives it the
    plain stage's output width (None if no ratio does)."""
    rows = []
    for f in FUSION_ORDER:
        cfg = step_design("fusion", {"fusion": f})
        rows.append(_stage_row(f, FUSION_NAMES[f], cfg))
    ratio = equal_width_ratio()
    for r in rows:
        if r["fusion"] == "fusion_last":
            r["equal_width"] = None if ratio is None else _stage_row(
                "fusion_last", f"{FUSION_NAMES['fusion_last']}, equal width",
                lesson_design(fusion="fusion_last", transition_ratio=ratio, name="lesson_fusion_last_equal_width"))
    return rows


def _stage_row(fusion: str, name: str, cfg: CSPConfig) -> dict:
    d, t = _twin_stage(cfg)
    return {"fusion": fusion, "name": name, "transition_ratio": cfg.transition_ratio,
            "output_channels": _stage(cfg).taps["output"][0],
            "plain_output_channels": _stage(cfg.replace(fusion="none")).taps["output"][0],
            "stage_macs_pct": _pct(d["macs"], t["macs"]), "stage_params_pct": _pct(d["params"], t["params"]),
            "stage_cio_pct": _pct(d["cio"], t["cio"])}


def network_rows() -> list:
    """The paper's Fig. 4 on whole networks (CSPPeleeNet variants against PeleeNet, gamma = 0.5)
    beside this app's count of the same presets: what the Paper page shows
    (``explorer.paper.reproduce.fusion_ablation``), with each published value's status."""
    by_preset = {r["preset"]: r for r in fusion_ablation()["rows"]}
    out = []
    for f in ("fusion_first", "fusion_last", "csp"):
        r = by_preset[PELEE_PRESETS[f]]
        out.append({"fusion": f, "name": FUSION_NAMES[f], "preset": r["preset"],
                    "tool_pct": r["tool_delta_pct"], "paper_pct": r["paper_delta_pct"],
                    "paper_status": r["paper_status"], "approximate": r["paper_status"] in APPROX_STATUSES,
                    "status_words": STATUS_WORDS.get(r["paper_status"], r["paper_status"]),
                    "paper_top1_pts": r["paper_top1_delta"]})
    return out


def paper_number(fusion: str) -> dict | None:
    """The paper's whole-network numbers for ``fusion`` (a :func:`network_rows` row), or None."""
    return next((r for r in network_rows() if r["fusion"] == fusion), None)


def fusion_verdict(rows: list, network: list | None = None) -> str:
    """Plain words: the ordering on the lesson's stage (with the width caveat), then, apart, the
    whole networks: the paper's Fig. 4 against this app's count of the same presets."""
    r = {x["fusion"]: x for x in rows}
    fusions = ("fusion_first", "fusion_last", "csp")
    st_order = sorted(fusions, key=lambda f: r[f]["stage_macs_pct"])
    parts = ["On the lesson's stage (one DenseNet-121 stage, computed) the cheapest is " + ", then ".join(
        f"{SHORT_NAMES[f]} ({r[f]['stage_macs_pct']:+.1f} % MACs)" for f in st_order) + "."]
    last = r["fusion_last"]
    if last["output_channels"] != last["plain_output_channels"]:
        eq = last.get("equal_width")
        parts.append(f"Fusion last outputs {last['output_channels']} channels where the others output "
                     f"{last['plain_output_channels']}, so it is a wider design"
                     + (f"; at equal width (partial transition ratio {eq['transition_ratio']:g}, "
                        f"{eq['output_channels']} channels out) it changes the MACs by {eq['stage_macs_pct']:+.1f} %."
                        if eq else "."))
    net = network if network is not None else network_rows()
    if net:
        txt = [f"{SHORT_NAMES[x['fusion']]}: paper {x['paper_pct']:+.1f} % ({x['status_words']}), "
               f"this app {x['tool_pct']:+.1f} %" + ("" if (x["paper_pct"] < 0) == (x["tool_pct"] < 0)
                                                     else " (opposite sign)") for x in net]
        agree = all((x["paper_pct"] < 0) == (x["tool_pct"] < 0) for x in net)
        parts.append("Whole networks are another scale: for the CSPPeleeNet variants against PeleeNet "
                     "(compute, 224×224): " + "; ".join(txt) + ". "
                     + ("The signs agree with the paper." if agree else
                        "Where the signs differ, this app's reading of the unreleased CSPPeleeNet layout "
                        "does not reproduce the paper's saving (its cfg was never published; see the Paper page)."))
    return " ".join(parts)


def fig4_points() -> list:
    """The paper's Fig. 4: compute (BFLOPs) against top-1 for PeleeNet and the CSPPeleeNet variants
    (published values, with their status), beside this app's BFLOPs for the same presets."""
    a = fusion_ablation()
    b = a["base"]
    out = [{"label": b["label"], "preset": b["preset"], "paper_bflops": b["paper_bflops"], "top1": b["paper_top1"],
            "tool_bflops": b["bflops"], "status": "exact", "approximate": False}]
    for r in a["rows"]:
        out.append({"label": r["label"], "preset": r["preset"], "paper_bflops": r["paper_bflops"],
                    "top1": r["paper_top1"], "tool_bflops": r["bflops"], "status": r["paper_status"],
                    "approximate": r["paper_status"] in APPROX_STATUSES})
    return out
