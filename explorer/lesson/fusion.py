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
STATUS_SHORT = {"exact": "exact", "approx_from_figure": "≈ read off Fig. 4", "derived_from_text_pct": "≈ from the text"}


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
                    "status_short": STATUS_SHORT.get(r["paper_status"], r["paper_status"]),
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


# --------------------------------------------------------------------------- the paper's headline saving
HEADLINE_PAIRS = (("cspdensenet121", "densenet121"), ("csppeleenet", "peleenet"))
PAPER_HEADLINE = "reduces computations by 20 %"   # the abstract: 'reduces computations by 20% with ...'


def _macs_pct(preset: str, base: str, **changes) -> dict:
    from cspnet import get_preset, plan_network
    from explorer.counts.conventions import count
    from explorer.paper.reproduce import pool_first_macs

    b = count(plan_network(get_preset(base)), "macs")
    plan = plan_network(get_preset(preset).replace(**changes) if changes else get_preset(preset))
    return {"pct": _pct(count(plan, "macs"), b), "pool_first_pct": _pct(pool_first_macs(plan), b)}


def fusion_last_matching_ratio(target_pct: float, lo: float = 0.5, hi: float = 2.0, step: float = 0.05) -> dict:
    """The partial transition ratio (on a ``step`` grid) at which this app's CSPPeleeNet fusion last comes
    closest to ``target_pct`` (the paper's compute change against PeleeNet): ``{"ratio", "pct"}``."""
    best = None
    for i in range(int(round((hi - lo) / step)) + 1):
        r = round(lo + i * step, 4)
        pct = _macs_pct(PELEE_PRESETS["fusion_last"], "peleenet", transition_ratio=r)["pct"]
        if best is None or abs(pct - target_pct) < abs(best["pct"] - target_pct):
            best = {"ratio": r, "pct": pct}
    return best


def headline_rows() -> list:
    """Why this app's DenseNet-family CSP presets cost more than their bases where the paper saves, and a
    layout that reproduces the saving: per CSP network against its base (whole networks, 224×224), this
    app's MACs change, the paper's compute change (where published) and the change with every pooled
    transition's 1×1 conv moved after its 2×2 pool (``explorer.paper.reproduce.pool_first_macs``, the Paper
    page's what-if), then the Fig. 4 fusions.  Rows: {"name", "preset", "base", "tool_pct", "paper_pct",
    "paper_words", "pool_first_pct"}."""
    abl = {r["preset"]: r for r in fusion_ablation()["rows"]}
    rows = []
    for preset, base in HEADLINE_PAIRS:
        m = _macs_pct(preset, base)
        a = abl.get(preset)
        rows.append({"name": f"{preset} against {base}", "preset": preset, "base": base, "tool_pct": m["pct"],
                     "paper_pct": a["paper_delta_pct"] if a else None,
                     "paper_words": (STATUS_WORDS.get(a["paper_status"], a["paper_status"]) if a else
                                     "not published (the abstract: 20 % less)"),
                     "status_short": STATUS_SHORT.get(a["paper_status"], a["paper_status"]) if a else "not published",
                     "pool_first_pct": m["pool_first_pct"]})
    for f in ("fusion_first", "fusion_last"):
        a = abl[PELEE_PRESETS[f]]
        rows.append({"name": f"{SHORT_NAMES[f]} CSPPeleeNet against peleenet", "preset": a["preset"],
                     "base": "peleenet", "tool_pct": a["tool_delta_pct"], "paper_pct": a["paper_delta_pct"],
                     "paper_words": STATUS_WORDS.get(a["paper_status"], a["paper_status"]),
                     "status_short": STATUS_SHORT.get(a["paper_status"], a["paper_status"]),
                     "pool_first_pct": a["pool_first_delta_pct"]})
    return rows


def headline_text(rows: list | None = None) -> str:
    """Plain words for :func:`headline_rows`: why the presets cost more, the layout that reproduces the
    paper's saving, and why the fusion order differs."""
    rows = rows if rows is not None else headline_rows()
    by = {r["preset"]: r for r in rows}
    pelee, dn = by["csppeleenet"], by["cspdensenet121"]
    ff, fl = by[PELEE_PRESETS["fusion_first"]], by[PELEE_PRESETS["fusion_last"]]
    match = fusion_last_matching_ratio(fl["paper_pct"])
    why = (f"**Why CSP costs more here than in the paper.** In this app full CSP is {dn['tool_pct']:+.1f} % MACs for "
           f"cspdensenet121 and {pelee['tool_pct']:+.1f} % for csppeleenet, where the paper reports "
           f"{pelee['paper_pct']:+.1f} % for CSPPeleeNet and, in its abstract, that CSP '{PAPER_HEADLINE}'.  The "
           "paper did not publish the transition widths or where the transitions sit (no CSPDenseNet or CSPPeleeNet "
           "cfg was released), so these presets read Fig. 3b with a partial transition that keeps the block's width "
           "at the stage's full resolution: an extra 1×1 conv per stage that outweighs the split's saving (steps 2 "
           "and 3).")
    gap = abs(pelee["pool_first_pct"] - pelee["paper_pct"])
    layout = (f"**A layout that reproduces the saving:** move each transition's 1×1 conv after its 2×2 pool (it "
              f"then runs on a quarter of the pixels) and csppeleenet is {pelee['pool_first_pct']:+.1f} % against "
              f"PeleeNet, {gap:.1f} points from the paper's {pelee['paper_pct']:+.1f} %: one layout consistent with "
              "the paper's number, not a verified one (for cspdensenet121 it gives "
              f"{dn['pool_first_pct']:+.1f} %, still no saving).")
    order = (f"**The fusion order** hangs on the same unpublished widths: the paper has fusion first "
             f"{ff['paper_pct']:+.1f} % and fusion last {fl['paper_pct']:+.1f} % ({ff['paper_words']}), this app "
             f"{ff['tool_pct']:+.1f} % and {fl['tool_pct']:+.1f} %, because here fusion first's one transition reads "
             "both parts (C + n·k channels, as PeleeNet's) and fusion last's only the block path.  With fusion "
             f"last's transition at ratio {match['ratio']:g} instead of 1 it is {match['pct']:+.1f} % (the paper: "
             f"{fl['paper_pct']:+.1f} %); with fusion first's transition after the pool it is "
             f"{ff['pool_first_pct']:+.1f} %")
    order += (": under those two layouts fusion first is the cheaper, as in the paper." if
              ff["pool_first_pct"] < match["pct"] else ": still not the paper's order.")
    return "\n\n".join((why, layout, order))


GAMMA_PAIRS = (("csppeleenet", "csppeleenet_gamma025"), ("csppeleenet_fusion_last", "csppeleenet_fusion_last_gamma025"))


def gamma_rows() -> list:
    """Fig. 4's γ = 0.25 points beside their γ = 0.5 twins (whole CSPPeleeNet networks against PeleeNet):
    {"name", "preset", "gamma", "split_ratio", "tool_pct", "paper_pct", "paper_top1_pts", "status_words"}."""
    by = {r["preset"]: r for r in fusion_ablation()["rows"]}
    out = []
    for pair in GAMMA_PAIRS:
        for p in pair:
            r = by[p]
            out.append({"name": r["label"], "preset": p, "gamma": r["gamma"], "split_ratio": r["split_ratio"],
                        "tool_pct": r["tool_delta_pct"], "paper_pct": r["paper_delta_pct"],
                        "paper_top1_pts": r["paper_top1_delta"],
                        "status_words": STATUS_WORDS.get(r["paper_status"], r["paper_status"])})
    return out


def gamma_text(rows: list | None = None) -> str:
    """Plain words on Fig. 4's γ = 0.25 points: what γ = 0.25 means, and what it changes in compute and top-1
    (published) and in this app's count."""
    by = {r["preset"]: r for r in (rows if rows is not None else gamma_rows())}
    bits = []
    for half, quarter in GAMMA_PAIRS:
        a, b = by[half], by[quarter]
        top = ("" if a["paper_top1_pts"] is None or b["paper_top1_pts"] is None else
               f", top-1 {a['paper_top1_pts']:+.1f} → {b['paper_top1_pts']:+.1f} points")
        bits.append(f"{a['name']}: compute {a['paper_pct']:+.1f} % → {b['paper_pct']:+.1f} % in the paper{top} "
                    f"(this app: {a['tool_pct']:+.1f} % → {b['tool_pct']:+.1f} % MACs)")
    g = by[GAMMA_PAIRS[0][1]]
    return (f"**Fig. 4's γ = {g['gamma']:g} points.** γ is the share that bypasses the block: at γ = {g['gamma']:g} "
            f"a share of {g['gamma']:g} of each stage's channels bypasses the block and {g['split_ratio']:g} goes "
            f"through it (split ratio "
            f"{g['split_ratio']:g} on this step's slider): the dense layers read more channels, so they save less "
            "compute, and they have more to learn from.  Against PeleeNet (whole networks; the γ = 0.25 values are "
            f"{g['status_words']}): " + "; ".join(bits) + ".  Less bypass costs compute and buys a little accuracy: "
            "the paper's trade-off between the two, read along γ.")
