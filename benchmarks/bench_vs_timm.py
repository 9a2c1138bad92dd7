"""Latency of this project's models against timm's, measured the same way in the same run.

    python benchmarks/bench_vs_timm.py [--device cuda] [--batch 1,8,64] [--dtype fp32,bf16] [--runs 50]

For each batch size and dtype, our ``cspresnet50`` and ``resnet50`` and timm's models of the same
name are timed with explorer.real.latency's method (warm-up, CUDA events or perf_counter, median of N),
interleaved round-robin so drift hits all four alike.  Prints a Markdown table for the README.
timm is needed only here (it is not a project requirement); without it the script says so.
"""
from __future__ import annotations

import argparse
import json
import os
import sys
from contextlib import nullcontext

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

import torch

from cspnet import build_model, count_params, get_preset
from explorer.real.latency import DTYPES, _cuda_graph, _Timer
from gpu_checks import time_interleaved  # the one interleaved timing loop (benchmarks/gpu_checks.py)

PAIRS = ("cspresnet50", "resnet50")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    ap.add_argument("--batch", default="1,8,64")
    ap.add_argument("--dtype", default="fp32,bf16")
    ap.add_argument("--runs", type=int, default=50)
    ap.add_argument("--rounds", type=int, default=5, help="interleaved rounds; runs are split across them")
    ap.add_argument("--channels-last", action="store_true")
    ap.add_argument("--cuda-graphs", action="store_true",
                    help="replay CUDA graphs: GPU time without Python launch overhead (small batches)")
    ap.add_argument("--json", default=None, help="also write the records to this file")
    args = ap.parse_args()
    try:
        import timm
    except ImportError:
        print("timm is not installed here; this comparison needs it (pip install timm)")
        return 1
    dev = torch.device(args.device)
    timer = _Timer(args.device)
    records = []
    for name in PAIRS:
        ours = build_model(get_preset(name)).to(dev).eval()
        ref = timm.create_model(name, pretrained=False).to(dev).eval()
        assert count_params(ours) == sum(p.numel() for p in ref.parameters()), name
        if args.channels_last:
            ours = ours.to(memory_format=torch.channels_last)
            ref = ref.to(memory_format=torch.channels_last)
        size = get_preset(name).input_size
        for dtype in args.dtype.split(","):
            for bs in (int(b) for b in args.batch.split(",")):
                x = torch.randn(bs, 3, size, size, device=dev)
                if args.channels_last:
                    x = x.to(memory_format=torch.channels_last)
                amp = DTYPES[dtype]
                ctx = (lambda: torch.autocast(args.device, dtype=amp)) if amp else nullcontext
                with torch.inference_mode():
                    def runner(model):
                        def run(inp):
                            with ctx():
                                return model(inp)
                        return _cuda_graph(run, x) if args.cuda_graphs else run

                    fns = {"ours": runner(ours), "timm": runner(ref)}
                    # 10 warm-up runs each (cudnn autotune, allocator), then interleaved rounds
                    stats = time_interleaved(fns, x, timer, 10, args.runs, args.rounds)
                o, t = stats["ours"], stats["timm"]
                records.append({"model": name, "dtype": dtype, "batch": bs, "ours_ms": o["median_ms"],
                                "timm_ms": t["median_ms"], "ours_p10_p90": [o["p10_ms"], o["p90_ms"]],
                                "timm_p10_p90": [t["p10_ms"], t["p90_ms"]],
                                "diff_pct": 100.0 * (o["median_ms"] - t["median_ms"]) / t["median_ms"]})
    name = torch.cuda.get_device_name() if args.device == "cuda" else "CPU"
    print(f"device: {name}; torch {torch.__version__}; timm {timm.__version__}; runs {args.runs} per model "
          f"per point, interleaved over {args.rounds} rounds; channels_last={args.channels_last}; "
          f"cuda_graphs={args.cuda_graphs}\n")
    print("| model | dtype | batch | ours median ms | timm median ms | difference |\n|---|---|---|---|---|---|")
    for r in records:
        print(f"| {r['model']} | {r['dtype']} | {r['batch']} | {r['ours_ms']:.3f} | {r['timm_ms']:.3f} | "
              f"{r['diff_pct']:+.1f}% |")
    worst = max(abs(r["diff_pct"]) for r in records)
    print(f"\nlargest difference: {worst:.1f}% (target: within 5%)")
    if args.json:
        with open(args.json, "w") as fh:
            json.dump({"device": name, "torch": torch.__version__, "records": records}, fh, indent=2)
    return 0


if __name__ == "__main__":
    sys.exit(main())
