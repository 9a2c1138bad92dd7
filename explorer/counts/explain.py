"""Explain any number: the formula behind a stage's MACs, parameters and CIO, layer by layer.

Pure engine code (no Streamlit): every row is computed from the same analytic-plan ops the
totals are summed from (``cspnet.plan_network``, ``explorer.counts.conventions``), so the rows'
values add up to the stage's totals exactly.  A conv's MACs are H_out x W_out x (C_in/groups) x
C_out x k x k, its parameters (C_in/groups) x C_out x k x k (+ C_out for a bias), its CIO (the
paper's memory traffic, after HarDNet) the input plus the output elements.  Where an op's count is
not one of these textbook formulas the row says so and gives the engine's value.

``component_of`` names the part of a stage an op belongs to, from its module path
(``stages.0.block.denselayer3.conv1`` is a dense layer's 1x1 conv); any other grouping can be
passed to :func:`explain` as a function ``op -> name``.
"""
from __future__ import annotations

from typing import Callable

from cspnet import CSPConfig, plan_network
from cspnet.plan import Op
from explorer.counts.conventions import MACS, OP_METRICS, group_counts

METRICS = ("macs", "params", "cio")
# the parts of a stage, in the order a stacked bar shows them
COMPONENTS = ("dense_1x1", "dense_3x3", "partial_transition", "transition", "other")
COMPONENT_LABELS = {"dense_1x1": "dense layers' 1×1 convs", "dense_3x3": "dense layers' 3×3 convs",
                    "partial_transition": "partial transition", "transition": "transition",
                    "other": "other (norms, concat, ...)"}


def component_of(op: Op) -> str:
    """The part of its stage ``op`` belongs to (a key of :data:`COMPONENTS`), from its module path:
    a dense layer's convs by kernel size, the partial transition, the transition (after the concat,
    or on the block path in fusion last), everything else (norms, activations, concats, pools)."""
    parts = op.path.split(".")
    rest = parts[2:] if len(parts) > 2 and parts[0] == "stages" else parts
    if not rest:
        return "other"
    if rest[0] == "block" and len(rest) > 2 and rest[1].startswith("denselayer") and op.kind == "conv":
        return "dense_1x1" if op.kernel == 1 else "dense_3x3"
    if rest[0] in ("partial_transition", "transition") and op.kind == "conv":
        return rest[0]
    return "other"


def _x(*factors) -> str:
    return " × ".join(f"{f:,}" if isinstance(f, int) else str(f) for f in factors)


def _conv_rows(op: Op) -> dict:
    cin, cout = op.in_shape[0], op.out_shape[0]
    h, w = (op.out_shape[1], op.out_shape[2]) if len(op.out_shape) == 3 else (1, 1)
    g, k = op.groups or 1, op.kernel or 1
    cg = cin // g
    macs = h * w * cg * cout * k * k
    weights = cg * cout * k * k
    out = {}
    sym_in = "C_in" if g == 1 else "(C_in/groups)"
    if macs == MACS.per_op(op):
        out["macs"] = (f"H_out × W_out × {sym_in} × C_out × k × k = {_x(h, w, cg, cout, k, k)}", macs)
    if op.params == weights:
        out["params"] = (f"{sym_in} × C_out × k × k = {_x(cg, cout, k, k)}", weights)
    elif op.params == weights + cout:
        out["params"] = (f"{sym_in} × C_out × k × k + C_out (bias) = {_x(cg, cout, k, k)} + {cout:,}", op.params)
    ins = op.in_shape
    out["cio"] = (f"input C×H×W + output C×H×W = {_x(*ins)} + {_x(*op.out_shape)}",
                  op.in_elements + op.out_elements)
    return out


def explain_op(op: Op, metric: str) -> dict | None:
    """One row {layer, kind, metric, formula, value} for ``op``, or None where it counts 0."""
    value = OP_METRICS[metric](op)
    if not value:
        return None
    formula = None
    if op.kind == "conv":
        known = _conv_rows(op).get(metric)
        if known and known[1] == value:
            formula = known[0]
    elif op.kind == "bn" and metric == "params" and op.params == 2 * op.in_shape[0]:
        formula = f"2 × C (scale and shift) = 2 × {op.in_shape[0]:,}"
    if formula is None:
        formula = f"the engine's count for a {op.kind} op"
    return {"layer": op.path, "kind": op.kind, "metric": metric, "formula": f"{formula} = {value:,}", "value": value}


def explain_ops(ops, component: str | None = None, metric: str = "macs",
                by: Callable[[Op], str] = component_of) -> list:
    """Rows for the ops (of ``component`` under the grouping ``by``; all ops for None)."""
    if metric not in METRICS:
        raise KeyError(f"{metric!r}; allowed: {', '.join(METRICS)}")
    rows = []
    for op in ops:
        if component is not None and by(op) != component:
            continue
        row = explain_op(op, metric)
        if row is not None:
            rows.append(row)
    return rows


def explain(cfg: CSPConfig, stage: str, component: str | None = None, metric: str = "macs",
            by: Callable[[Op], str] = component_of) -> list:
    """``[{layer, kind, metric, formula, value}]``: how ``metric`` (macs, params or cio) of
    ``stage``'s ``component`` (None: the whole stage) is counted, op by op, with the design's values
    substituted.  The values add up to the total the engine reports for the same ops."""
    return explain_ops(plan_network(cfg).stage(stage).ops, component, metric, by)


def breakdown(cfg: CSPConfig, stage: str, metrics=METRICS, by: Callable[[Op], str] = component_of) -> dict:
    """``{component: {metric: total}}`` for every component of :data:`COMPONENTS` (zeros too), from
    the same rows :func:`explain` gives."""
    return group_counts(plan_network(cfg).stage(stage), by=by, metrics=metrics, keys=COMPONENTS)
