"""Plain-words verdicts on a latency comparison (:func:`explorer.real.latency.compare_latency`):
does the measured time follow the MACs?  Pure Python: reads the record, measures nothing."""
from __future__ import annotations

# When time and MACs move apart by less than this many percentage points, say they agree.
FOLLOW_TOLERANCE_PTS = 3.0
# A gap this large between the time change and the MACs change is more likely other work on a busy
# machine during part of the measurement than the architecture (the two models' runs alternate).
SUSPECT_GAP_PTS = 50.0


def is_plain(record: dict) -> bool:
    """True when the design has no CSP (its twin is itself: one model was measured)."""
    return record["design"].get("config", {}).get("fusion", "none") == "none"


def _series(rec: dict) -> list:
    return sorted(rec.get("results", []), key=lambda r: r["batch"])


def _band(rec: dict, batch: int):
    for r in _series(rec):
        if r["batch"] == batch:
            return r["p10_ms"], r["p90_ms"], r["median_ms"]
    return None


def savings_verdicts(record: dict) -> list:
    """Plain-words sentences, one per batch size, saying whether time follows MACs.

    E.g. "Batch 1: MACs -13.0 % but time +5.0 %: the saving in arithmetic does not show up as
    time (at small batches the run is launch- and memory-bound)".
    """
    if is_plain(record):
        return ["The design is plain (fusion 'none'), so it is its own twin: only one model was measured. "
                "Pick a fusion strategy on the Design page to compare CSP with the plain network."]
    out = []
    for r in record.get("comparison", []):
        b, dm, dt = r["batch"], r["macs_delta_pct"], r["time_delta_pct"]
        head = f"Batch {b}: MACs {dm:+.1f} %"
        bd, bt = _band(record["design"], b), _band(record["twin"], b)
        overlap = bool(bd and bt and bd[0] <= bt[1] and bt[0] <= bd[1])
        noise = (" The p10-p90 bands of the two overlap, so the time difference is within run-to-run noise; "
                 "more runs would tell." if overlap else "")
        if not overlap and abs(dt - dm) > SUSPECT_GAP_PTS:
            noise = (f" A gap of {abs(dt - dm):.0f} points between time and MACs is suspicious: the timed runs of "
                     "the two models alternate in rounds, but a machine busy with other work during part of the "
                     "measurement can still show up like this. Measure again (more runs) before trusting it.")
        if abs(dm) < 0.5:
            out.append(f"{head} (the same arithmetic), time {dt:+.1f} %." + noise)
        elif dm < 0 and dt >= 0:
            out.append(f"{head} but time {dt:+.1f} %: fewer MACs did not make it faster. "
                       + ("At small batches the run is launch- and memory-bound: the extra split, concat and "
                          "transition layers cost time that the saved arithmetic does not pay back."
                          if b <= 8 else "The extra split, concat and transition layers and their memory "
                          "traffic cost more than the saved arithmetic.") + noise)
        elif dm > 0 and dt <= 0:
            out.append(f"{head} but time {dt:+.1f} %: more arithmetic, yet not slower; the layers it adds run "
                       "efficiently (wide, compute-bound convs), or time is dominated by other layers." + noise)
        elif dm < 0:  # both negative
            if dt < dm - FOLLOW_TOLERANCE_PTS:
                out.append(f"{head} and time {dt:+.1f} %: time falls more than MACs, e.g. because less memory "
                           "is moved (the blocks on part 2 read fewer channels)." + noise)
            elif dt > dm + FOLLOW_TOLERANCE_PTS:
                share = 100.0 * dt / dm
                out.append(f"{head} but time only {dt:+.1f} %: about {share:.0f} % of the MAC saving shows up "
                           "as time; the rest is lost to memory traffic and per-layer overhead." + noise)
            else:
                out.append(f"{head} and time {dt:+.1f} %: time follows MACs." + noise)
        else:  # both positive
            if abs(dt - dm) <= FOLLOW_TOLERANCE_PTS:
                out.append(f"{head} and time {dt:+.1f} %: time follows MACs (both up)." + noise)
            else:
                out.append(f"{head} and time {dt:+.1f} %: both up, but by different amounts." + noise)
    return out
