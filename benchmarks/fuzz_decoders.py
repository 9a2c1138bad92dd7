"""Fuzz the decoders users can reach: URL query parameters and uploaded config JSON.

    python benchmarks/fuzz_decoders.py [--n 20000] [--seed 0]

Inputs: random junk, deep nesting, huge strings, and mutations of valid designs (a valid preset's JSON
or query with one field replaced, deleted, duplicated or retyped). Every input must either decode
to a valid CSPConfig or raise ConfigError, within a time bound; anything else is a failure.
Prints how many inputs were tried, how many decoded, and the slowest decode.
"""
from __future__ import annotations

import argparse
import json
import os
import random
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from cspnet import ConfigError, CSPConfig, get_preset, preset_names
from explorer.design import ALL_FIELDS, from_query, to_query

JUNK = ["", "0", "-1", "1e309", "nan", "inf", "-inf", "true", "null", "[]", "{}", "1,2,3", "6-12-24-16",
        "\x00", "\u202e", "A" * 10_000, "1" * 400, "0.5", "1.0000001", "9" * 30, "csp", "densenet",
        "__class__", "../../etc/passwd", "${jndi:x}", "<script>", "'; DROP TABLE", "%00", "0x10", "1_000"]
VALUES = [None, True, False, 0, -1, 1, 2**70, 0.5, float("nan"), float("inf"), "x", [], {}, [1] * 50,
          [[1]], {"a": 1}, "6,12", [6, 12, 24, 16], [0.5], 1e-300]


def rand_query(rng, valid_queries):
    q = dict(rng.choice(valid_queries))
    for _ in range(rng.randint(1, 4)):
        op = rng.random()
        key = rng.choice(ALL_FIELDS + ["preset", "page", "evil", "__proto__", "d" * 300])
        if op < 0.5:
            q[key] = rng.choice(JUNK)
        elif op < 0.7:
            q.pop(key, None)
        elif op < 0.85:
            q[key] = [rng.choice(JUNK), rng.choice(JUNK)]
        else:
            q = {f"k{i}": "1" for i in range(rng.randint(0, 200))}
    return q


def rand_json(rng, valid_docs):
    r = rng.random()
    if r < 0.1:
        depth = rng.choice([10, 100, 1000, 100_000])
        return "[" * depth + "]" * (depth if rng.random() < 0.5 else 0)
    if r < 0.2:
        return rng.choice(JUNK)
    if r < 0.25:
        return '{"version": 1, "config": {"name": "' + "x" * rng.choice([10, 70_000]) + '"}}'
    doc = json.loads(rng.choice(valid_docs))
    for _ in range(rng.randint(1, 3)):
        target = doc["config"] if isinstance(doc.get("config"), dict) and rng.random() < 0.85 else doc
        key = rng.choice(ALL_FIELDS + ["version", "config", "evil"])
        if rng.random() < 0.8:
            target[key] = rng.choice(VALUES)
        else:
            target.pop(key, None)
    text = json.dumps(doc, allow_nan=True)
    if rng.random() < 0.1:  # truncate or corrupt
        text = text[: rng.randint(0, len(text))]
    return text


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--n", type=int, default=20_000)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--max-ms", type=float, default=250.0)
    args = ap.parse_args()
    rng = random.Random(args.seed)
    presets = [get_preset(n) for n in preset_names()]
    valid_queries = [to_query(c, preset=c.name) for c in presets] + [{}]
    valid_docs = [c.to_json() for c in presets]
    tried = ok = 0
    slowest = (0.0, None)
    failures = []
    t_start = time.perf_counter()
    for i in range(args.n):
        kind = "url" if i % 2 == 0 else "json"
        inp = rand_query(rng, valid_queries) if kind == "url" else rand_json(rng, valid_docs)
        t = time.perf_counter()
        try:
            cfg = from_query(inp)[0] if kind == "url" else CSPConfig.from_json(inp)
            assert isinstance(cfg, CSPConfig)
            ok += 1
        except ConfigError:
            pass
        except Exception as exc:  # any other exception is a bug
            failures.append((kind, repr(inp)[:200], f"{type(exc).__name__}: {exc}"[:200]))
        dt = (time.perf_counter() - t) * 1000
        if dt > slowest[0]:
            slowest = (dt, kind)
        tried += 1
    total = time.perf_counter() - t_start
    print(f"inputs tried: {tried:,} (URL {tried - tried // 2:,}, JSON {tried // 2:,}); decoded to a valid design: "
          f"{ok:,}; rejected with ConfigError: {tried - ok - len(failures):,}; other exceptions: {len(failures)}")
    print(f"slowest decode: {slowest[0]:.1f} ms ({slowest[1]}); total {total:.1f} s")
    for f in failures[:10]:
        print("FAIL", f)
    if failures or slowest[0] > args.max_ms:
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
