"""Fuzz the decoders users can reach: URL query parameters, uploaded config JSON and detection YAMLs.

    python benchmarks/fuzz_decoders.py [--n 20000] [--seed 0]

Inputs: random junk, deep nesting, huge strings, and mutations of valid designs (a valid preset's JSON
or query with one field replaced, deleted, duplicated or retyped). Every input must either decode
to a valid CSPConfig or raise ConfigError, within a time bound; anything else is a failure.
Every eighth input is a detection YAML opened as a file (``explorer.design.files.detector_from_file``: the
Ultralytics, YOLOv5 and YOLOv7 planners): a YOLOv5s, a YOLOv7-style ELAN detector or a YOLOv8n text with a
layer's field, a top-level key or the text itself mutated; it must plan or raise ConfigError.
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
from explorer.design.files import detector_from_file

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


# --------------------------------------------------------------------------- detection YAMLs (structure only)
UP = [-1, 1, "nn.Upsample", [None, 2, "nearest"]]
ANCHORS = [[10, 13, 16, 30, 33, 23], [30, 61, 62, 45, 59, 119], [116, 90, 156, 198, 373, 326]]


def _v5s() -> dict:
    """YOLOv5s' layers (ultralytics/yolov5 models/yolov5s.yaml, v6.0+)."""
    return {"nc": 80, "depth_multiple": 0.33, "width_multiple": 0.5, "anchors": ANCHORS, "backbone": [
        [-1, 1, "Conv", [64, 6, 2, 2]], [-1, 1, "Conv", [128, 3, 2]], [-1, 3, "C3", [128]],
        [-1, 1, "Conv", [256, 3, 2]], [-1, 6, "C3", [256]], [-1, 1, "Conv", [512, 3, 2]], [-1, 9, "C3", [512]],
        [-1, 1, "Conv", [1024, 3, 2]], [-1, 3, "C3", [1024]], [-1, 1, "SPPF", [1024, 5]]], "head": [
        [-1, 1, "Conv", [512, 1, 1]], UP, [[-1, 6], 1, "Concat", [1]], [-1, 3, "C3", [512, False]],
        [-1, 1, "Conv", [256, 1, 1]], UP, [[-1, 4], 1, "Concat", [1]], [-1, 3, "C3", [256, False]],
        [-1, 1, "Conv", [256, 3, 2]], [[-1, 14], 1, "Concat", [1]], [-1, 3, "C3", [512, False]],
        [-1, 1, "Conv", [512, 3, 2]], [[-1, 10], 1, "Concat", [1]], [-1, 3, "C3", [1024, False]],
        [[17, 20, 23], 1, "Detect", ["nc", "anchors"]]]}


def _v7() -> dict:
    """A YOLOv7-style detector: ELAN blocks written out, MP blocks, SPPCSPC, RepConv and IDetect."""
    def elan(c, out):
        return ([[-1, 1, "Conv", [c, 1, 1]], [-2, 1, "Conv", [c, 1, 1]]] + [[-1, 1, "Conv", [c, 3, 1]]] * 4
                + [[[-1, -3, -5, -6], 1, "Concat", [1]], [-1, 1, "Conv", [out, 1, 1]]])

    def mp(c):
        return [[-1, 1, "MP", []], [-1, 1, "Conv", [c, 1, 1]], [-3, 1, "Conv", [c, 1, 1]],
                [-1, 1, "Conv", [c, 3, 2]], [[-1, -3], 1, "Concat", [1]]]
    backbone = ([[-1, 1, "Conv", [32, 3, 2]], [-1, 1, "Conv", [64, 3, 2]]] + elan(32, 128) + mp(64) + elan(64, 256)
                + mp(128) + elan(128, 512) + mp(256) + elan(128, 512))
    head = [[-1, 1, "SPPCSPC", [256]], [-1, 1, "Conv", [128, 1, 1]], UP, [35, 1, "Conv", [128, 1, 1]],
            [[-1, -2], 1, "Concat", [1]]] + elan(64, 128) + [
            [22, 1, "RepConv", [128, 3, 1]], [61, 1, "RepConv", [256, 3, 1]], [48, 1, "RepConv", [512, 3, 1]],
            [[-3, -2, -1], 1, "IDetect", ["nc", "anchors"]]]
    return {"nc": 80, "depth_multiple": 1.0, "width_multiple": 0.5, "anchors": ANCHORS, "backbone": backbone,
            "head": head}


def _v8n() -> dict:
    """YOLOv8n's layers (an Ultralytics anchor-free Detect)."""
    doc = _v5s()
    doc.pop("anchors")
    for row in doc["backbone"] + doc["head"]:
        if row[2] == "C3":
            row[2] = "C2f"
    doc["head"][-1] = [[17, 20, 23], 1, "Detect", ["nc"]]
    return doc


YAML_VALUES = VALUES + ["nc", "anchors", "Conv", "IDetect", "nn.LeakyReLU(0.1)", "os.system(1)", "None", -7, 65,
                        [[1, 2]], [-1, 1, "Conv", [16, 3, 2]]]


def rand_yaml(rng, seeds):
    """A detection YAML's text: a seed with up to three mutations (a layer's field, a top-level key, rows), or
    its text cut or spliced."""
    import copy

    import yaml

    doc = copy.deepcopy(rng.choice(seeds))
    for _ in range(rng.randint(1, 3)):
        r = rng.random()
        rows = doc.get("backbone") if rng.random() < 0.5 else doc.get("head")
        if r < 0.55 and isinstance(rows, list) and rows:
            row = rows[rng.randrange(len(rows))]
            if isinstance(row, list) and row:
                k = rng.randrange(len(row))
                if k == 3 and isinstance(row[3], list) and row[3] and rng.random() < 0.6:
                    row[3][rng.randrange(len(row[3]))] = rng.choice(YAML_VALUES)
                else:
                    row[k] = rng.choice(YAML_VALUES)
        elif r < 0.7 and isinstance(rows, list) and rows:
            i = rng.randrange(len(rows))
            if rng.random() < 0.5:
                rows.pop(i)
            else:
                rows.insert(i, copy.deepcopy(rows[rng.randrange(len(rows))]))
        elif r < 0.9:
            key = rng.choice(["nc", "depth_multiple", "width_multiple", "anchors", "activation", "scales", "ch",
                              "backbone", "head", "evil"])
            if rng.random() < 0.8:
                doc[key] = rng.choice(YAML_VALUES)
            else:
                doc.pop(key, None)
        else:
            doc["backbone"] = [[-1, 1, "Conv", [16, 3, 1]]] * rng.choice([70, 400])
    text = yaml.safe_dump(doc, default_flow_style=None)
    if rng.random() < 0.1:
        text = text[: rng.randint(0, len(text))] if rng.random() < 0.5 else text.replace("[", "[" * 40, 1)
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
    yaml_seeds = [_v5s(), _v7(), _v8n()]
    import yaml

    for seed in yaml_seeds:   # each seed plans (and the planners' imports are not timed as an input's decode)
        assert detector_from_file("seed.yaml", yaml.safe_dump(seed, default_flow_style=None), 64).plan.params > 0
    kinds = {"url": 0, "json": 0, "yaml": 0}
    tried = ok = 0
    slowest = (0.0, None)
    failures = []
    t_start = time.perf_counter()
    for i in range(args.n):
        kind = "yaml" if i % 8 == 7 else "url" if i % 2 == 0 else "json"
        inp = (rand_yaml(rng, yaml_seeds) if kind == "yaml" else
               rand_query(rng, valid_queries) if kind == "url" else rand_json(rng, valid_docs))
        t = time.perf_counter()
        try:
            if kind == "yaml":
                det = detector_from_file(rng.choice(["yolov5s.yaml", "yolov7.yaml", "x.yml"]), inp, 64)
                assert det.plan.params > 0
            else:
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
        kinds[kind] += 1
    total = time.perf_counter() - t_start
    print(f"inputs tried: {tried:,} (URL {kinds['url']:,}, JSON {kinds['json']:,}, detection YAML "
          f"{kinds['yaml']:,}); decoded to a valid design or detector: "
          f"{ok:,}; rejected with ConfigError: {tried - ok - len(failures):,}; other exceptions: {len(failures)}")
    print(f"slowest decode: {slowest[0]:.1f} ms ({slowest[1]}); total {total:.1f} s")
    for f in failures[:10]:
        print("FAIL", f)
    if failures or slowest[0] > args.max_ms:
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
