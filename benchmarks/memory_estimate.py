"""The memory estimate that guards real builds (explorer/budget.py) against the measured peak.

    python benchmarks/memory_estimate.py [--cases densenet201:32,cspdarknet53:96 ...]

For each (preset, batch): a fresh Python process imports torch, notes its resident memory, builds
the model, runs one forward pass at that batch under ``torch.inference_mode`` (as the latency
benchmark does) and reports its peak resident memory (``ru_maxrss``) above that starting point.
Beside it: the estimate (weights + batch x traced activation peak x SAFETY + SLACK) and the traced
activation peak alone.  Exit status 1 if any measured peak is above its estimate.
"""
from __future__ import annotations

import argparse
import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

CHILD = r"""
import json, resource, sys
import torch
sys.path.insert(0, sys.argv[3])
from cspnet import build_model, get_preset
torch.set_num_threads(torch.get_num_threads())
base = int(open('/proc/self/statm').read().split()[1]) * 4096
cfg = get_preset(sys.argv[1]); b = int(sys.argv[2])
model = build_model(cfg).eval()
x = torch.randn(b, 3, cfg.input_size, cfg.input_size)
with torch.inference_mode():
    model(x)
peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
print(json.dumps({"base": base, "peak": peak}))
"""

DEFAULT = ("densenet121:64,densenet201:32,densenet201:96,cspdensenet201:64,resnet50:64,cspresnet50:64,"
           "cspresnext50:32,darknet53:32,cspdarknet53:32,cspdarknet53:96,peleenet:64,cspdensenet_walkthrough:32")


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--cases", default=DEFAULT, help="preset:batch,... (default: %(default)s)")
    args = ap.parse_args()
    from cspnet import get_preset
    from explorer.real.budget import SAFETY, SLACK, activation_peak, estimate

    print(f"SAFETY {SAFETY}, SLACK {SLACK / 2**20:.0f} MiB; MiB above the process's footprint after `import torch`")
    print(f"{'preset':26s} {'batch':>5s} {'measured':>9s} {'estimate':>9s} {'traced act/img':>15s} "
          f"{'measured/img':>13s}")
    worst, bad = 0.0, 0
    for case in args.cases.split(","):
        name, batch = case.split(":")
        cfg = get_preset(name)
        out = subprocess.run([sys.executable, "-c", CHILD, name, batch, str(ROOT)], capture_output=True,
                             text=True, check=True).stdout
        r = json.loads(out.strip().splitlines()[-1])
        measured = r["peak"] - r["base"]
        est = estimate(cfg, int(batch)).total
        act = activation_peak(cfg)
        per_img = (measured - estimate(cfg, 1).weights) / int(batch)
        worst = max(worst, measured / est)
        bad += measured > est
        print(f"{name:26s} {batch:>5s} {measured / 2**20:9.0f} {est / 2**20:9.0f} {act / 2**20:15.1f} "
              f"{per_img / 2**20:13.1f}")
    print(f"largest measured/estimate: {worst:.2f}; over the estimate: {bad}")
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
