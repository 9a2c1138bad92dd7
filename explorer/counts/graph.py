"""The plan's graph as a table: one row per layer, with what it reads and what it costs.

Each row is a layer of the analytic plan (``cspnet.plan.Op``): its index, module path, op kind, group
(part, stage, component), the layers it reads by index (as an Ultralytics YAML's ``from`` field, with the
channel slice where a layer reads part of a tensor: a CSP split's parts), its shapes, parameters and its
cost in every registered counting convention.  ``python -m explorer layers NAME`` prints it as a table,
CSV or JSON; a test checks that every convention's column adds up to the network's total.
"""
from __future__ import annotations

from cspnet.plan import INPUT

from .conventions import REGISTRY


def _ref(index: dict, read: tuple, plan) -> str:
    """A read as text: ``12`` (all of layer 12), ``12[0:32]`` (its channels 0..31), ``12[view]`` (a view
    that is no channel slice: attention's q, k, v), ``input``."""
    src, lo, hi = read
    name = "input" if src == INPUT else str(index[src])
    c = plan.source_shape(src)[0]
    if lo is None:
        return f"{name}[view]"
    return name if (lo, hi) == (0, c) else f"{name}[{lo}:{hi}]"


def layer_rows(plan, conventions=None) -> list:
    """One dict per layer of ``plan`` (a ``cspnet.plan.NetPlan``), in the order the model runs them.
    ``conventions``: the registered convention keys to add as columns (default: all of them)."""
    keys = list(REGISTRY) if conventions is None else list(conventions)
    ops = list(plan.ops)
    index = {op.path: i for i, op in enumerate(ops)}
    rows = []
    for i, op in enumerate(ops):
        part, stage, component = op.group
        rows.append({
            "index": i, "path": op.path, "kind": op.kind, "part": part, "stage": stage, "component": component,
            "from": [_ref(index, r, plan) for r in op.reads],
            "in_shape": list(op.in_shape), "out_shape": list(op.out_shape), "params": op.params,
            **{k: REGISTRY[k].per_op(op) for k in keys},
        })
    return rows


def edges(plan) -> list:
    """The graph's edges ``{"from": index | "input", "to": index, "channels": [lo, hi] | None, "shape"}``:
    every tensor a layer reads (``channels`` None: a view)."""
    ops = list(plan.ops)
    index = {op.path: i for i, op in enumerate(ops)}
    out = []
    for i, op in enumerate(ops):
        for read in op.reads:
            src, lo, hi = read
            out.append({"from": INPUT if src == INPUT else index[src], "to": i,
                        "channels": None if lo is None else [lo, hi], "shape": list(plan.read_shape(read))})
    return out


__all__ = ["edges", "layer_rows"]
