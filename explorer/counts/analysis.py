"""Per-stage summary of a design and its comparison with the plain twin, from the analytic plan.

Everything here is computed from the config alone (no model build), in well under 5 ms for any
preset; the live trace (``explorer.real.trace``) checks these numbers against the real model.
"""
from __future__ import annotations

from cspnet import CSPConfig, ConfigError, plan_network
from cspnet.plan import TAP_LABELS, TAP_ORDER

from explorer.counts.conventions import CONVENTIONS, all_activations, cio, conv_activations, count, stage_counts

DTYPE_BYTES = {"fp32": 4, "bf16": 2, "fp16": 2}

# Metrics compared against the plain twin: key -> (label, unit)
METRICS = {
    "params": ("Parameters", ""),
    "macs": ("MACs (conv + linear)", "MAC"),
    "fvcore_macs": ("fvcore / timm GMACs", "MAC"),
    "cio": ("Memory traffic (CIO)", "elements"),
    "activations": ("Activations (all layers)", "elements"),
}


def summarize(cfg: CSPConfig, batch: int = 1) -> dict:
    """A JSON-safe summary: totals in every convention, memory, and one row per stage."""
    plan = plan_network(cfg)
    macs = count(plan, "macs")
    acts = all_activations(plan)
    total_macs = max(macs, 1)
    stages = []
    for sp in plan.stages:
        c = stage_counts(sp)
        stages.append({
            "name": sp.name,
            "kind": sp.kind,
            "fusion": sp.fusion,
            "repeats": sp.repeats,
            "shapes": {tap: list(shape) for tap, shape in sp.taps.items()},
            **c,
            "macs_share": c["macs"] / total_macs,
        })
    return {
        "name": cfg.name,
        "family": cfg.family,
        "fusion": cfg.fusion,
        "input_size": cfg.input_size,
        "config": cfg.to_dict(),
        "params": plan.params,
        "macs": macs,
        "fvcore_macs": count(plan, "fvcore"),
        "flops": count(plan, "flops"),
        "bflops": count(plan, "bflops"),
        "cio": cio(plan),
        "activations": acts,
        "conv_activations": conv_activations(plan),
        "memory": memory(plan.params, acts, batch),
        "conventions": {k: {"label": c.label, "unit": c.unit, "includes": c.includes,
                            "value": count(plan, k)} for k, c in CONVENTIONS.items()},
        "output_shape": [batch, cfg.num_classes],
        "stages": stages,
    }


def memory(params: int, activations: int, batch: int) -> dict:
    return {
        "batch": batch,
        "param_bytes": {k: params * b for k, b in DTYPE_BYTES.items() if k != "fp16"},
        "activation_bytes": {k: activations * batch * b for k, b in DTYPE_BYTES.items() if k != "fp16"},
        "note": "activation bytes = elements written by every layer in one forward pass x batch x "
                "bytes per element (what training would keep; inference needs less)",
    }


def compare_with_twin(cfg: CSPConfig, batch: int = 1) -> dict:
    """The design, its plain twin (same config, fusion='none') and the deltas, absolute and in %."""
    design = summarize(cfg, batch)
    twin_cfg = cfg.twin()
    twin = design if twin_cfg == cfg else summarize(twin_cfg, batch)
    deltas = {}
    for key, (label, unit) in METRICS.items():
        a, b = design[key], twin[key]
        deltas[key] = {"label": label, "unit": unit, "design": a, "twin": b, "delta": a - b,
                       "delta_pct": (100.0 * (a - b) / b) if b else None}
    return {"design": design, "twin": twin, "deltas": deltas, "twin_config": twin_cfg.to_dict()}


def stage_table(summary: dict, convention: str = "macs") -> list:
    """Flat rows (one per stage) for tables and CSV: shapes as 'CxHxW' per tap point.

    Tap columns follow the forward order (``cspnet.plan.TAP_ORDER``); a tap a stage lacks is ''.
    """
    conv_key = {"macs": "macs", "fvcore": "fvcore_macs"}.get(convention, "macs")
    factor = 2 if convention in ("flops", "bflops") else 1
    present = {tap for st in summary["stages"] for tap in st["shapes"]}
    taps = [t for t in TAP_ORDER if t in present] + sorted(present - set(TAP_ORDER))
    rows = []
    for st in summary["stages"]:
        row = {"stage": st["name"], "fusion": st["fusion"] if st["kind"] == "stage" else "",
               "repeats": st["repeats"] or None}
        for tap in taps:
            shape = st["shapes"].get(tap)
            row[TAP_LABELS.get(tap, tap)] = "x".join(str(d) for d in shape) if shape else ""
        row["params"] = st["params"]
        row[CONVENTIONS[convention].label] = st[conv_key] * factor
        row["CIO (elements)"] = st["cio"]
        row["activations (elements)"] = st["activations"]
        row["share of MACs"] = round(st["macs_share"], 4)
        rows.append(row)
    return rows


def block_rows(cfg: CSPConfig, stage: str) -> list:
    """Per-block rows of one stage (on demand): each block unit's input/output shape and counts.

    Layers outside the repeated blocks (split, transitions, concat) are grouped under their own
    submodule name, so the rows add up to the stage's totals.
    """
    plan = plan_network(cfg)
    names = [st.name for st in plan.stages]
    if stage not in names:
        raise ConfigError("stage", f"{stage!r} is not a stage of this design; allowed: {', '.join(names)}")
    sp = plan.stage(stage)
    prefix = f"{sp.name}."
    units: dict = {}
    for op in sp.ops:
        rest = op.path[len(prefix):] if op.path.startswith(prefix) else op.path
        parts = rest.split(".")
        unit = ".".join(parts[:2]) if parts[0] == "block" and len(parts) > 1 else parts[0]
        first_in = op.out_shape if (op.kind == "cat" and unit.startswith("block.")) else op.in_shape
        u = units.setdefault(unit, {"unit": unit, "input": first_in, "output": op.out_shape, "layers": 0,
                                    "params": 0, "macs": 0, "fvcore_macs": 0, "cio": 0, "activations": 0})
        u["output"] = op.out_shape
        u["layers"] += 1
        u["params"] += op.params
        u["macs"] += CONVENTIONS["macs"].per_op(op)
        u["fvcore_macs"] += CONVENTIONS["fvcore"].per_op(op)
        u["cio"] += (op.in_elements + op.out_elements) if op.kind == "conv" else 0
        u["activations"] += op.out_elements
    rows = []
    for u in units.values():
        u["input"] = "x".join(map(str, u["input"]))
        u["output"] = "x".join(map(str, u["output"]))
        rows.append(u)
    return rows
