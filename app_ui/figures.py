"""Plotly figures (and their captions) for the Latency, Sweep and Learn pages; the plain-words verdicts
on a latency comparison are :mod:`explorer.real.verdicts`.

Pure functions of plain data (engine records, data frames, lists): no Streamlit.  Every builder
returns a ``go.Figure``.  Clickable figures carry ``customdata`` that the page reads back from a
plotly selection to open the clicked design.
"""
from __future__ import annotations

import math

import pandas as pd
import plotly.graph_objects as go

from explorer.fmt import si
from explorer.real.verdicts import is_plain

DESIGN_COLOR = "#d62728"
TWIN_COLOR = "#555555"
MACS_COLOR = "#1f77b4"
TIME_COLOR = "#ff7f0e"
INVALID_COLOR = "#9e9e9e"
PAPER_COLOR = "#7f7f7f"
PALETTE = ("#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2", "#17becf",
           "#bcbd22", "#393b79")
MARGIN = dict(l=10, r=10, t=50, b=10)
MAX_CELL_TEXT = 150          # heatmaps with at most this many cells print their values


def _rgba(hex_color: str, alpha: float) -> str:
    h = hex_color.lstrip("#")
    r, g, b = (int(h[i:i + 2], 16) for i in (0, 2, 4))
    return f"rgba({r},{g},{b},{alpha})"


def _empty(title: str, message: str) -> go.Figure:
    fig = go.Figure()
    fig.add_annotation(text=message, showarrow=False, x=0.5, y=0.5, xref="paper", yref="paper",
                       font=dict(size=13, color="#666666"))
    fig.update_layout(title=title, xaxis_visible=False, yaxis_visible=False, height=300, margin=MARGIN)
    return fig


# =========================================================================== latency
def _series(rec: dict) -> list:
    return sorted(rec.get("results", []), key=lambda r: r["batch"])


def latency_curve(record: dict, per_image: bool = False) -> go.Figure:
    """Median time against batch size, with the p10-p90 band, for the design and its plain twin."""
    fig = go.Figure()
    series = [("design", record["design"], DESIGN_COLOR, "solid")]
    if not is_plain(record):
        series.append(("plain twin", record["twin"], TWIN_COLOR, "dash"))
    unit = "ms per image" if per_image else "ms per batch"
    batches = set()
    for label, rec, color, dash in series:
        rows = _series(rec)
        xs = [r["batch"] for r in rows]
        batches.update(xs)
        div = [r["batch"] if per_image else 1 for r in rows]
        med = [r["median_ms"] / d for r, d in zip(rows, div)]
        lo = [r["p10_ms"] / d for r, d in zip(rows, div)]
        hi = [r["p90_ms"] / d for r, d in zip(rows, div)]
        name = f"{label}: {rec.get('name', '')}"
        fig.add_trace(go.Scatter(x=xs, y=hi, mode="lines", line=dict(width=0), showlegend=False,
                                 hoverinfo="skip", legendgroup=label))
        fig.add_trace(go.Scatter(x=xs, y=lo, mode="lines", line=dict(width=0), fill="tonexty",
                                 fillcolor=_rgba(color, 0.18), name=f"{label} p10-p90", hoverinfo="skip",
                                 legendgroup=label))
        fig.add_trace(go.Scatter(
            x=xs, y=med, mode="lines+markers", name=name, legendgroup=label,
            line=dict(color=color, dash=dash, width=2), marker=dict(size=7),
            hovertext=[f"<b>{label}</b> batch {x}<br>median {m:.3g} {unit}<br>p10 {a:.3g}, p90 {b:.3g}"
                       f"<br>{r['runs']} runs" for x, m, a, b, r in zip(xs, med, lo, hi, rows)],
            hoverinfo="text"))
    ticks = sorted(batches)
    fig.update_layout(title="Time against batch size (median; band: p10 to p90 of the runs; log scales)",
                      xaxis_title="batch size", yaxis_title=unit, hovermode="closest", height=420,
                      margin=MARGIN, legend=dict(orientation="h", yanchor="bottom", y=-0.35))
    fig.update_xaxes(type="log", tickvals=ticks, ticktext=[str(t) for t in ticks])
    # batch sizes span orders of magnitude, and one slow run must not flatten the rest
    fig.update_yaxes(type="log", dtick="D2", tickformat="~g")
    return fig


def stage_bars(record: dict, batch: int) -> go.Figure:
    """Median time of every part (stem, stages, head) at one batch size: design vs plain twin."""
    def per_stage(rec):
        for r in _series(rec):
            if r["batch"] == batch:
                return r.get("per_stage_ms") or {}
        return {}

    d = per_stage(record["design"])
    if not d:
        return _empty("Time per stage", f"no per-stage times at batch {batch}")
    fig = go.Figure()
    names = list(d)
    fig.add_trace(go.Bar(x=names, y=[d[n] for n in names], name=f"design: {record['design'].get('name', '')}",
                         marker_color=DESIGN_COLOR,
                         hovertemplate="%{x}: %{y:.3g} ms<extra>design</extra>"))
    if not is_plain(record):
        t = per_stage(record["twin"])
        fig.add_trace(go.Bar(x=names, y=[t.get(n) for n in names], name="plain twin", marker_color=TWIN_COLOR,
                             hovertemplate="%{x}: %{y:.3g} ms<extra>plain twin</extra>"))
    fig.update_layout(title=f"Time per stage at batch {batch} (median)", barmode="group",
                      yaxis_title="ms", height=380, margin=MARGIN,
                      legend=dict(orientation="h", yanchor="bottom", y=-0.3))
    return fig


def savings_figure(record: dict) -> go.Figure:
    """MACs change and time change against the plain twin, side by side for every batch size."""
    rows = record.get("comparison", [])
    if not rows or is_plain(record):
        return _empty("Savings against the plain twin", "the design is plain (fusion 'none'): nothing to compare")
    xs = [f"batch {r['batch']}" for r in rows]
    fig = go.Figure()
    fig.add_trace(go.Bar(x=xs, y=[r["macs_delta_pct"] for r in rows], name="MACs change",
                         marker_color=MACS_COLOR, text=[f"{r['macs_delta_pct']:+.1f} %" for r in rows],
                         textposition="outside", hovertemplate="%{x}: MACs %{y:+.1f} %<extra></extra>"))
    fig.add_trace(go.Bar(x=xs, y=[r["time_delta_pct"] for r in rows], name="time change (median)",
                         marker_color=TIME_COLOR, text=[f"{r['time_delta_pct']:+.1f} %" for r in rows],
                         textposition="outside", hovertemplate="%{x}: time %{y:+.1f} %<extra></extra>"))
    fig.add_hline(y=0, line_color="#333333", line_width=1)
    fig.update_layout(title="MACs change and time change against the plain twin",
                      barmode="group", yaxis_title="% vs plain twin (negative = saving)", height=380, margin=MARGIN,
                      legend=dict(orientation="h", yanchor="bottom", y=-0.3))
    return fig


def record_caption(record: dict) -> str:
    """Where and how it was measured: device name, torch version, request."""
    env = record["design"].get("environment", {})
    req = record["design"].get("request", {})
    bits = [f"device {env.get('device', '?')} ({env.get('device_name', '?')})",
            f"torch {env.get('torch', '?')}"]
    if env.get("cuda"):
        bits.append(f"CUDA {env['cuda']}")
    if env.get("threads"):
        bits.append(f"{env['threads']} CPU threads")
    bits.append(f"{req.get('dtype', 'fp32')}" + (", channels_last" if req.get("channels_last") else ""))
    bits.append(f"{req.get('warmup', '?')} warm-up + {req.get('runs', '?')} timed runs per batch size")
    return "; ".join(bits) + f". {record['design'].get('note', '')}."


def relabel(fig: go.Figure, record: dict) -> go.Figure:
    """The latency figures say "plain twin"; for a record measured against another design (the paper
    base) their legends, hovers and titles get that design's label instead, worded by the engine
    (``explorer.real.latency.reference_text``)."""
    from explorer.real.latency import TWIN_LABEL, reference_label, reference_text  # imports torch: only when used

    if reference_label(record) == TWIN_LABEL:
        return fig
    fig.for_each_trace(lambda t: t.update(
        name=reference_text(t.name or "", record, trace_name=True),
        hovertemplate=reference_text(t.hovertemplate, record),
        hovertext=[reference_text(h, record) for h in t.hovertext] if isinstance(t.hovertext, tuple)
        else t.hovertext,
        legendgroup=reference_text(t.legendgroup or "", record) or None))
    fig.update_layout(title_text=reference_text(fig.layout.title.text or "", record))
    if fig.layout.yaxis.title.text:
        fig.update_yaxes(title_text=reference_text(fig.layout.yaxis.title.text, record))
    return fig


# =========================================================================== sweeps
def _is_numeric(values) -> bool:
    return all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in values)


def _label(v) -> str:
    """A grid value as text: what axes show and what a click hands back (``parse_value`` reads it)."""
    if isinstance(v, float):
        return f"{v:.10g}"
    return str(v)


def _uniq(seq) -> list:
    return list(dict.fromkeys(seq))


def _valid(df: pd.DataFrame) -> pd.Series:
    return df["error"].fillna("") == ""


def _point_hover(row, keys, value_col, value_label, pct: bool) -> str:
    head = "<br>".join(f"{k} = {_label(row[k])}" for k in keys)
    err = row.get("error") or ""
    if err:
        return f"{head}<br><b>invalid design</b><br>{_wrap(err)}"
    v = row[value_col]
    if v is None or (isinstance(v, float) and math.isnan(v)):
        return f"{head}<br>{value_label}: n/a"
    txt = f"{v:+.2f} %" if pct else si(v)
    return f"{head}<br><b>{value_label}: {txt}</b><br>click to open this design on the Design page"


def _wrap(text: str, width: int = 60) -> str:
    words, lines, cur = str(text).split(), [], ""
    for w in words:
        if len(cur) + len(w) + 1 > width and cur:
            lines.append(cur)
            cur = w
        else:
            cur = f"{cur} {w}".strip()
    if cur:
        lines.append(cur)
    return "<br>".join(lines)


def sweep_heatmap(df: pd.DataFrame, x_key: str, y_key: str, value_col: str, value_label: str,
                  pct: bool = False) -> go.Figure:
    """A heatmap of ``value_col`` over two knobs.  Invalid designs are gaps marked with a grey x
    whose hover gives the reason.  Every cell carries customdata ``[x label, y label]``."""
    xs = _uniq(df[x_key].tolist())
    ys = _uniq(df[y_key].tolist())
    xl, yl = [_label(v) for v in xs], [_label(v) for v in ys]
    z = [[None] * len(xs) for _ in ys]
    text = [[""] * len(xs) for _ in ys]
    cells = {}
    for _, row in df.iterrows():
        i, j = ys.index(row[y_key]), xs.index(row[x_key])
        cells[(i, j)] = row
        v = row.get(value_col)
        if (row.get("error") or "") == "" and v is not None and not (isinstance(v, float) and math.isnan(v)):
            z[i][j] = float(v)
            text[i][j] = f"{v:+.1f}%" if pct else si(v, digits=3)
    fig = go.Figure()
    show_text = len(xs) * len(ys) <= MAX_CELL_TEXT
    heat = dict(z=z, x=xl, y=yl, hoverinfo="skip", colorbar=dict(title=value_label if not pct else "%"),
                colorscale="RdBu_r" if pct else "Viridis", xgap=1, ygap=1)
    if pct:
        vals = [v for r in z for v in r if v is not None]
        m = max((abs(v) for v in vals), default=1.0) or 1.0
        heat.update(zmid=0, zmin=-m, zmax=m)
    if show_text:
        heat.update(text=text, texttemplate="%{text}", textfont=dict(size=10))
    fig.add_trace(go.Heatmap(**heat))
    # the hover/click layer: one marker per cell (invisible when valid, a grey x when invalid)
    for valid in (True, False):
        pts = [(i, j, r) for (i, j), r in cells.items() if ((r.get("error") or "") == "") == valid]
        if not pts:
            continue
        fig.add_trace(go.Scatter(
            x=[xl[j] for i, j, _ in pts], y=[yl[i] for i, j, _ in pts], mode="markers",
            name="design" if valid else "invalid design (hover for the reason)", showlegend=not valid,
            marker=dict(symbol="square" if valid else "x", size=18 if valid else 11,
                        color="rgba(0,0,0,0)" if valid else INVALID_COLOR, line=dict(width=0)),
            customdata=[[xl[j], yl[i]] for i, j, _ in pts],
            hovertext=[_point_hover(r, [x_key, y_key], value_col, value_label, pct) for _, _, r in pts],
            hoverinfo="text"))
    fig.update_layout(
        title=f"{value_label} over {x_key} and {y_key}", xaxis_title=x_key, yaxis_title=y_key,
        height=max(380, min(760, 120 + 34 * len(ys))), margin=MARGIN, clickmode="event+select",
        hovermode="closest", legend=dict(orientation="h", yanchor="bottom", y=-0.25))
    fig.update_xaxes(type="category")
    fig.update_yaxes(type="category")
    return fig


def sweep_lines(df: pd.DataFrame, x_key: str, value_col: str, value_label: str, pct: bool = False,
                series_key: str | None = None) -> go.Figure:
    """``value_col`` against one knob (one line per ``series_key`` value, if given).  Invalid
    designs are gaps in the line, drawn as grey x at the bottom with the reason on hover.
    Every point carries customdata ``[x label]`` or ``[x label, series label]``."""
    xs_all = _uniq(df[x_key].tolist())
    numeric = _is_numeric(xs_all)
    fig = go.Figure()
    groups = [(None, df)] if series_key is None else [(s, df[df[series_key] == s])
                                                       for s in _uniq(df[series_key].tolist())]
    valid_vals = pd.to_numeric(df.loc[_valid(df), value_col], errors="coerce").dropna()
    floor = float(valid_vals.min()) if len(valid_vals) else 0.0
    keys = [x_key] + ([series_key] if series_key else [])
    invalid_x, invalid_y, invalid_cd, invalid_hover = [], [], [], []
    for gi, (s, sub) in enumerate(groups):
        xs, ys, cd, hover = [], [], [], []
        for _, row in sub.iterrows():
            xv = row[x_key] if numeric else _label(row[x_key])
            lab = [_label(row[x_key])] + ([_label(s)] if series_key else [])
            ok = (row.get("error") or "") == ""
            v = row.get(value_col)
            if ok and v is not None and not (isinstance(v, float) and math.isnan(v)):
                xs.append(xv)
                ys.append(float(v))
            else:
                xs.append(xv)
                ys.append(None)  # a gap
                invalid_x.append(xv)
                invalid_y.append(floor)
                invalid_cd.append(lab)
                invalid_hover.append(_point_hover(row, keys, value_col, value_label, pct))
            cd.append(lab)
            hover.append(_point_hover(row, keys, value_col, value_label, pct))
        name = value_label if series_key is None else f"{series_key} = {_label(s)}"
        fig.add_trace(go.Scatter(x=xs, y=ys, mode="lines+markers", name=name, connectgaps=False,
                                 line=dict(color=PALETTE[gi % len(PALETTE)], width=2), marker=dict(size=8),
                                 customdata=cd, hovertext=hover, hoverinfo="text"))
    if invalid_x:
        fig.add_trace(go.Scatter(x=invalid_x, y=invalid_y, mode="markers",
                                 name="invalid design (hover for the reason)",
                                 marker=dict(symbol="x", size=11, color=INVALID_COLOR),
                                 customdata=invalid_cd, hovertext=invalid_hover, hoverinfo="text"))
    if pct:
        fig.add_hline(y=0, line_color="#333333", line_width=1)
    fig.update_layout(title=f"{value_label} against {x_key}", xaxis_title=x_key,
                      yaxis_title=("% vs plain twin" if pct else value_label), height=440, margin=MARGIN,
                      clickmode="event+select", hovermode="closest",
                      legend=dict(orientation="h", yanchor="bottom", y=-0.3))
    if not numeric:
        fig.update_xaxes(type="category")
    return fig


def latency_sweep_figure(df: pd.DataFrame, keys: list) -> go.Figure:
    """Measured median time against MACs for a small sweep; each point labelled by its knob values."""
    ok = df[(df["error"].fillna("") == "") & df["median_ms"].notna()]
    if ok.empty:
        return _empty("Measured time against MACs", "no design could be measured")
    labels = [", ".join(f"{k}={_label(r[k])}" for k in keys) for _, r in ok.iterrows()]
    fig = go.Figure(go.Scatter(
        x=ok["macs"].tolist(), y=ok["median_ms"].tolist(), mode="markers+text", text=labels,
        textposition="top center", marker=dict(size=10, color=DESIGN_COLOR),
        hovertext=[f"{lab}<br>{si(m, 'MAC')}<br>median {t:.3g} ms" for lab, m, t in
                   zip(labels, ok["macs"], ok["median_ms"])], hoverinfo="text", name="measured"))
    fig.update_layout(title="Measured time against MACs: does time follow the arithmetic?",
                      xaxis_title="MACs (conv + linear, batch 1)", yaxis_title="median ms", height=420,
                      margin=MARGIN)
    return fig


def selected_cells(selection: dict | None) -> list:
    """The customdata lists of the clicked/selected points of a sweep figure, in order."""
    out = []
    for p in (selection or {}).get("points", []) or []:
        cd = p.get("customdata")
        if isinstance(cd, (list, tuple)) and cd:
            out.append([str(x) for x in cd])
    return out


# =========================================================================== lesson
def reads_figure(reads: list) -> go.Figure:
    """How many dense layers read each feature map x0 ... x_{m-1} (lesson step 1)."""
    names = [f"x{i}" for i in range(len(reads))]
    fig = go.Figure(go.Bar(x=names, y=reads, marker_color=[PALETTE[1]] + [PALETTE[7]] * (len(reads) - 1),
                           text=reads, textposition="outside",
                           hovertemplate="%{x} is read by %{y} later dense layers (and by the block's concat)"
                                         "<extra></extra>"))
    fig.update_layout(title=dict(text="Dense layers that read each feature map<br><sup>each one sends gradient "
                                      "back into it</sup>"),
                      xaxis_title="feature map (x0 = block input)", yaxis_title="reading dense layers", height=320,
                      margin=dict(MARGIN, t=60))
    fig.update_yaxes(range=[0, max(reads or [1]) * 1.25])
    return fig


LESSON_FILL = {"input": "#e6f0fa", "layer": "#ffe8cc", "concat": "#eeeeee", "transition": "#dff3df",
               "join": "#eeeeee"}
PART1_COLOR = "#1f77b4"


def dense_arcs_figure(graph: dict) -> go.Figure:
    """The dense block as an arc diagram (lesson steps 1-2): its feature maps in a row, one arc per
    read (orange from the block input, grey between layers), higher for longer reach; then, in a
    row with arrows, what the stage does after the block, in the model's order (``graph["after"]``:
    partial transition, concat, transition for full CSP); in a CSP stage part 1 runs underneath,
    dashed blue, into the concat where it joins (``graph["part1_joins"]``: after the partial
    transition, not inside the block's own concat)."""
    import numpy as np

    nodes, edges = graph["nodes"], graph["edges"]
    after = graph.get("after") or []
    n = len(nodes)
    fig = go.Figure()
    t = np.linspace(0, np.pi, 40)
    for a, b in sorted(edges, key=lambda e: e[0] == 0):  # the block input's arcs on top
        span = b - a
        h = 0.35 + 0.28 * span
        xs = a + (b - a) * (1 - np.cos(t)) / 2
        ys = 0.22 + h * np.sin(t)
        first = a == 0
        fig.add_trace(go.Scatter(
            x=xs.tolist(), y=ys.tolist(), mode="lines", showlegend=False,
            line=dict(color=PALETTE[1] if first else "rgba(110,110,110,0.55)", width=2.2 if first else 1.3),
            hoverinfo="text", hovertext=f"{nodes[b]['label']} reads {nodes[a]['label']}"))
    fig.add_trace(go.Scatter(
        x=list(range(n)), y=[0] * n, mode="markers+text", showlegend=False, name="block",
        marker=dict(symbol="square", size=34, color=[LESSON_FILL[nd["kind"]] for nd in nodes],
                    line=dict(color="#333333", width=1)),
        text=[nd["label"].replace("layer ", "L") for nd in nodes], textfont=dict(size=11, color="#222222"),
        hovertext=[f"{nd['label']}: {nd['detail']}" for nd in nodes], hoverinfo="text"))
    for i, nd in enumerate(nodes):  # staggered in two rows: side by side they overlap at 1024 px
        fig.add_annotation(x=i, y=-0.42 - 0.22 * (i % 2), text=nd["detail"], showarrow=False,
                           font=dict(size=10, color="#555555"))
    # after the block: one box per module, in the model's order, joined by arrows
    xs_after = {a["id"]: n + 0.6 + 1.25 * j for j, a in enumerate(after)}
    prev_x = n - 1
    for a in after:
        x = xs_after[a["id"]]
        fig.add_annotation(x=x - 0.42, y=0, ax=prev_x + 0.3, ay=0, xref="x", yref="y", axref="x", ayref="y",
                           text="", showarrow=True, arrowhead=2, arrowsize=1.2, arrowwidth=1.6,
                           arrowcolor="#555555")
        fig.add_annotation(x=x, y=0, text=a["label"].replace(" ", "<br>"), showarrow=False,
                           bgcolor=LESSON_FILL[a["kind"]], bordercolor="#333333", borderwidth=1, borderpad=4,
                           font=dict(size=10, color="#222222"),
                           hovertext=f"{a['label']}: {a['detail']}")
        # above the box (below it, part 1's arrow comes up into the concat), staggered like the nodes' details
        fig.add_annotation(x=x, y=0.42 + 0.22 * (after.index(a) % 2), text=a["detail"], showarrow=False,
                           font=dict(size=10, color="#555555"))
        prev_x = x
    fig.add_trace(go.Scatter(  # the after-block modules, as data (and hover targets)
        x=[xs_after[a["id"]] for a in after], y=[0] * len(after), mode="markers", showlegend=False,
        name="after the block", marker=dict(size=30, color="rgba(0,0,0,0)"),
        customdata=[a["id"] for a in after],
        hovertext=[f"{a['label']}: {a['detail']}" for a in after], hoverinfo="text"))
    y_lo = -0.85
    join = graph.get("part1_joins")
    if graph.get("part1") and join in xs_after:
        jx = xs_after[join]
        fig.add_trace(go.Scatter(x=[-0.6, jx], y=[-1.05, -1.05], mode="lines", showlegend=False,
                                 name="part 1", line=dict(color=PART1_COLOR, dash="dash", width=2.5),
                                 hoverinfo="text",
                                 hovertext=f"part 1: {graph['part1']} ch bypass the block and join at the concat"))
        fig.add_annotation(x=jx, y=-0.2, ax=jx, ay=-1.05, xref="x", yref="y", axref="x", ayref="y",
                           text="", showarrow=True, arrowhead=2, arrowcolor=PART1_COLOR, arrowwidth=2.5)
        where = " after the partial transition" if any(a["id"] == "ptrans" for a in after) else ""
        fig.add_annotation(x=-0.6, y=-1.05, text=f"part 1 x0': {graph['part1']} ch bypass the block and join "
                           f"at the concat{where}", showarrow=False, xanchor="left", yanchor="top", yshift=-4,
                           font=dict(size=11, color=PART1_COLOR))
        y_lo = -1.45
    top = 0.22 + 0.35 + 0.28 * (n - 1) + 0.2
    hidden = graph.get("hidden_layers", 0)
    title = "Inside the dense block<br><sup>every arc is one read of an earlier feature map"  # two lines: 1024 px
    if hidden:
        title += f" ({hidden} more layers not drawn)"
    if after:
        title += "; then the rest of the stage, in order"
    title += "</sup>"
    x_hi = (max(xs_after.values()) + 0.8) if after else n - 0.4
    fig.update_layout(title=title, height=320 if not graph.get("part1") else 360, margin=dict(l=10, r=10, t=60, b=10),
                      plot_bgcolor="rgba(0,0,0,0)", hovermode="closest")
    fig.update_xaxes(visible=False, range=[-0.8, x_hi])
    fig.update_yaxes(visible=False, range=[y_lo, top])
    return fig


def fusion_stage_figure(rows: list, chosen: str | None = None) -> go.Figure:
    """The lesson's stage (one DenseNet-121 stage), computed: MACs, parameters and memory traffic of
    each fusion against the plain stage, each bar labelled with the stage's output width; fusion last
    also at the plain stage's width (its ``equal_width`` row), since at the preset's ratio it is wider."""
    shown = []
    for r in rows:
        if r["fusion"] == "none":
            continue
        shown.append(r)
        if r.get("equal_width"):
            shown.append(dict(r["equal_width"], equal=True))
    xs = [f"{r['name']}<br>{r['output_channels']} ch out"
          + (f", ratio {r['transition_ratio']:g}" if r.get("equal") else "") for r in shown]
    fig = go.Figure()
    for key, label, color in (("stage_macs_pct", "MACs", MACS_COLOR), ("stage_params_pct", "parameters", PALETTE[2]),
                              ("stage_cio_pct", "memory traffic (CIO, transitions included)", TIME_COLOR)):
        fig.add_trace(go.Bar(
            x=xs, y=[r[key] for r in shown], name=label, marker_color=color,
            marker_line=dict(width=[3 if (r["fusion"] == chosen and not r.get("equal")) else 0 for r in shown],
                             color="#111111"),
            text=[f"{r[key]:+.1f} %" for r in shown], textposition="outside",
            hovertemplate="%{x}: " + label + " %{y:+.1f} %<extra></extra>"))
    plain = next((r["output_channels"] for r in rows if r["fusion"] == "none"), None)
    fig.add_hline(y=0, line_color="#333333", line_width=1)
    fig.update_layout(
        title="The lesson's stage (one DenseNet-121 stage, computed): change against the plain stage"
              + (f" ({plain} ch out)" if plain else ""),
        barmode="group", yaxis_title="% change", height=400, margin=MARGIN,
        legend=dict(orientation="h", yanchor="bottom", y=-0.5))
    return fig


def fusion_network_figure(rows: list) -> go.Figure:
    """Whole networks: the CSPPeleeNet variants against PeleeNet, the paper's Fig. 4 (published;
    hatched where the value is approximate) beside this app's count of the same presets."""
    xs = [r["name"] for r in rows]
    fig = go.Figure()
    fig.add_trace(go.Bar(x=xs, y=[r["tool_pct"] for r in rows], name="this app's count (conv + linear MACs)",
                         marker_color=MACS_COLOR, text=[f"{r['tool_pct']:+.1f} %" for r in rows],
                         textposition="outside", hovertemplate="%{x}: this app %{y:+.1f} %<extra></extra>"))
    fig.add_trace(go.Bar(
        x=xs, y=[r["paper_pct"] for r in rows], name="paper Fig. 4 (published; hatched = approximate)",
        marker=dict(color=PAPER_COLOR, pattern=dict(shape=["/" if r["approximate"] else "" for r in rows])),
        text=[f"{r['paper_pct']:+.1f} %" for r in rows], textposition="outside",
        customdata=[[r["status_words"]] for r in rows],
        hovertemplate="%{x}: paper %{y:+.1f} % (%{customdata[0]})<extra></extra>"))
    fig.add_hline(y=0, line_color="#333333", line_width=1)
    fig.update_layout(title="Whole networks: CSPPeleeNet variants against PeleeNet (compute, 224×224)",
                      barmode="group", yaxis_title="% change", height=380, margin=MARGIN,
                      legend=dict(orientation="h", yanchor="bottom", y=-0.45))
    return fig


COMPONENT_COLORS = {"dense_1x1": "#fdae6b", "dense_3x3": "#e6550d", "partial_transition": "#9467bd",
                    "transition": "#2ca02c", "other": "#bdbdbd"}


def compute_story_figure(story: dict, labels: dict, unit: str = "MAC") -> go.Figure:
    """The compute story that adds up (lesson steps 2-3): plain vs CSP stage as stacked bars, one
    segment per component (``explorer.lesson.component_story``), each segment's change in the hover
    and the net change in the title."""
    fig = go.Figure()
    xs = ["plain stage", "CSP stage"]
    for c, label in labels.items():
        a, b = story["twin"].get(c, 0), story["design"].get(c, 0)
        if not a and not b:
            continue
        ch = b - a
        fig.add_trace(go.Bar(
            x=xs, y=[a, b], name=label, marker_color=COMPONENT_COLORS.get(c, PALETTE[7]),
            text=[si(a, unit) if a else "", si(b, unit) if b else ""], textposition="inside",
            customdata=[[si(a, unit), ""], [si(b, unit), f"{'+' if ch >= 0 else '−'}{si(abs(ch), unit)}"]],
            hovertemplate=label + ": %{customdata[0]} %{customdata[1]}<extra></extra>"))
    total_change = story["total_design"] - story["total_twin"]
    fig.update_layout(  # the legend below the bar labels, growing downwards: it never covers "plain stage"
        barmode="stack", height=480, margin=dict(MARGIN, t=70, b=10), yaxis_title=unit + "s",
        title=(f"Where the change comes from:<br>{'+' if total_change >= 0 else '−'}{si(abs(total_change), unit)} "
               f"({story['pct']:+.1f} %)"),
        legend=dict(orientation="h", yanchor="top", y=-0.12, xanchor="left", x=0))
    return fig


def fig4_label_positions(points: list, near_x: float = 0.08, near_y: float = 0.25) -> list:
    """Where each Fig. 4 label goes so that two close points' labels do not overlap: a point with a close
    neighbour to its right puts its label above left, the neighbour's to its right; the rest above."""
    pos = ["top center"] * len(points)
    order = sorted(range(len(points)), key=lambda i: points[i]["paper_bflops"])
    for a, b in zip(order, order[1:]):
        pa, pb = points[a], points[b]
        if abs(pb["paper_bflops"] - pa["paper_bflops"]) < near_x and abs(pb["top1"] - pa["top1"]) < near_y:
            pos[a] = "top left" if pos[a] == "top center" else pos[a]
            pos[b] = "middle right"
    for i, p in enumerate(points):  # a label above a point that a label running right from the left would hit
        if pos[i] == "top center" and any(
                pos[j] == "middle right" and 0 < p["paper_bflops"] - points[j]["paper_bflops"] < 2.5 * near_x
                and abs(p["top1"] - points[j]["top1"]) < near_y for j in range(len(points))):
            pos[i] = "bottom center"
    return pos


def fig4_figure(points: list) -> go.Figure:
    """The paper's Fig. 4 as it drew it: compute (BFLOPs) against top-1 for PeleeNet and the
    CSPPeleeNet variants (published; open markers where approximate, read off the figure), with this
    app's count of the same presets beside each at the same top-1 (top-1 is never computed here)."""
    fig = go.Figure()
    for p in points:
        fig.add_trace(go.Scatter(x=[p["paper_bflops"], p["tool_bflops"]], y=[p["top1"], p["top1"]], mode="lines",
                                 line=dict(color="#cccccc", dash="dot"), showlegend=False, hoverinfo="skip"))
    fig.add_trace(go.Scatter(
        x=[p["paper_bflops"] for p in points], y=[p["top1"] for p in points], mode="markers+text",
        name="paper (published; open = approximate)", text=[p["label"].replace("gamma = ", "γ = ") for p in points],
        textposition=fig4_label_positions(points), cliponaxis=False,
        marker=dict(size=12, color=PAPER_COLOR,
                    symbol=["circle-open" if p["approximate"] else "circle" for p in points], line=dict(width=2)),
        customdata=[[p["status"]] for p in points],
        hovertemplate="%{text}: paper %{x:.3f} BFLOPs, top-1 %{y:.1f} % (%{customdata[0]})<extra></extra>"))
    fig.add_trace(go.Scatter(
        x=[p["tool_bflops"] for p in points], y=[p["top1"] for p in points], mode="markers", name="this app's count",
        marker=dict(size=11, color=MACS_COLOR, symbol="diamond"), text=[p["label"] for p in points],
        hovertemplate="%{text}: this app %{x:.3f} BFLOPs (2 × MACs), the paper's top-1 %{y:.1f} %<extra></extra>"))
    fig.update_layout(title="Fig. 4 as the paper drew it<br><sup>compute against top-1: PeleeNet and the CSPPeleeNet "
                            "variants</sup>",
                      xaxis_title="compute (BFLOPs at 224×224)", yaxis_title="ImageNet top-1 (%), published",
                      height=440, margin=dict(MARGIN, t=70), legend=dict(orientation="h", yanchor="bottom", y=-0.35))
    return fig


LAYOUT_LABELS = {"none": "plain", "fusion_first": "fusion first", "fusion_last": "fusion last", "csp": "full CSP"}
LAYOUT_SYMBOLS = {"none": "circle", "fusion_first": "square", "fusion_last": "diamond", "csp": "triangle-up"}


def speed_figure(points: list) -> go.Figure:
    """The lesson's stage in each layout (at step 5's sliders): MACs against memory traffic (CIO), with its
    arithmetic intensity (MACs per element moved) in the hover; on memory-bound hardware time follows x."""
    fig = go.Figure(go.Scatter(
        x=[p["cio"] for p in points], y=[p["macs"] for p in points], mode="markers+text", cliponaxis=False,
        text=[LAYOUT_LABELS.get(p["fusion"], p["name"]) for p in points], textposition="top center",
        marker=dict(size=13, color=[PALETTE[i % len(PALETTE)] for i in range(len(points))]),
        customdata=[[si(p["macs"], "MAC"), si(p["cio"]), p["intensity"] or 0] for p in points],
        hovertemplate="%{text}: %{customdata[0]}, CIO %{customdata[1]} elements, "
                      "%{customdata[2]:.0f} MACs per element moved<extra></extra>"))
    fig.update_layout(title="The four layouts at the sliders:<br>compute (MACs) against memory traffic (CIO)",
                      xaxis_title="memory traffic, CIO (elements): what memory-bound hardware waits for",
                      yaxis_title="MACs: what compute-bound hardware waits for", height=400,
                      margin=dict(MARGIN, t=70))
    xs, ys = [p["cio"] for p in points], [p["macs"] for p in points]
    if xs:  # room for the labels above the points and at the edges
        dx, dy = (max(xs) - min(xs)) or max(xs) * 0.1, (max(ys) - min(ys)) or max(ys) * 0.1
        fig.update_xaxes(range=[min(xs) - 0.15 * dx, max(xs) + 0.15 * dx])
        fig.update_yaxes(range=[min(ys) - 0.15 * dy, max(ys) + 0.3 * dy])
    return fig


ROOF_COLORS = {"cpu": PALETTE[0], "h100": PALETTE[2], "t4": PALETTE[3]}


def lesson_roofline_figure(roofs: list) -> go.Figure:
    """Lesson step 5: each device's roofline (attainable TFLOP/s = min(peak, intensity x bandwidth), log-log)
    with the four layouts on it at their intensity (FLOP per byte), each at the speed its time bound
    allows; the ridge of each device dotted.  ``roofs``: ``explorer.lesson.all_rooflines``."""
    import math

    fig = go.Figure()
    ints = [r["intensity"] for roof in roofs for r in roof["rows"] if r["intensity"]]
    ridges = [roof["ridge"] for roof in roofs]
    lo = 10 ** math.floor(math.log10(min(ints + ridges) / 2))
    hi = 10 ** math.ceil(math.log10(max(ints + ridges) * 2))
    for roof in roofs:
        color = ROOF_COLORS.get(roof["key"], PALETTE[7])
        bw = roof["mem_bw_gbs"] * 1e9 / 1e12      # TB/s: TFLOP/s per FLOP/byte
        xs = [lo, roof["ridge"], hi]
        fig.add_trace(go.Scatter(x=xs, y=[min(roof["peak_tflops"], x * bw) for x in xs], mode="lines",
                                 name=f"{roof['name']}: ridge {roof['ridge']:.1f}", line=dict(color=color, width=2),
                                 legendgroup=roof["key"],
                                 hovertemplate=roof["device_name"] + ": %{y:.3g} TFLOP/s at %{x:.3g} FLOP/byte"
                                               "<extra></extra>"))
        rows = roof["rows"]
        fig.add_trace(go.Scatter(
            x=[r["intensity"] for r in rows], y=[min(roof["peak_tflops"], r["intensity"] * bw) for r in rows],
            mode="markers", showlegend=False, legendgroup=roof["key"],
            marker=dict(size=[14 if r["fastest"] else 10 for r in rows], color=color,
                        symbol=[LAYOUT_SYMBOLS[r["fusion"]] for r in rows], line=dict(color="#222222", width=1)),
            customdata=[[LAYOUT_LABELS[r["fusion"]], r["bound_us"], r["bound"], " (fastest)" if r["fastest"] else ""]
                        for r in rows],
            hovertemplate=roof["name"] + ", %{customdata[0]}: %{x:.1f} FLOP/byte, bound %{customdata[1]:,.1f} µs "
                          "(%{customdata[2]}-bound)%{customdata[3]}<extra></extra>"))
    for f, sym in LAYOUT_SYMBOLS.items():  # a legend of the layouts' symbols
        fig.add_trace(go.Scatter(x=[None], y=[None], mode="markers", name=LAYOUT_LABELS[f],
                                 marker=dict(symbol=sym, size=10, color="#888888",
                                             line=dict(color="#222222", width=1))))
    fig.update_layout(title="The four layouts on three rooflines<br><sup>fp32, batch 1; larger marker: the fastest"
                            "</sup>", height=480, margin=dict(MARGIN, t=70),
                      legend=dict(orientation="h", yanchor="top", y=-0.2))
    fig.update_xaxes(type="log", title="arithmetic intensity (FLOP per byte moved)", dtick=1,
                     range=[math.log10(lo), math.log10(hi)])
    fig.update_yaxes(type="log", title="attainable TFLOP/s", dtick=1)
    return fig


def lineage_growth_figure(points: list, names: dict, chosen: int | None = None) -> go.Figure:
    """Lesson step 6: the channels each stage's transition reads against the number of blocks n (C3 flat,
    C2f and ELAN growing by W/2 a block), beside a dense block's output of n layers with growth W/2:
    the same slope, part 1 below."""
    xs = [p["blocks"] for p in points]
    fig = go.Figure()
    styles = {"c3": (PALETTE[0], "solid", "circle"), "c2f": (PALETTE[1], "solid", "square"),
              "elan": (PALETTE[2], "dot", "diamond")}
    for key, (color, dash, symbol) in styles.items():
        fig.add_trace(go.Scatter(x=xs, y=[p[key] for p in points], mode="lines+markers", name=f"{names[key]}: concat",
                                 line=dict(color=color, dash=dash, width=2), marker=dict(symbol=symbol, size=8),
                                 hovertemplate=names[key] + ", n = %{x}: the transition reads %{y} channels"
                                               "<extra></extra>"))
    fig.add_trace(go.Scatter(
        x=xs, y=[p["dense"] for p in points], mode="lines+markers", name="dense block output (growth W/2)",
        line=dict(color=PAPER_COLOR, dash="dash", width=2), marker=dict(symbol="x", size=8),
        hovertemplate="DenseNet dense block of %{x} layers: %{y} channels out<extra></extra>"))
    if chosen is not None:
        fig.add_vline(x=chosen, line_color="#999999", line_dash="dot")
    part1 = points[0]["part1"] if points else 0
    fig.update_layout(title=f"Concat width against blocks n: C2f's is a dense block's output plus part 1 ({part1} ch)",
                      xaxis_title="blocks n on part 2", yaxis_title="channels into the transition",
                      height=380, margin=MARGIN, legend=dict(orientation="h", yanchor="bottom", y=-0.45))
    fig.update_xaxes(dtick=1)
    return fig
