"""GPU checks run on a machine with CUDA (see README "GPU"): the latency engine end to end,
CUDA graphs, bf16, per-stage times, and out-of-memory recovery.

    python benchmarks/gpu_checks.py
"""
from __future__ import annotations

import json
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

import torch

from cspnet import get_preset
from explorer.real.latency import BenchmarkError, BenchRequest, benchmark, compare_latency


def main():
    if not torch.cuda.is_available():
        print("no CUDA GPU here")
        return 1
    out = {"device": torch.cuda.get_device_name(), "torch": torch.__version__}
    # 1. design vs plain twin, fp32 and bf16, batch 1/8/64, per stage
    for dtype in ("fp32", "bf16"):
        rec = compare_latency(get_preset("cspresnet50"),
                              BenchRequest(device="cuda", batch_sizes=(1, 8, 64), dtype=dtype, warmup=10, runs=50))
        out[f"cspresnet50_vs_twin_{dtype}"] = rec["comparison"]
        out[f"cspresnet50_per_stage_{dtype}_b64"] = rec["design"]["results"][-1]["per_stage_ms"]
        out[f"cspresnet50_tflops_{dtype}_b64"] = rec["design"]["results"][-1]["achieved_tflops"]
    # 2. CUDA graphs at batch 1 separate launch overhead from GPU time
    for graphs in (False, True):
        rec = benchmark(get_preset("densenet121"), BenchRequest(device="cuda", batch_sizes=(1,), cuda_graphs=graphs,
                                                               warmup=10, runs=50, per_stage=False))
        out[f"densenet121_b1_cuda_graphs_{graphs}_ms"] = rec["results"][0]["median_ms"]
    # 3. out of memory becomes a message, and the GPU is usable afterwards
    try:
        benchmark(get_preset("densenet201", input_size=512), BenchRequest(device="cuda", batch_sizes=(1024,),
                                                                           warmup=0, runs=1, per_stage=False))
        out["oom"] = "no OOM (GPU too large for this test)"
    except BenchmarkError as exc:
        out["oom"] = f"message: {exc}"
    rec = benchmark(get_preset("resnet50"), BenchRequest(device="cuda", warmup=2, runs=5, per_stage=False))
    out["after_oom_resnet50_b1_ms"] = rec["results"][0]["median_ms"]
    print(json.dumps(out, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
