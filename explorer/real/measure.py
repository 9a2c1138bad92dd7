"""Measurements of several designs, built on :mod:`explorer.real.latency`: a latency sweep over a grid of
the analytic sweep, and the interleaved latency of a pair of presets (the paper claim's measurement).

They live in the real-model tier because they build and time models: the analytic tier
(``explorer.counts``) and the paper tier (``explorer.paper``) never import this tier; a caller that
wants a measured paper claim passes :func:`measure_latency` to ``explorer.paper.reproduce.claims``.
torch loads with ``explorer.real.latency``, on the first measurement.
"""
from __future__ import annotations

import statistics

import pandas as pd

from cspnet import ConfigError, CSPConfig, get_preset
from explorer.counts.sweep import MAX_LATENCY_DESIGNS, sweep
from explorer.design.text import parse_value, with_changes


def latency_sweep(base: CSPConfig, axes: list, req, progress=None, cancelled=None) -> pd.DataFrame:
    """Measure a bounded number of designs (at most MAX_LATENCY_DESIGNS) with progress."""
    from explorer.real.latency import BenchmarkError, Cancelled, benchmark

    grid = sweep(base, axes)
    valid = grid[grid["error"] == ""]
    if len(valid) > MAX_LATENCY_DESIGNS:
        raise ConfigError("--vary", f"{len(valid)} designs to measure; allowed at most {MAX_LATENCY_DESIGNS}")
    keys = [k for k, _ in axes]
    out = []
    for i, (_, row) in enumerate(valid.iterrows()):
        if cancelled and cancelled():
            raise Cancelled("cancelled")
        changes = {k: parse_value(k, str(row[k])) for k in keys}
        cfg = with_changes(base, changes)
        cb = (lambda f, m, i=i: progress((i + f) / len(valid), m)) if progress else None
        try:
            rec = benchmark(cfg, req, cb, cancelled)
            ms = rec["results"][0]["median_ms"]
            err = ""
        except BenchmarkError as exc:
            ms, err = None, str(exc)
        out.append({**{k: row[k] for k in keys}, "macs": row["macs"], "median_ms": ms, "error": err})
    return pd.DataFrame(out)


def measure_latency(presets: tuple, input_size: int = 256, batch: int = 1, rounds: int = 5, warmup: int = 2,
                    runs: int = 5) -> dict:
    """CPU latency (fp32) of each preset, interleaved over ``rounds`` so that drift and other load hit
    both alike.  Reports the median of the round medians and the fastest single run; on a shared
    machine the fastest run is the one least disturbed by other work."""
    from explorer.real.latency import BenchRequest, benchmark

    req = BenchRequest(device="cpu", batch_sizes=(batch,), dtype="fp32", warmup=warmup, runs=runs, per_stage=False)
    medians: dict = {p: [] for p in presets}
    minima: dict = {p: [] for p in presets}
    env = None
    for _ in range(rounds):
        for p in presets:
            rec = benchmark(get_preset(p, input_size=input_size), req)
            medians[p].append(rec["results"][0]["median_ms"])
            minima[p].append(rec["results"][0]["min_ms"])
            env = rec["environment"]
    spread = {p: max(v) / min(v) - 1.0 for p, v in medians.items()}
    return {"median_ms": {p: statistics.median(v) for p, v in medians.items()},
            "min_ms": {p: min(v) for p, v in minima.items()},
            "round_medians_ms": medians, "round_spread": spread, "noisy": any(v > 0.25 for v in spread.values()),
            "input_size": input_size, "batch": batch, "dtype": "fp32", "device": "cpu", "environment": env,
            "method": f"{rounds} interleaved rounds of {warmup} warm-up + {runs} timed runs per model"}


__all__ = ["latency_sweep", "measure_latency"]
