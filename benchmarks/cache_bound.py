"""How much the app's bounded caches can hold: the largest entry of each, times its max_entries.

    python benchmarks/cache_bound.py

Each cache in app_ui/cache.py and app_ui/ keeps at most ``max_entries`` results.  This script
computes one entry per cache for designs at the top of the allowed range (the largest presets at
512 px, a deep expanded diagram, a 16 x 16 sweep) and prints its size as Streamlit stores it
(``cache_data`` pickles the value), and the bound that follows.  The ONNX cache (one entry, as large
as the weights) and real builds are bounded by the build budget instead (explorer/budget.py).
"""
from __future__ import annotations

import pickle
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from cspnet import get_preset  # noqa: E402
from explorer import analysis, diagram, export, sweep  # noqa: E402
from explorer.real.trace import live_trace  # noqa: E402

BIG = [get_preset(n).replace(input_size=512) for n in ("densenet201", "cspdensenet201", "cspdarknet53", "darknet53")]


def size(obj) -> int:
    return len(pickle.dumps(obj, protocol=pickle.HIGHEST_PROTOCOL))


def main() -> int:
    rows = []
    rows.append(("cache.compare", 256, max(size(analysis.compare_with_twin(c, 1)) for c in BIG)))
    rows.append(("cache.summary", 256, max(size(analysis.summarize(c)) for c in BIG)))
    dots = [diagram.to_dot(c, expand=tuple(f"stages.{i}" for i in range(len(c.repeats)))) for c in BIG]
    rows.append(("cache.dot", 64, max(size(d) for d in dots)))
    if export.dot_available():
        rows.append(("cache.render (svg/png)", 32,
                     max(size(export.render_dot(d, f)) for d in dots[:2] for f in ("svg", "png"))))
    small = get_preset("cspdensenet201")
    rows.append(("cache.live_trace", 8, size(live_trace(small))))
    axes = [sweep.parse_vary("growth_rate=8:64:4"), sweep.parse_vary("split_ratio=0.25:0.95:0.05")]
    rows.append(("cache.sweep_chunk", 128, size(sweep.sweep(small, axes))))
    total = 0
    print(f"{'cache':28s} {'max_entries':>11s} {'largest entry':>14s} {'bound':>10s}")
    for name, n, one in rows:
        total += n * one
        print(f"{name:28s} {n:11d} {one / 1024:11.0f} KiB {n * one / 2**20:7.1f} MiB")
    print(f"{'all of them':28s} {'':11s} {'':14s} {total / 2**20:7.1f} MiB")
    return 0


if __name__ == "__main__":
    sys.exit(main())
