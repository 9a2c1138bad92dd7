"""The Compare page's tables and chart, from ``explorer.compare``'s result: the side-by-side rows with each delta
coloured by its verdict (better green, worse red: the engine says which, every numeric row better lower), the
aligned stages, and the ablation walk as a small bar chart.  Layout only; every number comes from the engine."""
from __future__ import annotations

import pandas as pd
import plotly.graph_objects as go

from explorer.compare import footnotes, stage_table_rows, table_rows
from explorer.counts.conventions import CONVENTIONS

TONE = {"better": "background-color: #d9f2de; color: #14532d", "worse": "background-color: #fadadd; color: #7f1d1d",
        "same": "color: #6b7280"}
SLOT_DIFFERS = "background-color: #fff4e5"
DELTA_SUFFIX = " vs [1]"
ROW_PX, HEADER_PX = 35, 38        # st.dataframe's row and header height: the whole table shown, no inner scroll


def letter(i: int) -> str:
    """The column name of subject ``i``: A (the baseline), B, C, D; the page lists which design each is."""
    return chr(65 + i)


def table_height(n_rows: int) -> int:
    return HEADER_PX + ROW_PX * n_rows + 2


def column_config(df_or_styler) -> dict:
    """The first column (the quantity or the stage slot) pinned at a medium width and the short ones small, so
    the subjects' values stay in view at 1024 px (the rest scrolls sideways)."""
    import streamlit as st

    cols = list(getattr(df_or_styler, "data", df_or_styler).columns)
    cfg = {cols[0]: st.column_config.TextColumn(width="medium", pinned=True)}
    cfg.update({c: st.column_config.TextColumn(width="small") for c in ("unit", "convention key", "differs")
                if c in cols})
    return cfg


def _letters(df: pd.DataFrame, labels: list) -> pd.DataFrame:
    """Columns named by the subjects' letters (``A``, ``B vs A``, ``B MAC``, ``B Δ%``), not their long labels
    (the page lists which design each letter is)."""
    suffixes = {"vs [1]": "vs A", "Δ%": "Δ%", "taps": "taps"} | {c.unit: c.unit for c in CONVENTIONS.values()}
    names = {}
    for i, lab in enumerate(labels):
        names[lab] = letter(i)
        names.update({f"{lab} {k}": f"{letter(i)} {v}" for k, v in suffixes.items()})
    return df.rename(columns=names)


def _verdict_of(text) -> str | None:
    words = str(text).split()
    return words[-1] if words and words[-1] in TONE else None


def rows_frame(result: dict, sections, convention: str | None = None):
    """(Styler, footnotes) of the result's rows in ``sections`` as the CLI's text table (values with their unit,
    each delta with its verdict), the delta cells coloured by verdict; ``convention``: only that convention's
    rows and the rows of no convention (the part table)."""
    rows = table_rows(result, sections, text=True)
    if convention is not None:
        rows = [r for r in rows if r["convention"] in ("", convention)]
    df = pd.DataFrame(rows).drop(columns=["section"])
    df = _letters(df, [s["label"] for s in result["subjects"]])
    df = df.rename(columns={"row": "quantity", "convention": "convention key"})
    if convention is not None:
        df = df.drop(columns=["convention key"])
    else:   # the convention's key last: its label (the quantity) says it first
        df = df[[c for c in df.columns if c != "convention key"] + ["convention key"]]
    delta_cols = [c for c in df.columns if c.endswith(" vs A")]
    styler = df.style.map(lambda v: TONE.get(_verdict_of(v), ""), subset=delta_cols)
    return styler, footnotes(result, sections), len(df)


def stages_frame(result: dict, convention: str, taps: bool = False):
    """The aligned stages (``explorer.compare.stage_table_rows``): a slot that differs between the subjects
    shaded, each stage's delta in % coloured (lower count: green); ``taps``: every tap's shape instead."""
    df = _letters(pd.DataFrame(stage_table_rows(result, convention, text=True, taps=taps)),
                  [s["label"] for s in result["subjects"]])
    delta_cols = [c for c in df.columns if c.endswith(" Δ%")]

    def tone(v):
        try:
            x = float(str(v).replace(",", ""))
        except ValueError:
            return ""
        return TONE["same"] if abs(x) < 0.05 else TONE["better" if x < 0 else "worse"]

    styler = df.style.map(tone, subset=delta_cols)
    styler = styler.apply(lambda row: [SLOT_DIFFERS if row["differs"] else "" for _ in row], axis=1,
                          subset=["slot", "differs"])
    return styler, len(df)


def _short(text: str, width: int = 58) -> str:
    return text if len(text) <= width else text[:width - 1] + "\u2026"


def walk_figure(walk: dict, time_label: str) -> go.Figure:
    """The ablation walk: each step's share of the MAC difference and of the time difference (``time_label``:
    the estimate or the lower bound), one pair of horizontal bars per step, the first step at the top."""
    steps = walk["steps"]
    labels = [_short(" + ".join(s["changes"])) + (" *" if s["grouped"] else "") for s in steps]
    fig = go.Figure()
    for key, name, color in (("macs_share", "share of the MAC difference", "#1f77b4"),
                             ("time_share", f"share of the {time_label} difference", "#ff7f0e")):
        xs = [None if s[key] is None else 100.0 * s[key] for s in steps]
        fig.add_bar(y=labels, x=xs, name=name, orientation="h", marker_color=color,
                    hovertemplate="%{y}<br>%{x:.1f} %<extra>" + name + "</extra>")
    fig.update_layout(barmode="group", height=max(180, 34 * len(steps) + 90), margin=dict(l=10, r=10, t=30, b=10),
                      legend=dict(orientation="h", y=1.02, yanchor="bottom", x=0),
                      xaxis=dict(title="% of the whole difference from A to B", zeroline=True,
                                 zerolinecolor="#888"),
                      yaxis=dict(autorange="reversed", automargin=True))
    return fig
