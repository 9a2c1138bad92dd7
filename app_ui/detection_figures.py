"""Plotly figures of the published COCO detection rows (``explorer.paper.detection``) and the Pareto front
(``explorer.paper.pareto``) of any published chart.

``detection_figure``: COCO AP@[.5:.95] against compute **as each source published it**, one panel per
counting scale (FLOPs = 2 x MACs across the top, MACs and not stated below: values of different scales never
share an axis), one colour
per detector line, one marker symbol per counting convention (open markers: no CSP), the front of each panel's
shown rows as a staircase.  ``front_trace``: the staircase for any chart (the ImageNet one too).
Built from plain data; no Streamlit, no computation beyond the engine's.
"""
from __future__ import annotations

import math

import pandas as pd
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from app_ui.charts import DESIGN_COLOR, PALETTE, SYMBOLS
from explorer.paper.detection import CONVENTIONS, SCALES, detection_series, plottable_detection
from explorer.paper.pareto import front_rows

FRONT_COLOR = "#222222"
# one colour per detector line, oldest first: the ten of PALETTE, then four more unlike any of them (so that the
# three Ultralytics lines of 2023-2024 stay apart)
DETECTOR_COLORS = PALETTE[:10] + ("#393b79", "#e6ab02", "#1b9e77", "#f781bf")
FRONT_NAME = "Pareto front of the shown rows"
CUSTOMDATA = ("row", "model")


def front_trace(xs, ys, labels, name: str = FRONT_NAME, showlegend: bool = True, legendgroup: str = "front",
                metric: str = "", hover: bool = True) -> go.Scatter:
    """The front as a staircase through published points only (``hv``: between two front points the best
    published accuracy is the cheaper one's); ``xs`` by increasing compute, as :func:`front_rows` gives them;
    ``labels`` name each point with its compute as published.  ``hover=False`` leaves hover and clicks to the
    published points under it (a chart whose clicks load a preset)."""
    text = [f"<b>on the front</b>: {lbl}<br>{y:.2f} {metric}".rstrip() for y, lbl in zip(ys, labels)]
    return go.Scatter(x=list(xs), y=list(ys), mode="lines", line=dict(color=FRONT_COLOR, width=1.5, dash="dot",
                                                                      shape="hv"),
                      name=name, legendgroup=legendgroup, showlegend=showlegend, hovertext=text,
                      hoverinfo="text" if hover else "skip")


def _hover(r) -> str:
    params = "params not published" if pd.isna(r["params_m"]) else f"{r['params_m']:g} M params"
    lines = [
        f"<b>{r['model']}</b> ({r['year']}{'' if r['is_csp'] else ', no CSP'})",
        f"AP {r['ap']:.2f} %: {r['ap_definition']}" + (" (printed as a fraction)" if r["ap_scale"] != "percent"
                                                       else ""),
        f"compute: {r['flops_value']} {r['flops_unit']} at {r['compute_res']} px",
        f"convention: {r['convention_label']}",
        params,
        f"source: {r['source_title']}",
        f"{r['source_url_or_repo_path'][:90]}",
    ]
    return "<br>".join(lines)


def scales_shown(df: pd.DataFrame) -> list[str]:
    """The scales of the plottable rows of ``df``, in :data:`SCALES` order (one panel each)."""
    present = set(plottable_detection(df)["scale"])
    return [s for s in SCALES if s in present]


def _panels(scales: list) -> tuple[go.Figure, list]:
    """The subplots: the first scale's panel across the top, the others side by side below it (a narrow page
    keeps every panel readable); returns the figure and each scale's (row, col)."""
    titles = [SCALES[s].title for s in scales]
    if len(scales) == 1:
        return make_subplots(rows=1, cols=1, subplot_titles=titles), [(1, 1)]
    below = [{}, {}] if len(scales) == 3 else [{"colspan": 2}, None]
    fig = make_subplots(rows=2, cols=2, specs=[[{"colspan": 2}, None], below], row_heights=[0.6, 0.4],
                        vertical_spacing=0.17, horizontal_spacing=0.08, subplot_titles=titles)
    return fig, [(1, 1), (2, 1), (2, 2)][:len(scales)]


def detection_figure(df: pd.DataFrame, log_x: bool = True, front: bool = True, design: dict | None = None,
                     label: str = "your design") -> go.Figure:
    """COCO AP against published compute, a panel per counting scale (see the module docstring).

    ``design``: the current detector (``explorer.paper.reproduce.detector_point``), drawn in its convention's
    panel: a star at its published point (the computed compute in its hover), or a vertical line at its computed
    compute, "AP unknown"; not drawn when that panel is not shown."""
    pts = plottable_detection(df)
    scales = scales_shown(df)
    if not scales:
        fig = go.Figure()
        fig.add_annotation(text="No shown row has both an AP@[.5:.95] and a compute at the same input size.",
                           showarrow=False, x=0.5, y=0.5, xref="paper", yref="paper")
        fig.update_layout(height=300, xaxis_visible=False, yaxis_visible=False)
        return fig
    fig, cells = _panels(scales)
    y_range = [float(pts["ap"].min()) - 2.0, float(pts["ap"].max()) + 2.0]  # the same AP scale in every panel
    colors = {s: DETECTOR_COLORS[i % len(DETECTOR_COLORS)] for i, s in enumerate(detection_series())}
    symbols = {c: SYMBOLS[i % len(SYMBOLS)] for i, c in enumerate(CONVENTIONS)}
    legend_done: set = set()
    for k, (scale, (row, col)) in enumerate(zip(scales, cells)):
        sub = pts[pts["scale"] == scale]
        for series in [s for s in colors if s in set(sub["series"])]:
            rows = sub[sub["series"] == series]
            fig.add_trace(go.Scatter(
                x=rows["compute"].tolist(), y=rows["ap"].tolist(), mode="markers", name=series,
                legendgroup=series, showlegend=series not in legend_done,
                marker=dict(color=colors[series], size=10, line=dict(width=1, color="#222222"),
                            symbol=[symbols[c] + ("" if csp else "-open")
                                    for c, csp in zip(rows["convention"], rows["is_csp"])]),
                customdata=[[int(i), m] for i, m in zip(rows.index, rows["model"])],
                hovertext=[_hover(r) for _, r in rows.iterrows()], hoverinfo="text",
            ), row=row, col=col)
            legend_done.add(series)
        if front:
            fr = front_rows(sub, "compute", "ap")
            labels = [f"{m}: {v} {u} ({c})" for m, v, u, c in
                      zip(fr["model"], fr["flops_value"], fr["flops_unit"], fr["convention_label"])]
            fig.add_trace(front_trace(fr["compute"].tolist(), fr["ap"].tolist(), labels, name=FRONT_NAME,
                                      showlegend=k == 0, metric="% AP"), row=row, col=col)
        fig.update_xaxes(title_text=SCALES[scale].axis, type="log" if log_x else "linear", row=row, col=col)
        fig.update_yaxes(title_text="COCO AP@[.5:.95] (%)" if col == 1 else None, range=y_range, row=row, col=col)
    if design is not None and design["scale"] in scales:
        _design_trace(fig, design, label, cells[scales.index(design["scale"])], y_range, log_x)
    for conv in dict.fromkeys(pts["convention"]):  # the symbols: legend entries without points
        fig.add_trace(go.Scatter(x=[None], y=[None], mode="markers", name=f"convention: {CONVENTIONS[conv].label}",
                                 legendgroup="conventions", hoverinfo="skip",
                                 marker=dict(color="#888888", size=9, symbol=symbols[conv])))
    if not pts["is_csp"].all():
        fig.add_trace(go.Scatter(x=[None], y=[None], mode="markers", name="open marker: no CSP",
                                 legendgroup="conventions", hoverinfo="skip",
                                 marker=dict(color="#888888", size=9, symbol="circle-open")))
    fig.update_annotations(font_size=13)
    fig.update_layout(
        height=560 if len(scales) == 1 else 900, hovermode="closest", margin=dict(l=10, r=10, t=40, b=10),
        legend=dict(orientation="h", yanchor="top", y=-0.16, xanchor="left", x=0, font=dict(size=11)),
    )
    return fig


def _design_trace(fig: go.Figure, d: dict, label: str, cell: tuple, y_range: list, log_x: bool) -> None:
    """The current detector in its panel: a star at its published point, else a line at its computed compute."""
    row, col = cell
    computed = (f"{d['computed']:.4g} GFLOPs computed here ({d['convention_label']}: {d['counted_on']}, at "
                f"{d['res']} px)")
    pub = d["published"]
    if pub is not None:
        text = (f"<b>{label}</b>: preset {d['preset']} = {pub['model']}<br>published: {pub['compute']:g} "
                f"{pub['unit']}, AP {pub['ap']:.1f} % ({pub['ap_definition']})<br>{computed}<br>"
                f"source: {pub['source']}")
        fig.add_trace(go.Scatter(x=[d["x"]], y=[d["ap"]], mode="markers", name=f"{label} ({pub['model']}, published)",
                                 marker=dict(symbol="star", size=20, color=DESIGN_COLOR, line=dict(width=1.5,
                                                                                                   color="#222222")),
                                 hovertext=[text], hoverinfo="text"), row=row, col=col)
        return
    text = f"<b>{label}</b><br>{computed}<br>AP unknown: this detector was not trained"
    fig.add_trace(go.Scatter(x=[d["x"], d["x"]], y=y_range, mode="lines", name=f"{label} (AP unknown)",
                             line=dict(color=DESIGN_COLOR, dash="dash", width=2), hovertext=[text, text],
                             hoverinfo="text"), row=row, col=col)
    axis = "" if (row, col) == (1, 1) else str(fig.get_subplot(row, col).xaxis.plotly_name.removeprefix("xaxis"))
    # inside the panel, at the foot of the line (above it sit the panel's title and the most accurate rows)
    fig.add_annotation(x=math.log10(d["x"]) if log_x else d["x"], y=y_range[0], xref=f"x{axis}", yref=f"y{axis}",
                       text=f"{label}<br>AP unknown", showarrow=False, yanchor="bottom", xanchor="left", xshift=4,
                       font=dict(color=DESIGN_COLOR, size=11), bgcolor="rgba(255,255,255,0.85)")


def front_table(df: pd.DataFrame) -> pd.DataFrame:
    """The front of each scale's shown rows, as a table (scale, model, compute as published, AP, source)."""
    pts = plottable_detection(df)
    parts = []
    for scale in scales_shown(df):
        fr = front_rows(pts[pts["scale"] == scale], "compute", "ap")
        parts.append(pd.DataFrame({"scale": SCALES[scale].short, "model": fr["model"], "AP %": fr["ap"],
                                   "compute": fr["flops_value"], "unit": fr["flops_unit"],
                                   "convention": fr["convention_label"], "px": fr["input_size"],
                                   "split": fr["ap_split"], "source": fr["source_repo"]}))
    cols = ["scale", "model", "AP %", "compute", "unit", "convention", "px", "split", "source"]
    return pd.concat(parts, ignore_index=True) if parts else pd.DataFrame(columns=cols)
