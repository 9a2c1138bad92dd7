"""The roofline chart of the Latency page (Plotly): a device's two roofs and the stages of a design and
of its reference as points.

Pure function of :func:`explorer.real.roofline.roofline` results: no Streamlit.
"""
from __future__ import annotations

import math

import plotly.graph_objects as go

DESIGN_COLOR = "#d62728"
REFERENCE_COLOR = "#555555"
ROOF_COLOR = "#1f77b4"
MEASURED_COLOR = "#2ca02c"
MARGIN = dict(l=10, r=10, t=60, b=10)


def _short(stage: str) -> str:
    return stage.replace("stages.", "s")


def _stage_points(roof: dict) -> list:
    """Stages with FLOPs (a point needs an intensity > 0 on a log axis)."""
    return [s for s in roof["stages"] if s["flops"] > 0 and s["bytes"] > 0]


def roofline_chart(series: list, measured: dict | None = None) -> go.Figure:
    """``series``: ``[(label, roofline result), ...]``, the design first, all on one device, dtype and batch.

    The roof: attainable TFLOP/s = min(compute peak, intensity x memory bandwidth), log-log.  Each stage
    is a point at its intensity on the roof (the best it could do: its lower-bound time); on a GPU a
    hollow marker below it is the calibrated estimate.  ``measured``: stage -> measured ms of the
    design at the same device, dtype and batch, drawn as filled points at the TFLOP/s achieved.
    """
    design = series[0][1]
    peak, bw = design["peak_tflops"], design["mem_bw_gbs"] / 1e3   # TFLOP/s, TB/s
    ridge = design["ridge"]
    xs = [s["intensity"] for _, r in series for s in _stage_points(r)] + [ridge]
    lo = 10 ** math.floor(math.log10(max(min(xs) / 2, 1e-3)))
    hi = 10 ** math.ceil(math.log10(max(xs) * 2))
    fig = go.Figure()
    fig.add_trace(go.Scatter(
        x=[lo, ridge, hi], y=[lo * bw, peak, peak], mode="lines", line=dict(color=ROOF_COLOR, width=3),
        name=f"roof: {design['device']['name']}",
        hovertemplate=(f"memory roof {design['mem_bw_gbs']:.4g} GB/s, compute roof {peak:.4g} TFLOP/s "
                       f"(ridge {ridge:.0f} FLOP/byte)<extra></extra>")))
    fig.add_annotation(x=math.log10(ridge), y=math.log10(peak), text=f"ridge {ridge:.0f} FLOP/B", showarrow=True,
                       arrowhead=0, ax=0, ay=-28, font=dict(size=11, color=ROOF_COLOR))
    fig.add_annotation(x=math.log10(math.sqrt(lo * ridge)), y=math.log10(math.sqrt(lo * ridge) * bw),
                       text="memory-bound", showarrow=False, textangle=-30, yshift=-16, xshift=12,
                       font=dict(size=11, color=ROOF_COLOR))
    fig.add_annotation(x=math.log10(math.sqrt(ridge * hi)), y=math.log10(peak), text="compute-bound",
                       showarrow=False, yshift=12, font=dict(size=11, color=ROOF_COLOR))
    for i, (label, roof) in enumerate(series):
        pts = _stage_points(roof)
        color, symbol = (DESIGN_COLOR, "circle") if i == 0 else (REFERENCE_COLOR, "diamond")
        hover = [f"{label}<br>{s['name']}: {s['flops'] / 1e9:.3g} GFLOP, {s['bytes'] / 1e6:.4g} MB, "
                 f"{s['intensity']:.1f} FLOP/byte<br>{s['bound']}-bound: at least {s['bound_ms']:.3g} ms"
                 for s in pts]
        fig.add_trace(go.Scatter(
            x=[s["intensity"] for s in pts], y=[min(peak, s["intensity"] * bw) for s in pts],
            mode="markers+text" if i == 0 else "markers", text=[_short(s["name"]) for s in pts],
            textposition="top left", textfont=dict(size=10, color=color),
            marker=dict(color=color, symbol=symbol, size=11, line=dict(width=1, color="white")),
            name=f"{label}: stages at their bound", hovertext=hover, hoverinfo="text"))
        est = [s for s in pts if s.get("estimated_ms")]
        if est:
            fig.add_trace(go.Scatter(
                x=[s["intensity"] for s in est], y=[s["flops"] / (s["estimated_ms"] * 1e-3) / 1e12 for s in est],
                mode="markers", marker=dict(color=color, symbol=f"{symbol}-open", size=10),
                name=f"{label}: estimated (not measured)",
                hovertext=[f"{label}<br>{s['name']}: estimated {s['estimated_ms']:.3g} ms (not measured), "
                           f"{100 * s['bound_ms'] / s['estimated_ms']:.0f} % of roofline" for s in est],
                hoverinfo="text"))
    if measured:
        pts = [s for s in _stage_points(design) if measured.get(s["name"])]
        fig.add_trace(go.Scatter(
            x=[s["intensity"] for s in pts], y=[s["flops"] / (measured[s["name"]] * 1e-3) / 1e12 for s in pts],
            mode="markers", marker=dict(color=MEASURED_COLOR, symbol="x", size=11),
            name=f"{series[0][0]}: measured",
            hovertext=[f"{s['name']}: measured {measured[s['name']]:.3g} ms, bound {s['bound_ms']:.3g} ms: "
                       f"{100 * s['bound_ms'] / measured[s['name']]:.0f} % of roofline" for s in pts],
            hoverinfo="text"))
    fig.update_xaxes(type="log", title="arithmetic intensity (FLOP per byte moved)")
    fig.update_yaxes(type="log", title="attainable TFLOP/s")
    fig.update_layout(
        title=(f"Roofline: {design['device']['name']}, "
               f"{design['setting']['label'] if design.get('setting') else design['dtype']}, batch {design['batch']}"
               f"<br><sup>{design['peak_label']}; points on the roof = each stage's lower bound</sup>"),
        height=480, margin=MARGIN, legend=dict(orientation="h", yanchor="top", y=-0.15))
    return fig
