"""The Pareto front of published points (accuracy against compute) and where a design stands against it.

One implementation for every chart: the ImageNet rows (top-1 against normalised GMACs) and the COCO rows
(AP against compute in one counting scale).  Lower compute and higher accuracy are better; a point is on the
front when no other point is at most as costly and at least as accurate, and strictly better in one of the
two.  The front is a staircase through published points only: between two of them nothing is interpolated
(no accuracy is claimed that nobody published).

Pure Python (the table helpers take a pandas DataFrame but import nothing): no Streamlit, no torch.
"""
from __future__ import annotations

import math
from typing import Sequence


def _checked(xs: Sequence[float], ys: Sequence[float]) -> tuple[list, list]:
    xs, ys = [float(x) for x in xs], [float(y) for y in ys]
    if len(xs) != len(ys):
        raise ValueError(f"{len(xs)} compute values but {len(ys)} accuracies")
    bad = [i for i, (x, y) in enumerate(zip(xs, ys)) if not (math.isfinite(x) and math.isfinite(y))]
    if bad:
        raise ValueError(f"point {bad[0]} is not finite ({xs[bad[0]]}, {ys[bad[0]]}): leave such rows out first")
    return xs, ys


def front_indices(xs: Sequence[float], ys: Sequence[float]) -> list[int]:
    """Indices of the points on the front (lower ``xs`` and higher ``ys`` are better), by increasing compute.

    Points that are equal in both coordinates are on it together (neither dominates the other).
    """
    xs, ys = _checked(xs, ys)
    order = sorted(range(len(xs)), key=lambda i: (xs[i], -ys[i], i))
    front, best = [], -math.inf
    k = 0
    while k < len(order):
        x = xs[order[k]]
        group = [i for i in order[k:] if xs[i] == x]          # same compute, most accurate first
        top = ys[group[0]]
        if top > best:                                        # nothing cheaper is as accurate
            front.extend(i for i in group if ys[i] == top)
            best = top
        k += len(group)
    return front


def dominates(a: tuple[float, float], b: tuple[float, float]) -> bool:
    """Whether point ``a`` = (compute, accuracy) is at least as good as ``b`` in both and better in one."""
    return a[0] <= b[0] and a[1] >= b[1] and (a[0] < b[0] or a[1] > b[1])


def position(x: float, y: float, points: Sequence[dict]) -> dict:
    """Where (``x`` compute, ``y`` accuracy) stands against the front of ``points`` (dicts with ``x``, ``y`` and
    ``label``; only their front is used).

    Returns ``on_front`` (no point dominates it), ``dominated_by`` (labels of the front points that do), and the
    two distances of a point behind the front, each with the front point that gives it (None where no front
    point qualifies):

    * ``equal_accuracy``: the cheapest front point at least as accurate: ``{label, x, y, compute_saved,
      compute_saved_pct}`` (compute saved = ``x`` minus its compute; negative when the design is cheaper);
    * ``equal_compute``: the most accurate front point at most as costly: ``{label, x, y, accuracy_gained}``
      (its accuracy minus ``y``; negative when the design is more accurate).
    """
    x, y = float(x), float(y)
    if not (math.isfinite(x) and math.isfinite(y)):
        raise ValueError(f"the design's point ({x}, {y}) is not finite")
    idx = front_indices([p["x"] for p in points], [p["y"] for p in points])
    front = [points[i] for i in idx]
    dominated_by = [p["label"] for p in front if dominates((p["x"], p["y"]), (x, y))]
    as_good = [p for p in front if p["y"] >= y]
    cheaper = [p for p in front if p["x"] <= x]
    eq_acc = min(as_good, key=lambda p: (p["x"], -p["y"])) if as_good else None
    eq_cmp = max(cheaper, key=lambda p: (p["y"], -p["x"])) if cheaper else None
    return {
        "x": x, "y": y, "on_front": not dominated_by, "dominated_by": dominated_by, "front_size": len(front),
        "equal_accuracy": None if eq_acc is None else {
            "label": eq_acc["label"], "x": float(eq_acc["x"]), "y": float(eq_acc["y"]),
            "compute_saved": x - float(eq_acc["x"]),
            "compute_saved_pct": 100.0 * (x - float(eq_acc["x"])) / x if x > 0 else None},
        "equal_compute": None if eq_cmp is None else {
            "label": eq_cmp["label"], "x": float(eq_cmp["x"]), "y": float(eq_cmp["y"]),
            "accuracy_gained": float(eq_cmp["y"]) - y},
    }


def position_sentence(who: str, pos: dict, unit: str, metric: str) -> str:
    """:func:`position` in words, e.g. 'Your design is behind the front: ResNet-50 reaches 76.1 % or more with
    4.09 GMACs (12 % less compute); at 4.6 GMACs or less the front reaches 77.3 % (+1.2 points, X).'"""
    if pos["front_size"] == 0:
        return f"{who}: no published point is shown, so there is no front to compare with."
    acc, cmp_ = pos["equal_accuracy"], pos["equal_compute"]
    if pos["on_front"]:
        text = f"{who} is on the front of the shown rows: no published point is at most as costly and as accurate"
        if acc is None:
            text += f"; it is more accurate than every shown row ({pos['y']:.2f} {metric})"
        return text + "."
    parts = []
    if acc is not None:
        pct = "" if acc["compute_saved_pct"] is None else f" ({acc['compute_saved_pct']:.0f} % less compute)"
        parts.append(f"{acc['label']} reaches {acc['y']:.2f} {metric} (at least as accurate) with "
                     f"{acc['x']:.3g} {unit} against its {pos['x']:.3g}{pct}")
    if cmp_ is not None:
        parts.append(f"at {pos['x']:.3g} {unit} or less the front reaches {cmp_['y']:.2f} {metric} "
                     f"(+{cmp_['accuracy_gained']:.2f} points, {cmp_['label']})")
    return f"{who} is behind the front of the shown rows: " + "; ".join(parts) + "."


# --------------------------------------------------------------------------- tables
def front_rows(df, x: str, y: str):
    """The rows of a DataFrame ``df`` on the front of its ``x`` (compute) and ``y`` (accuracy) columns, by
    increasing compute; rows missing either value are left out first."""
    ok = df[df[x].notna() & df[y].notna()]
    return ok.iloc[front_indices(ok[x].tolist(), ok[y].tolist())]


def table_position(df, x: str, y: str, label: str, at_x: float, at_y: float, leave_out=None) -> dict:
    """:func:`position` of (``at_x``, ``at_y``) against the rows of ``df`` (columns ``x``, ``y`` and ``label``),
    without the rows where the boolean Series ``leave_out`` is True (e.g. the design's own published rows: the
    same network would stand against itself)."""
    rows = df if leave_out is None else df[~leave_out.reindex(df.index, fill_value=False)]
    rows = rows[rows[x].notna() & rows[y].notna()]
    pts = [{"x": float(a), "y": float(b), "label": str(c)} for a, b, c in zip(rows[x], rows[y], rows[label])]
    return position(at_x, at_y, pts)
