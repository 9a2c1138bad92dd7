"""The speed bounds the test suite checks only functionally (the tests assert no wall-clock time).

    python benchmarks/timing_bounds.py [--cuts 200] [--junk 200] [--seed 0] [--ws]

Each line is one bound, its measured figure and PASS/FAIL; the exit code is 1 if any bound fails.

* CPU peaks (``explorer.real.roofline.measure_cpu``): a fresh measurement under 5 s (0.5 s idle, under
  2 s on a loaded 2-core box), the cached one under 10 ms (tests/test_roofline.py counts the calls);
* a benchmark of 1000 runs with ``max_seconds=1`` stops within 30 s (tests/test_cli_design.py stops it
  on a fake clock);
* Darknet cfg and Ultralytics YAML decoding: every truncation of the test files' valid texts, seeded
  random junk and the hostile YAML texts (tests/test_darknet_cfg.py, tests/test_ultralytics_yaml.py)
  decoded or refused in under 2 s each;
* ``--ws``: a ``streamlit run`` served the hostile websocket scenario (tests/test_hostile_ws.py): the
  slowest rerun on a bad value and a second session's open, each under 10 s.
"""
from __future__ import annotations

import argparse
import asyncio
import random
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT), str(ROOT / "tests"), str(ROOT / "benchmarks")]

DECODE_S = 2.0


def _row(rows: list, what: str, figure: float, unit: str, bound: float) -> None:
    rows.append((what, f"{figure:.3f} {unit}" if unit == "s" else f"{figure:.1f} {unit}", f"< {bound:g} {unit}",
                 figure < bound))


def cpu_peaks(rows: list) -> None:
    import torch  # noqa: F401  (imported first: the import is not the measurement)

    from explorer.real.roofline import measure_cpu

    measure_cpu()
    t = time.perf_counter()
    measure_cpu(fresh=True)
    _row(rows, "CPU peaks, a fresh measurement", time.perf_counter() - t, "s", 5.0)
    t = time.perf_counter()
    measure_cpu()
    _row(rows, "CPU peaks, cached", (time.perf_counter() - t) * 1e3, "ms", 10.0)


def benchmark_time_limit(rows: list) -> None:
    from cspnet import get_preset
    from explorer.real.latency import BenchmarkError, BenchRequest, benchmark

    req = BenchRequest(batch_sizes=(1,), warmup=0, runs=1000, per_stage=False, max_seconds=1)
    t = time.perf_counter()
    try:
        benchmark(get_preset("densenet121", input_size=64), req)
        stopped = False
    except BenchmarkError as exc:
        stopped = "stopped after 1 s" in str(exc)
    took = time.perf_counter() - t
    _row(rows, "benchmark, 1000 runs, max_seconds=1: stops", took if stopped else float("inf"), "s", 30.0)


def _slowest(decode, texts) -> tuple:
    worst, which = 0.0, ""
    for label, text in texts:
        t = time.perf_counter()
        try:
            decode(text)
        except ValueError:   # ConfigError / CfgError: a refusal is an answer
            pass
        dt = time.perf_counter() - t
        if dt > worst:
            worst, which = dt, label
    return worst, which


def _corpus(valid: list, cuts: int, junk: int, rng: random.Random, alphabet: str) -> list:
    out = []
    for k, text in enumerate(valid):
        for _ in range(cuts):
            cut = rng.randint(0, len(text))
            out.append((f"valid[{k}][:{cut}]", text[:cut]))
    for i in range(junk):
        n = rng.randint(0, 3000)
        out.append((f"junk {i}", "".join(rng.choice(alphabet) for _ in range(n))))
    return out


def decoders(rows: list, cuts: int, junk: int, seed: int) -> None:
    import test_darknet_cfg as D
    import test_ultralytics_yaml as U
    from cspnet import plan_network
    from explorer.io.darknet import parse_cfg
    from explorer.io.ultralytics import config_from_yaml

    def cfg(text):
        return parse_cfg(text).plan.params

    def yaml_(text):
        return plan_network(config_from_yaml(text)).params

    rng = random.Random(seed)
    texts = _corpus(D.VALID, cuts, junk, rng, "[]=#;,-0123456789 \nabcdefgilmnoprstuvwxy_")
    worst, which = _slowest(cfg, texts)
    _row(rows, f"Darknet cfg, slowest of {len(texts)} decodes ({which})", worst, "s", DECODE_S)
    texts = _corpus(U.VALID, cuts, junk, rng, "[]{}-:,#&*!|>'\" \n0123456789.eEnbackoCvf2Ssify")
    texts += [(f"hostile {i}", t) for i, t in enumerate(U.HOSTILE)]
    worst, which = _slowest(yaml_, texts)
    _row(rows, f"Ultralytics YAML, slowest of {len(texts)} decodes ({which})", worst, "s", DECODE_S)


def hostile_ws(rows: list) -> None:
    import test_hostile_ws as H
    from app_ui.launch import free_port, start_server, stop_server, wait_healthy

    port = free_port()
    base = f"http://127.0.0.1:{port}"
    log = Path("/tmp") / f"timing_bounds_server_{port}.log"
    proc = start_server(port, log)
    try:
        wait_healthy(base, proc)
        r = asyncio.run(asyncio.wait_for(H.scenario(base), 240))
    finally:
        stop_server(proc)
    _row(rows, "websocket: slowest rerun on a bad value", r["slowest"], "s", 10.0)
    _row(rows, "websocket: a second session opens", r["other_open"], "s", 10.0)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--cuts", type=int, default=200, help="truncations per valid text")
    ap.add_argument("--junk", type=int, default=200, help="random junk texts per format")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--ws", action="store_true", help="also the websocket scenario (starts streamlit run)")
    args = ap.parse_args(argv)
    rows: list = []
    cpu_peaks(rows)
    benchmark_time_limit(rows)
    decoders(rows, args.cuts, args.junk, args.seed)
    if args.ws:
        hostile_ws(rows)
    width = max(len(r[0]) for r in rows)
    for what, figure, bound, ok in rows:
        print(f"{what:<{width}}  {figure:>12}  {bound:>10}  {'PASS' if ok else 'FAIL'}")
    return 0 if all(r[3] for r in rows) else 1


if __name__ == "__main__":
    sys.exit(main())
