"""How the analytic numbers compare with a live trace of the real model (``explorer.real.trace``).

Pure Python: takes the dicts of :func:`explorer.counts.analysis.summarize` and
:func:`explorer.trace.live_trace` and lists what agrees and what does not.
"""
from __future__ import annotations

from cspnet.plan import TAP_LABELS


def trace_agreement(summary: dict, trace: dict) -> dict:
    """Rows comparing parameters, fvcore MACs, every tap point's shape, the graph's edges and a detector's
    output scales (the head's ``p0``, ``p1``, ... taps against the model's outputs); ``agree`` overall."""
    rows = [{"quantity": "parameters", "analytic": summary["params"], "live trace": trace["params"],
             "agree": summary["params"] == trace["params"]}]
    fv = trace.get("fvcore")
    if fv is not None:
        rows.append({"quantity": "fvcore MACs (FlopCountAnalysis on the model)",
                     "analytic": summary["fvcore_macs"], "live trace": fv["total"],
                     "agree": summary["fvcore_macs"] == fv["total"]})
    shape_total = shape_ok = 0
    mismatches = []
    for stage in summary["stages"]:
        seen = trace["shapes"].get(stage["name"])
        if seen is None:
            continue
        for tap, shape in stage["shapes"].items():
            if tap not in seen:
                continue
            shape_total += 1
            if list(seen[tap]) == list(shape):
                shape_ok += 1
            else:
                mismatches.append(f"{stage['name']} {TAP_LABELS.get(tap, tap)}: analytic "
                                  f"{'x'.join(map(str, shape))}, traced {'x'.join(map(str, seen[tap]))}")
    rows.append({"quantity": "tap-point shapes (forward hooks)", "analytic": shape_total,
                 "live trace": shape_ok, "agree": shape_total > 0 and shape_ok == shape_total})
    head = summary["stages"][-1]["shapes"] if summary["stages"] else {}
    scales = [head[f"p{k}"] for k in range(len(head)) if f"p{k}" in head]
    per_scale = []
    if scales and "outputs" in trace:   # a detector: each output scale (what its [yolo] reads) is a model output
        outs = [list(o) for o in trace["outputs"]]
        same = sum(list(a) == b for a, b in zip(scales, outs))
        where = "what Detect reads" if trace.get("outputs_read_by") == "head" else "the model's outputs"
        rows.append({"quantity": "output scales: " + ", ".join("x".join(map(str, a)) for a in scales)
                     + f" ({where})", "analytic": len(scales), "live trace": same,
                     "agree": same == len(scales) == len(outs)})
        size = summary.get("input_size") or 0
        for j, a in enumerate(scales):   # one row per output scale: P3, P4, P5 and their shapes
            b = outs[j] if j < len(outs) else None
            stride = size // a[1] if size and a[1] else 0
            per_scale.append({"scale": f"P{stride.bit_length() - 1}" if stride else f"p{j}", "stride": stride,
                              "analytic": "x".join(map(str, a)),
                              "live trace": "x".join(map(str, b)) if b else "(none)",
                              "agree": b is not None and list(a) == list(b)})
        if not same == len(scales) == len(outs):
            mismatches.append("outputs: analytic " + ", ".join("x".join(map(str, a)) for a in scales)
                              + "; traced " + ", ".join("x".join(map(str, b)) for b in outs))
    df = trace.get("dataflow")
    if df is not None:   # every edge of the plan's graph against what the model's ops really read
        bad = len(df["differences"])
        rows.append({"quantity": "dataflow: what every layer reads (edges, recorded op by op)",
                     "analytic": df["edges"], "live trace": max(df["edges"] - bad, 0), "agree": bad == 0})
        mismatches += [f"dataflow: {d}" for d in df["differences"][:20]]
    return {
        "rows": rows,
        "agree": all(r["agree"] for r in rows),
        "shape_mismatches": mismatches,
        "scales": per_scale,   # a detector's output scales, one row each ([] otherwise)
        "unsupported_ops": dict(fv["unsupported_ops"]) if fv else {},
        "seconds": trace.get("seconds", {}),
    }
