"""Plotly figures for the app, built from plain data (no Streamlit).

``tradeoff_figure``: published ImageNet top-1 against compute (GMACs, normalised from each
source's unit by ``explorer.paper.published``), with the user's design and its plain twin drawn at their
computed compute: as a marker at the published top-1 when the design is a preset with a published
accuracy (``explorer.paper.published.published_accuracy``), else as a vertical line, its accuracy
unknown (nobody trained it), with no y value.
"""
from __future__ import annotations

import math

import pandas as pd
import plotly.graph_objects as go

PALETTE = ("#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2", "#7f7f7f",
           "#bcbd22", "#17becf", "#393b79", "#637939", "#8c6d31", "#843c39", "#7b4173")
SYMBOLS = ("circle", "diamond", "square", "triangle-up", "x", "star", "cross", "triangle-down",
           "pentagon", "hexagon")
DESIGN_COLOR = "#d62728"
DESIGN_SYMBOL = "hexagram"  # a design at a published accuracy: a symbol no source group uses (SYMBOLS)
TWIN_COLOR = "#555555"

# customdata columns of every published point (the app reads them back from a click)
CUSTOMDATA = ("row", "preset", "model")


def plottable(df: pd.DataFrame) -> pd.DataFrame:
    """Rows that have both a normalised compute and a top-1 accuracy."""
    return df[df["gmacs"].notna() & df["top1"].notna()]


def _fmt(v, digits=3) -> str:
    if v is None or (isinstance(v, float) and math.isnan(v)):
        return "n/a"
    return f"{v:.{digits}g}" if isinstance(v, float) else str(v)


def _hover(row) -> str:
    res = "not stated" if pd.isna(row["res"]) else f"{int(row['res'])} px"
    approx = " (approximate)" if bool(row.get("approximate", False)) else ""
    preset = row["preset"] if isinstance(row["preset"], str) and row["preset"] else None
    lines = [
        f"<b>{row['model']}</b>",
        f"top-1 {row['top1']:.2f} %{approx}",
        f"compute as published: {_fmt(row['compute'], 4)} {row['compute_unit']}",
        f"= {row['gmacs']:.3g} GMACs (normalised)",
        f"resolution: {res}",
        f"status: {row['value_status']}",
        f"source: {row['source_group']}",
        f"preset: {preset}, click to load it" if preset else "no preset for this model",
    ]
    return "<br>".join(lines)


def tradeoff_figure(df: pd.DataFrame, design: dict | None = None, twin: dict | None = None,
                    color_by: str = "family", log_x: bool = False) -> go.Figure:
    """Published top-1 vs GMACs, one trace per ``color_by`` value, plus the design and its twin.

    ``design`` / ``twin``: ``{"gmacs": float, "label": str, "detail": str, "published": dict | None}``
    or None. With ``published`` (``explorer.paper.published.published_accuracy``) the design is a
    marker (DESIGN_SYMBOL) at its published top-1; without, a vertical line (accuracy unknown).
    Each published point carries customdata (row index, preset or "", model).
    """
    pts = plottable(df)
    fig = go.Figure()
    groups = list(dict.fromkeys(pts[color_by].tolist())) if len(pts) else []
    symbol_groups = list(dict.fromkeys(pts["source_group"].tolist())) if len(pts) else []
    for gi, g in enumerate(groups):
        sub = pts[pts[color_by] == g]
        fig.add_trace(go.Scatter(
            x=sub["gmacs"].tolist(), y=sub["top1"].tolist(), mode="markers", name=str(g),
            marker=dict(
                color=PALETTE[gi % len(PALETTE)], size=[9 if isinstance(p, str) and p else 7 for p in sub["preset"]],
                symbol=[SYMBOLS[symbol_groups.index(s) % len(SYMBOLS)] for s in sub["source_group"]],
                line=dict(width=[1.5 if bool(c) else 0 for c in sub["is_csp"]], color="#222222"),
                opacity=[0.55 if bool(a) else 0.9 for a in sub["approximate"]],
            ),
            customdata=[[int(i), (p if isinstance(p, str) else ""), m]
                        for i, p, m in zip(sub.index, sub["preset"], sub["model"])],
            hovertext=[_hover(r) for _, r in sub.iterrows()], hoverinfo="text",
        ))
    if color_by != "source_group":  # marker symbols show the source: legend entries without points
        for si_, g in enumerate(symbol_groups):
            fig.add_trace(go.Scatter(x=[None], y=[None], mode="markers", name=f"source: {g}",
                                     legendgroup="sources", hoverinfo="skip",
                                     marker=dict(color="#888888", size=8, symbol=SYMBOLS[si_ % len(SYMBOLS)])))
    ys = pts["top1"].tolist() + [s["published"]["top1"] for s in (design, twin) if s and s.get("published")]
    y_lo, y_hi = (min(ys) - 1.0, max(ys) + 1.0) if ys else (60.0, 85.0)
    for spec, color, dash, at_top in ((twin, TWIN_COLOR, "dot", False), (design, DESIGN_COLOR, "dash", True)):
        if not spec:
            continue
        if spec.get("published"):
            _published_marker(fig, spec, color, log_x, at_top)
            continue
        detail = f"<br>{spec['detail']}" if spec.get("detail") else ""
        text = (f"<b>{spec['label']}</b><br>{spec['gmacs']:.3g} GMACs (computed){detail}"
                "<br>accuracy unknown: this design was not trained")
        fig.add_trace(go.Scatter(
            x=[spec["gmacs"], spec["gmacs"]], y=[y_lo, y_hi], mode="lines",
            name=f"{spec['label']} (accuracy unknown)", line=dict(color=color, dash=dash, width=2),
            hovertext=[text, text], hoverinfo="text",
        ))
        fig.add_annotation(x=math.log10(spec["gmacs"]) if log_x else spec["gmacs"], y=y_hi if at_top else y_lo,
                           yref="y", text=f"{spec['label']}<br>accuracy unknown", showarrow=False,
                           font=dict(color=color, size=11), yanchor="bottom" if at_top else "top",
                           bgcolor="rgba(255,255,255,0.85)")
    fig.update_layout(
        xaxis_title="compute (GMACs, normalised from each source's unit)",
        yaxis_title="ImageNet top-1 accuracy (%)",
        legend_title_text=color_by.replace("_", " "),
        hovermode="closest", clickmode="event+select", height=640,
        margin=dict(l=10, r=10, t=40, b=10),
        legend=dict(orientation="h", yanchor="top", y=-0.14, xanchor="left", x=0, font=dict(size=11)),
    )
    fig.update_yaxes(range=[y_lo - 1.5, y_hi + 1.5])
    if log_x:
        fig.update_xaxes(type="log")
    return fig


def published_line(pub: dict) -> str:
    """The published row a design is placed at, in words (hover and caption)."""
    res = f"{pub['res']} px" if pub.get("res") else "resolution not stated"
    approx = ", approximate" if pub.get("approximate") else ""
    return f"{pub['top1']:.2f} % top-1 published by {pub['source_group']} ({pub['model']}, {res}{approx})"


def _published_marker(fig: go.Figure, spec: dict, color: str, log_x: bool, at_top: bool) -> None:
    """A design that is a preset with a published accuracy: a marker at (computed GMACs, published top-1)."""
    pub = spec["published"]
    detail = f"<br>{spec['detail']}" if spec.get("detail") else ""
    others = len(pub.get("others") or [])
    text = (f"<b>{spec['label']}</b><br>{spec['gmacs']:.3g} GMACs (computed){detail}"
            f"<br>= preset {pub['preset']}: {published_line(pub)}"
            f"<br>source: {pub['source']}"
            f"<br>{pub['why']}" + (f" ({others} other row{'s' if others != 1 else ''} in the table)" if others else ""))
    fig.add_trace(go.Scatter(
        x=[spec["gmacs"]], y=[pub["top1"]], mode="markers",
        name=f"{spec['label']} (published top-1 of {pub['preset']})",
        marker=dict(color=color, size=20, symbol=DESIGN_SYMBOL, line=dict(width=2, color="#ffffff")),
        hovertext=[text], hoverinfo="text",
    ))
    res = f", {pub['res']} px" if pub.get("res") else ""
    fig.add_annotation(x=math.log10(spec["gmacs"]) if log_x else spec["gmacs"], y=pub["top1"], yref="y",
                       text=f"{spec['label']}<br>{pub['top1']:.1f} % ({pub['source_group']}{res})",
                       showarrow=True, arrowcolor=color, ax=0, ay=-42 if at_top else 42,
                       font=dict(color=color, size=11), bgcolor="rgba(255,255,255,0.85)")


def selected_presets(selection: dict | None) -> list:
    """(preset, model) pairs of the clicked/selected published points, in order; preset may be ''."""
    out = []
    for p in (selection or {}).get("points", []) or []:
        cd = p.get("customdata")
        if isinstance(cd, (list, tuple)) and len(cd) == len(CUSTOMDATA):
            out.append((cd[1] or "", cd[2]))
    return out


def _speed_hover(row) -> str:
    res = "not stated" if pd.isna(row["res"]) else f"{int(row['res'])} px"
    return "<br>".join([
        f"<b>{row['model']}</b> (preset {row['preset']})",
        f"top-1 {row['top1']:.2f} % at {res} ({row['source_group']})",
        f"published throughput: {row['img_s']:.6g} img/s at {row['speed_res']} px, batch {row['batch']}",
        f"speed source: timm {row['speed_source']}",
    ])


def throughput_figure(points: pd.DataFrame, device: str, color_by: str = "family") -> go.Figure:
    """Published top-1 vs timm's published throughput (img/s) on one device, one trace per
    ``color_by`` value; ``points`` from ``explorer.paper.speed.throughput_points``."""
    fig = go.Figure()
    groups = list(dict.fromkeys(points[color_by])) if len(points) else []
    for i, g in enumerate(groups):
        sub = points[points[color_by] == g]
        fig.add_trace(go.Scatter(
            x=sub["img_s"], y=sub["top1"], mode="markers", name=str(g),
            marker={"size": 11, "color": PALETTE[i % len(PALETTE)],
                    "line": {"width": [2 if c else 0 for c in sub["is_csp"]], "color": "#000"}},
            hovertext=[_speed_hover(r) for _, r in sub.iterrows()], hoverinfo="text"))
    fig.update_layout(
        xaxis_title=f"published throughput on {device} (img/s, timm benchmark)",
        yaxis_title="published ImageNet top-1 (%)", height=520, margin={"l": 60, "r": 20, "t": 30, "b": 60},
        legend_title_text=color_by.replace("_", " "))
    return fig


def measured_figure(points: pd.DataFrame, batch: int) -> go.Figure:
    """Published top-1 against the latency measured here (one batch size), for the measured models
    that have a published top-1."""
    pts = points[(points["batch"] == batch) & points["top1"].notna()]
    fig = go.Figure(go.Scatter(
        x=pts["median_ms"], y=pts["top1"], mode="markers+text", text=pts["name"], textposition="top center",
        marker=dict(size=11, color="#d62728"),
        hovertext=[f"<b>{r['name']}</b> at {r['input_size']} px<br>{r['median_ms']:.2f} ms median, batch {batch}, "
                   f"{r['device']} {r['dtype']} (measured here)<br>top-1 {r['top1']:.2f} %: {r['top1_source']}"
                   for _, r in pts.iterrows()],
        hoverinfo="text", name="measured here"))
    fig.update_layout(xaxis_title=f"latency measured here (ms, median, batch {batch})",
                      yaxis_title="published ImageNet top-1 (%)", height=420, margin=dict(t=30, l=60, r=20, b=50),
                      showlegend=False)
    return fig
