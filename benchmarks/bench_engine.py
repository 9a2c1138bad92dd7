"""Engine speed targets (issue: explorer engine, section 7). Prints a Markdown table for the README.

    python benchmarks/bench_engine.py [--json]

Targets on the 2-core CPU machine:
* analytic summary of any preset < 5 ms, and >= 100x faster than fvcore on densenet201 with identical totals;
* full live trace (build + hooked forward + fvcore) of densenet201 at 224 < 3 s;
* sweep of 1,000 designs < 2 s.
"""
from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

import torch  # noqa: E402

from cspnet import build_model, get_preset, plan_network, preset_names  # noqa: E402
from explorer.counts.analysis import summarize  # noqa: E402
from explorer.counts.conventions import count  # noqa: E402
from explorer.counts.sweep import parse_vary, sweep  # noqa: E402
from explorer.real.trace import fvcore_count, live_trace  # noqa: E402


def best_of(fn, n):
    times = []
    for _ in range(n):
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
    return min(times), statistics.median(times)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args()
    results = {}

    # 1. analytic summary of every preset
    per_preset = {}
    for name in preset_names():
        cfg = get_preset(name)
        per_preset[name] = best_of(lambda: summarize(cfg), 20)[1] * 1000
    worst = max(per_preset, key=per_preset.get)
    results["analytic_summary_ms_worst"] = (worst, per_preset[worst])

    # 2. analytic vs fvcore on densenet201
    cfg = get_preset("densenet201")
    analytic_s = best_of(lambda: count(plan_network(cfg), "fvcore"), 20)[1]
    model = build_model(cfg)
    x = torch.zeros(1, 3, 224, 224)
    fv_total = None

    def run_fv():
        nonlocal fv_total
        fv_total = fvcore_count(model, x)["total"]

    fvcore_s = best_of(run_fv, 3)[1]
    results["densenet201_fvcore_s"] = fvcore_s
    results["densenet201_analytic_ms"] = analytic_s * 1000
    results["speedup_vs_fvcore"] = fvcore_s / analytic_s
    results["totals_identical"] = fv_total == count(plan_network(cfg), "fvcore")

    # 3. full live trace of densenet201 at 224
    t = live_trace(cfg)  # warm (first call pays one-time imports)
    t = min((live_trace(cfg) for _ in range(2)), key=lambda r: r["seconds"]["total"])
    results["live_trace_densenet201_s"] = t["seconds"]

    # 4. sweep of 1,000 designs (40 split ratios x 25 growth rates)
    base = get_preset("cspdensenet121")
    axes = [parse_vary("split_ratio=0.025:1.0:0.025"), parse_vary("growth_rate=8:56:2")]
    n = len(axes[0][1]) * len(axes[1][1])
    sweep_s = best_of(lambda: sweep(base, axes), 3)[1]
    results["sweep"] = {"designs": n, "seconds": sweep_s}

    results["environment"] = {"torch": torch.__version__, "threads": torch.get_num_threads(),
                              "cpus": os.cpu_count()}
    if args.json:
        print(json.dumps(results, indent=2))
        return
    w_name, w_ms = results["analytic_summary_ms_worst"]
    tr = results["live_trace_densenet201_s"]
    rows = [
        ("analytic summary, slowest preset", f"{w_ms:.2f} ms ({w_name})", "< 5 ms", w_ms < 5),
        ("densenet201: analytic fvcore-convention count", f"{results['densenet201_analytic_ms']:.2f} ms", "", True),
        ("densenet201: fvcore FlopCountAnalysis", f"{fvcore_s:.2f} s", "", True),
        ("speed-up over fvcore, identical totals", f"{results['speedup_vs_fvcore']:.0f}x, identical: "
         f"{results['totals_identical']}", ">= 100x", results["speedup_vs_fvcore"] >= 100 and results["totals_identical"]),
        ("live trace densenet201@224 (build + hooks + fvcore)",
         f"{tr['total']:.2f} s (build {tr['build']:.2f}, forward {tr['hooked_forward']:.2f}, fvcore {tr['fvcore']:.2f})",
         "< 3 s", tr["total"] < 3),
        (f"sweep of {n} designs", f"{sweep_s:.2f} s", "< 2 s", sweep_s < 2),
    ]
    print("| measurement | result | target | met |\n|---|---|---|---|")
    for r in rows:
        print(f"| {r[0]} | {r[1]} | {r[2]} | {'yes' if r[3] else 'NO'} |")
    print(f"\ntorch {torch.__version__}, {torch.get_num_threads()} threads, {os.cpu_count()} CPUs")


if __name__ == "__main__":
    main()
