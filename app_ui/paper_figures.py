"""Figures and tables for the "Paper vs tool" page (pages/Paper.py).

Pure functions of the plain records that :mod:`explorer.paper.reproduce` returns (``fusion_ablation()``,
``reproduce()``, ``claims()``): no Streamlit, no computation of their own beyond reshaping,
formatting and filtering.  Every figure builder returns a ``go.Figure``.
"""
from __future__ import annotations

import json
import math

import pandas as pd
import plotly.graph_objects as go

from explorer.fmt import json_safe
from explorer.paper.published import APPROX_STATUSES

TOOL_COLOR = "#1f77b4"
PAPER_COLOR = "#7f7f7f"
WHATIF_COLOR = "#aec7e8"

# verdict -> badge colour; the verdicts are explorer.paper.reproduce.VERDICTS (no icons: they need a web font)
VERDICT_BADGES = {
    "holds": "green",
    "holds in part": "orange",
    "does not hold here": "red",
    "not measured": "gray",
}


def verdict_badge(verdict: str) -> str:
    """The colour of a verdict's badge; an unknown verdict gets a neutral one."""
    return VERDICT_BADGES.get(verdict, "blue")


def _num(v) -> float | None:
    if v is None:
        return None
    try:
        f = float(v)
    except (TypeError, ValueError):
        return None
    return f if math.isfinite(f) else None


def _pct_text(v) -> str:
    v = _num(v)
    return "n/a" if v is None else f"{v:+.1f}%"


# --------------------------------------------------------------------------- Figure 4 ablation
def ablation_frame(ablation: dict) -> pd.DataFrame:
    """One row per ablation variant: this tool's and the paper's compute change against PeleeNet."""
    rows = []
    for r in ablation.get("rows", []):
        rows.append({
            "variant": r["label"],
            "preset": r["preset"],
            "fusion": r["fusion"],
            "gamma": _num(r.get("gamma")),
            "tool MMACs": _num(r["macs"]) / 1e6 if _num(r.get("macs")) is not None else None,
            "tool BFLOPs": _num(r.get("bflops")),
            "tool change %": _num(r.get("tool_delta_pct")),
            "paper BFLOPs": _num(r.get("paper_bflops")),
            "paper change %": _num(r.get("paper_delta_pct")),
            "difference (pts)": _num(r.get("difference_pts")),
            "same direction": bool(r.get("same_sign")),
            "what-if: transition after the pool %": _num(r.get("pool_first_delta_pct")),
            "paper value": "approximate" if r.get("paper_status") in APPROX_STATUSES else "exact",
            "paper top-1 change (pts)": _num(r.get("paper_top1_delta")),
        })
    return pd.DataFrame(rows)


def ablation_figure(ablation: dict, what_if: bool = True) -> go.Figure:
    """Grouped bars: compute change against PeleeNet (%), this tool beside the paper, per variant.

    The paper's approximate values (read off Figure 4, or derived from the text's rounded
    percentages) are hatched.  ``what_if`` adds, for the full-CSP variants, this tool's count for the
    layout with every pooled transition's 1x1 conv after its 2x2 pool (a hypothesis, not a preset:
    the one the module finds consistent with the paper's CSPPeleeNet numbers).
    """
    rows = ablation.get("rows", [])
    labels = [r["label"] for r in rows]
    tool = [_num(r.get("tool_delta_pct")) for r in rows]
    paper = [_num(r.get("paper_delta_pct")) for r in rows]
    approx = [r.get("paper_status") in APPROX_STATUSES for r in rows]
    fig = go.Figure()
    fig.add_bar(name="this tool (conv+linear MACs)", x=labels, y=tool, marker_color=TOOL_COLOR,
                text=[_pct_text(v) for v in tool], textposition="outside", cliponaxis=False,
                customdata=[[r["preset"]] for r in rows],
                hovertemplate="%{x}<br>this tool: %{y:+.1f}% MACs vs PeleeNet<br>preset %{customdata[0]}"
                              "<extra></extra>")
    fig.add_bar(name="paper (Darknet BFLOPs; hatched = approximate)", x=labels, y=paper,
                marker=dict(color=PAPER_COLOR, pattern=dict(shape=["/" if a else "" for a in approx],
                                                            fgcolor="white", fillmode="overlay", solidity=0.3)),
                text=[_pct_text(v) for v in paper], textposition="outside", cliponaxis=False,
                customdata=[["approximate" if a else "exact"] for a in approx],
                hovertemplate="%{x}<br>paper: %{y:+.1f}% BFLOPs vs PeleeNet (%{customdata[0]})<extra></extra>")
    if what_if:
        # the hypothesis moves the transition that follows the concat: only the full-CSP layout has one
        wf = [_num(r.get("pool_first_delta_pct")) if r.get("fusion") == "csp" else None for r in rows]
        fig.add_bar(name="this tool, what-if: transition after the 2x2 pool (full CSP)", x=labels, y=wf,
                    marker_color=WHATIF_COLOR, text=[_pct_text(v) if v is not None else "" for v in wf],
                    textposition="outside", cliponaxis=False,
                    hovertemplate="%{x}<br>what-if layout: %{y:+.1f}% MACs vs PeleeNet<extra></extra>")
    shown = [v for d in fig.data for v in d.y if v is not None]
    lo, hi = min(shown + [0.0]), max(shown + [0.0])
    pad = max(4.0, 0.15 * (hi - lo))  # room for the value labels above and below the bars
    base = ablation.get("base") or {}
    fig.add_hline(y=0, line_color="#333", line_width=1)
    fig.update_layout(
        barmode="group", height=440, bargap=0.25, margin=dict(l=10, r=10, t=80, b=10),
        title=dict(text=f"Compute change against plain {base.get('label', 'PeleeNet')} at 224x224 (%)", x=0.01,
                   y=0.98),
        yaxis=dict(title="change vs PeleeNet (%)", ticksuffix="%", zeroline=False, range=[lo - pad, hi + pad]),
        xaxis=dict(title=None),
        legend=dict(orientation="h", yanchor="bottom", y=1.02, xanchor="left", x=0.0, title=None),
        hovermode="closest", uniformtext=dict(minsize=9, mode="show"),
    )
    return fig


def ablation_summary(ablation: dict) -> list[str]:
    """Plain sentences: the full-CSP result, the ordering, the gamma effect (from the module's numbers)."""
    rows = {r["preset"]: r for r in ablation.get("rows", [])}
    out = []
    csp = rows.get("csppeleenet")
    if csp:
        tool, paper, wf = (_num(csp.get(k)) for k in ("tool_delta_pct", "paper_delta_pct", "pool_first_delta_pct"))
        if tool is not None and tool > 0:
            text = (f"This tool's full-CSP PeleeNet costs more than the plain PeleeNet: {_pct_text(tool)} MACs, "
                    f"where the paper reports {_pct_text(paper)}. The cause is the channel-keeping partial "
                    "transition: an extra 1x1 conv on the block path of every stage, at the stage's full "
                    "resolution, which costs more than halving the dense layers saves.")
        else:
            text = (f"This tool's full-CSP PeleeNet changes the compute by {_pct_text(tool)} MACs against the "
                    f"plain PeleeNet; the paper reports {_pct_text(paper)}.")
        if wf is not None:
            near = paper is not None and abs(wf - paper) <= 3.0
            text += (" If the transition after the concat ran after the 2x2 pool instead (a layout hypothesis; "
                     f"the authors' cfg was never released), this tool would count {_pct_text(wf)}"
                     + (", close to the paper's number." if near else f", against the paper's {_pct_text(paper)}."))
        out.append(text)
    order = ablation.get("ordering") or {}
    if order:
        strip = [lbl.split(" (")[0] for lbl in order.get("tool", [])]
        pstrip = [lbl.split(" (")[0] for lbl in order.get("paper", [])]
        if order.get("agree"):
            out.append(f"Cheapest first, this tool and the paper order the fusions alike: {' < '.join(strip)}.")
        else:
            out.append(f"Cheapest first, this tool orders the fusions {' < '.join(strip)}; the paper's Figure 4 "
                       f"{' < '.join(pstrip)} (its fusion-first and fusion-last values are read off the plot).")
    gam = ablation.get("gamma_effect") or {}
    if gam:
        parts, signs = [], set()
        for name, g in gam.items():
            t, p = _num(g.get("tool_pts")), _num(g.get("paper_pts"))
            if t is None or p is None:
                continue
            signs.update({t > 0, p > 0})
            parts.append(f"{name.replace('_', ' ')}: this tool {t:+.1f} points, paper {p:+.1f}")
        if parts:
            verb = ("adds compute in both" if signs == {True} else "saves compute in both" if signs == {False}
                    else "moves the compute")
            out.append("Going from gamma = 0.5 to gamma = 0.25 (a quarter of the channels bypass the block instead of "
                       f"half) {verb}: " + "; ".join(parts) + ".")
    return out


# --------------------------------------------------------------------------- published vs this tool
REPRODUCE_COLUMNS = ["model", "source", "res", "compute published", "unit", "compute tool", "compute diff %",
                     "params published (M)", "params tool (M)", "params diff %", "rounds to published", "reason",
                     "preset", "family", "convention", "counted on", "params convention"]
NUMERIC_COLUMNS = ("compute published", "compute tool", "compute diff %", "params published (M)", "params tool (M)",
                   "params diff %")


def _families(records: list, published: pd.DataFrame | None) -> list:
    """The published family of every record (records carry no family; they follow the data set's
    order of rows with a preset, so match in that order and fall back to the model name)."""
    if published is None or published.empty:
        return [None] * len(records)
    mapped = published[published["preset"].notna()] if "preset" in published else published.iloc[0:0]
    if len(mapped) == len(records) and list(mapped["model"]) == [r["model"] for r in records]:
        return list(mapped["family"])
    by_model = dict(zip(published["model"][::-1], published["family"][::-1]))  # first occurrence wins
    return [by_model.get(r["model"]) for r in records]


def reproduce_frame(records: list, published: pd.DataFrame | None = None) -> pd.DataFrame:
    """:func:`explorer.paper.reproduce.reproduce` records as one flat table (with the published family)."""
    fams = _families(records, published)
    rows = []
    for r, fam in zip(records, fams):
        params_tool = _num(r.get("params_tool_same_convention"))
        rounds = r.get("compute_rounds_to_published")
        if rounds is None:
            rounds = r.get("params_rounds_to_published")
        rows.append({
            "model": r["model"], "family": fam, "source": r["source_group"], "preset": r["preset"],
            "res": r["res"],
            "params published (M)": _num(r.get("params_published_M")),
            "params tool (M)": None if params_tool is None else params_tool / 1e6,
            "params convention": r.get("params_convention"),
            "params diff %": _num(r.get("params_diff_pct")),
            "compute published": _num(r.get("compute_published")), "unit": r.get("compute_unit"),
            "compute tool": _num(r.get("compute_tool")), "convention": r.get("convention"),
            "counted on": r.get("counted_on") or "",
            "compute diff %": _num(r.get("compute_diff_pct")),
            "rounds to published": rounds,
            "reason": r.get("reason") or "",
        })
    frame = pd.DataFrame(rows, columns=REPRODUCE_COLUMNS)
    for col in NUMERIC_COLUMNS:  # None -> NaN, so the columns stay numeric (sortable, formatted)
        frame[col] = pd.to_numeric(frame[col], errors="coerce").astype(float)
    return frame


# the comparison first (a narrow page shows it without scrolling), then how it was counted and where it is from
DETECTION_COLUMNS = ["model", "preset", "AP published", "compute published", "compute tool", "compute diff %",
                     "at the real size", "params published (M)", "params tool (M)", "params diff %",
                     "rounds to published", "unit", "convention", "counted on", "res", "series", "source", "reason"]
DETECTION_NUMERIC = ("AP published", "params published (M)", "params tool (M)", "params diff %", "compute tool",
                     "compute diff %", "at the real size")   # the published compute stays as printed (text)


def detection_frame(records: list) -> pd.DataFrame:
    """The records of :func:`explorer.paper.reproduce.reproduce_detection` that a preset builds, as one table:
    published AP (cited), params and compute against this tool's count in the row's convention, and the same
    model counted at the row's real size (no probe) for comparison."""
    rows = []
    for r in records:
        if not r.get("preset") or r.get("compute_tool") is None:
            continue
        params_tool = _num(r.get("params_tool_same_convention"))
        rounds = r.get("compute_rounds_to_published")
        rows.append({
            "model": r["model"], "series": r.get("series"), "source": r["source_group"], "preset": r["preset"],
            "res": r["res"], "AP published": _num(r.get("ap_published")),
            "params published (M)": _num(r.get("params_published_M")),
            "params tool (M)": None if params_tool is None else params_tool / 1e6,
            "params diff %": _num(r.get("params_diff_pct")),
            "compute published": r.get("compute_printed"), "compute tool": _num(r.get("compute_tool")),
            "unit": r.get("compute_unit"), "convention": r.get("row_convention_label"),
            "counted on": r.get("counted_on") or "", "compute diff %": _num(r.get("compute_diff_pct")),
            "rounds to published": bool(rounds and r.get("params_rounds_to_published") is not False),
            "at the real size": _num(r.get("compute_at_real_size")), "reason": r.get("reason") or "",
        })
    frame = pd.DataFrame(rows, columns=DETECTION_COLUMNS)
    for col in DETECTION_NUMERIC:
        frame[col] = pd.to_numeric(frame[col], errors="coerce").astype(float)
    return frame


def detection_unbuilt(records: list) -> pd.DataFrame:
    """The detection records no preset builds, one row per reason: why, how many rows, which models."""
    groups: dict = {}
    for r in records:
        if not r.get("preset"):
            groups.setdefault(r.get("preset_note") or "", []).append(r["model"])
    return pd.DataFrame([{"why not reproduced": note, "rows": len(models), "models": ", ".join(dict.fromkeys(models))}
                         for note, models in groups.items()], columns=["why not reproduced", "rows", "models"])


LINEAGE_COLUMNS = {"source": "source", "resolutions": "res (px)", "published": "published",
                   "this_tool": "this tool", "reproduced": "reproduced to the printed digits",
                   "counted_on": "compute counted on", "params_counted_on": "params counted on",
                   "convention": "convention", "unit": "unit (as this data set names it)"}


def lineage_frame(columns: list) -> pd.DataFrame:
    """:func:`explorer.paper.reproduce.lineage_columns` as one table: each published compute column of
    CSP's modern lineage, how its source counted, and how many rows this tool reproduces."""
    rows = [{
        "source": c["source"], "unit": c["unit"], "convention": c["convention"], "counted_on": c["counted_on"],
        "params_counted_on": c["params_counted_on"], "resolutions": ", ".join(str(r) for r in c["resolutions"]),
        "published": c["published"], "this_tool": c["this_tool"],
        "reproduced": f"compute {c['compute_reproduced']}/{c['rows']}, params {c['params_reproduced']}/{c['rows']}",
    } for c in columns]
    return pd.DataFrame(rows, columns=list(LINEAGE_COLUMNS)).rename(columns=LINEAGE_COLUMNS)


def rounds_count(frame: pd.DataFrame) -> tuple[int, int]:
    """(rows whose compute rounds to the published digits, rows with a published compute) of a
    :func:`reproduce_frame` table."""
    has = frame["compute published"].notna()
    return int(frame.loc[has, "rounds to published"].map(lambda v: v is True).sum()), int(has.sum())


def filter_mask(frame: pd.DataFrame, families=None, sources=None, with_compute: bool = False) -> pd.Series:
    """Which rows of a :func:`reproduce_frame` table match; empty or None filters keep everything."""
    mask = pd.Series(True, index=frame.index)
    if families:
        mask &= frame["family"].isin(list(families))
    if sources:
        mask &= frame["source"].isin(list(sources))
    if with_compute:
        mask &= frame["compute published"].notna()
    return mask


def row_label(row) -> str:
    """'CSPResNet-50 (timm, 256 px) -> cspresnet50' for a preset picker."""
    return f"{row['model']} ({row['source']}, {int(row['res'])} px) -> {row['preset']}"


def frame_csv(frame: pd.DataFrame) -> str:
    return frame.to_csv(index=False)


def records_json(records: list) -> str:
    """Records (e.g. ``reproduce()``) as strict JSON: NaN -> null."""
    return json.dumps(json_safe(records), indent=1, allow_nan=False, default=str)


# --------------------------------------------------------------------------- claims
def _scalar(v) -> str:
    if isinstance(v, bool):
        return "yes" if v else "no"
    if isinstance(v, float):
        return f"{v:.4g}"
    if isinstance(v, (list, tuple)) and all(not isinstance(x, (dict, list, tuple)) for x in v):
        return ", ".join(_scalar(x) for x in v)
    return str(v)


def _label(key: str) -> str:
    return key.replace("_", " ")


def computed_tables(computed: dict) -> list[tuple[str, pd.DataFrame]]:
    """A claim's ``computed`` numbers as (title, table) pairs: a list of records becomes a table of its
    own, every scalar (nested dicts flattened to 'a / b') goes into one 'value' table."""
    tables: list = []
    scalars: list = []

    def walk(prefix: str, v) -> None:
        if isinstance(v, dict):
            if v and all(not isinstance(x, (dict, list, tuple)) for x in v.values()) and prefix and len(v) > 3:
                tables.append((prefix, pd.DataFrame({"item": [_label(k) for k in v],
                                                     "value": [_scalar(x) for x in v.values()]})))
                return
            for k, x in v.items():
                walk(f"{prefix} / {_label(k)}" if prefix else _label(k), x)
        elif isinstance(v, (list, tuple)) and v and all(isinstance(x, dict) for x in v):
            flat = [{_label(k): (_scalar(x) if isinstance(x, (dict, list, tuple)) else x) for k, x in d.items()}
                    for d in v]
            tables.append((prefix, pd.DataFrame(flat)))
        elif isinstance(v, (list, tuple)) and not v:
            scalars.append((prefix, "none"))
        else:
            scalars.append((prefix, _scalar(v)))

    walk("", computed or {})
    out = []
    if scalars:
        out.append(("numbers", pd.DataFrame(scalars, columns=["item", "value"])))
    return out + tables


def claims_frame(claims: list) -> pd.DataFrame:
    """One row per claim (claim, verdict, reason), e.g. for a summary or a download."""
    return pd.DataFrame([{"claim": c.get("claim"), "verdict": c.get("verdict"), "source": c.get("source"),
                          "reason": c.get("reason"), "accuracy": c.get("accuracy")} for c in claims],
                        columns=["claim", "verdict", "source", "reason", "accuracy"])


__all__ = ["ablation_frame", "ablation_figure", "ablation_summary", "reproduce_frame", "lineage_frame", "rounds_count",
           "filter_mask", "row_label", "frame_csv", "records_json", "computed_tables", "claims_frame", "verdict_badge",
           "VERDICT_BADGES", "REPRODUCE_COLUMNS", "LINEAGE_COLUMNS"]
