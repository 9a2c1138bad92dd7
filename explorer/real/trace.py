"""The live trace: build the real model, run it with hooks, and count with fvcore and FlopCounterMode.

This is the check on the analytic numbers (``explorer.counts.analysis``): every tap point's shape is read
from a forward hook on the built model, parameters are counted from the module, and the two
reference counters are run on the same model.  ``reconcile`` explains why the counters differ.
"""
from __future__ import annotations

import logging
import time
import warnings
from collections import Counter

import torch

from cspnet import CSPConfig, build_model, count_params, plan_network
from cspnet.plan import tap_module
from explorer.counts.conventions import count, group_counts
from explorer.real.dataflow import compare


def hooked_shapes(model, plan, x, return_output: bool = False):
    """stage name -> {tap: (C, H, W)} as seen by forward hooks on the tap-point modules
    (and the model's output too, with ``return_output``)."""
    seen: dict = {}
    handles = []
    for sp in plan.stages:
        if sp.kind != "stage":
            continue
        stage_mod = model.get_submodule(sp.name)

        def stage_hook(_m, inp, out, name=sp.name):
            seen.setdefault(name, {})["input"] = tuple(inp[0].shape[1:])
            out = out[0] if isinstance(out, tuple) else out   # (a part that exports more: its output first)
            seen[name]["output"] = tuple(out.shape[1:])

        handles.append(stage_mod.register_forward_hook(stage_hook))
        for tap in sp.taps:
            if tap in ("input", "output"):
                continue
            mod_name, idx = tap_module(tap)
            mod = stage_mod.get_submodule(mod_name)

            def hook(_m, _inp, out, key=(sp.name, tap), idx=idx):
                t = out[idx] if idx is not None else out
                seen.setdefault(key[0], {})[key[1]] = tuple(t.shape[1:])

            handles.append(mod.register_forward_hook(hook))
    head = plan.stages[-1] if plan.stages else None
    if head is not None and head.kind == "head" and "p0" in head.taps and hasattr(model, "neck"):
        # a detector design's head (a part of the model's DAG) reads every output scale: its inputs are the
        # taps p0, p1, ... (P3, P4, P5), its output Detect's (4 + classes, anchors, 1)
        def head_hook(_m, inp, out):
            seen["head"] = {"input": tuple(inp[0].shape[1:]),
                            **{f"p{j}": tuple(t.shape[1:]) for j, t in enumerate(inp)},
                            "output": tuple(out.shape[1:])}

        handles.append(model.head.register_forward_hook(head_hook))
    try:
        with torch.inference_mode():
            out = model(x)
    finally:
        for h in handles:
            h.remove()
    return (seen, out) if return_output else seen


def fvcore_count(model, x) -> dict:
    """fvcore's FlopCountAnalysis: total, per top-level part, and the ops it skipped."""
    from fvcore.nn import FlopCountAnalysis

    logging.getLogger("fvcore").setLevel(logging.ERROR)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        fca = FlopCountAnalysis(model, x)
        fca.unsupported_ops_warnings(False).uncalled_modules_warnings(False)
        total = fca.total()
        by_module = fca.by_module()
        unsupported = dict(fca.unsupported_ops())
        by_operator = dict(fca.by_operator())
    parts = {name: by_module.get(name, 0) for name in _part_names(model)}
    return {"total": int(total), "by_part": parts, "unsupported_ops": unsupported,
            "by_operator": {k: int(v) for k, v in by_operator.items()}}


def flop_counter_count(model, x) -> dict:
    """torch.utils.flop_counter.FlopCounterMode (counts 2 per multiply-add); halved to MACs here."""
    from torch.utils.flop_counter import FlopCounterMode

    with FlopCounterMode(display=False) as fcm:
        with torch.inference_mode():
            model(x)
    counts = fcm.get_flop_counts()
    root = type(model).__name__
    parts = {}
    for name in _part_names(model):
        per_op = counts.get(f"{root}.{name}", {})
        parts[name] = int(sum(per_op.values())) // 2
    by_op = {str(k): int(v) // 2 for k, v in counts.get("Global", {}).items()}
    return {"total": int(fcm.get_total_flops()) // 2, "by_part": parts, "by_operator": by_op}


def _part_names(model) -> list:
    return [name for name, _ in model.named_parts()]


def live_trace(cfg: CSPConfig, with_fvcore: bool = True) -> dict:
    """Build the real model, read every tap point's shape from forward hooks (and each output's: a
    detector's per output scale), count its parameters, record what every op reads and compare it with the
    plan's graph (``explorer.real.dataflow``), and (optionally) run fvcore on it.

    Shapes and parameters come from a model built on the ``meta`` device, so even a large design
    allocates nothing; fvcore needs real tensors and runs on a CPU build (batch 1).
    """
    t0 = time.perf_counter()
    plan = plan_network(cfg)
    meta_model = build_model(cfg, device="meta")
    x_meta = torch.empty(1, 3, cfg.input_size, cfg.input_size, device="meta")
    t_build = time.perf_counter() - t0
    t1 = time.perf_counter()
    shapes, out = hooked_shapes(meta_model, plan, x_meta, return_output=True)
    t_forward = time.perf_counter() - t1
    t_df = time.perf_counter()
    differences = compare(plan, meta_model, x_meta)   # what every op really reads vs the plan's graph
    dataflow = {"edges": sum(len(op.reads) for op in plan.ops), "differences": differences,
                "seconds": time.perf_counter() - t_df}
    t2 = time.perf_counter()
    fv = None
    if with_fvcore:
        model = build_model(cfg)
        fv = fvcore_count(model, torch.zeros(1, 3, cfg.input_size, cfg.input_size))
    t_fvcore = time.perf_counter() - t2
    return {
        "params": count_params(meta_model),
        "shapes": {k: {t: list(s) for t, s in v.items()} for k, v in shapes.items()},
        # the model's output(s): one per output scale of a detector (a Darknet cfg's [yolo] layers); a detector
        # design's model returns Detect's one tensor, so its output scales are what its head reads
        "outputs": ([list(shapes["head"][f"p{j}"]) for j in range(len(shapes["head"]) - 2)] if "head" in shapes
                    else [list(t.shape[1:]) for t in (out if isinstance(out, tuple) else (out,))]),
        "outputs_read_by": "head" if "head" in shapes else "model",
        "fvcore": fv,
        "dataflow": dataflow,
        "seconds": {"build": t_build, "hooked_forward": t_forward, "dataflow": dataflow["seconds"],
                    "fvcore": t_fvcore,
                    "total": time.perf_counter() - t0},
    }


def reconcile(cfg: CSPConfig) -> dict:
    """What fvcore, FlopCounterMode and the analytic counter report for one design, and why.

    Returns the totals and a list of reasons, each an op kind with the amount it explains.
    """
    plan = plan_network(cfg)
    model = build_model(cfg)
    x = torch.zeros(1, 3, cfg.input_size, cfg.input_size)
    fv = fvcore_count(model, x)
    fcm = flop_counter_count(model, x)
    fv_by_kind = group_counts(plan, by="kind", metrics=("fvcore",))  # what fvcore's table adds per kind
    bn = fv_by_kind.get("bn", {}).get("fvcore", 0)
    gap = fv_by_kind.get("gap", {}).get("fvcore", 0)
    analytic_macs = count(plan, "macs")
    analytic_fv = count(plan, "fvcore")
    reasons = [
        {"op": "BatchNorm (eval)", "counted_by": "fvcore only", "macs": bn,
         "rule": "fvcore counts 2 per element of each BatchNorm input; FlopCounterMode counts 0"},
        {"op": "global average pool", "counted_by": "fvcore only", "macs": gap,
         "rule": "fvcore counts 1 per input element of adaptive_avg_pool2d; FlopCounterMode counts 0"},
    ]
    skipped = Counter(fv["unsupported_ops"])
    return {
        "counters": {
            "analytic_macs": analytic_macs,
            "flop_counter_mode_macs": fcm["total"],
            "flop_counter_mode_flops": 2 * fcm["total"],
            "analytic_fvcore": analytic_fv,
            "fvcore": fv["total"],
        },
        "agree": {"analytic == FlopCounterMode/2": analytic_macs == fcm["total"],
                  "analytic fvcore == fvcore": analytic_fv == fv["total"]},
        "difference": fv["total"] - fcm["total"],
        "explained": bn + gap,
        "reasons": reasons,
        "not_counted_by_either": {op: n for op, n in sorted(skipped.items())},
        "fvcore_by_operator": fv["by_operator"],
        "flop_counter_by_operator": fcm["by_operator"],
    }
