"""How long ``explorer.compare.compare`` takes for four subjects (issue 22: four detectors under 0.5 s on this
machine). Prints a Markdown table for the README.

    python benchmarks/bench_compare.py [--json] [--repeats N]

Two sets of four, each timed as the CLI runs it (``python -m explorer compare A B C D``: every subject resolved,
summarised with its plain twin where it has one, its roofline on the H100, the stages aligned, what changed
against the first with the ablation walk where both are designs):

* four detectors: Ultralytics detection YAMLs (yolov8s, yolo11s, yolov5su, yolov8s-p2) written to a temporary
  folder and opened as files (read, parsed and planned on every run: no memo in front of them).  The YAML texts
  are the test suite's (``tests/test_ultralytics_detect.YAMLS``, checked there against Ultralytics' parameter
  counts and printed GFLOPs);
* four detector presets (yolov8s, yolo11s, yolov5su, yolov8n: designs, so each has its plain twin and the
  what-changed walks run), plan memo emptied before each run;
* four lineage presets (yolov8n_cls, yolo11n_cls, yolov5s_cls, cspresnet50), with cspnet's plan memo emptied
  before each run, so the designs of the walks are planned, never a memo hit.

The process's first ``compare`` also fits the roofline's GPU calibration (``explorer.real.roofline.calibrations``,
once per process, shared by every later call); it is shown on its own row.  The figure is the median of
``--repeats`` runs after it.
"""
from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)
sys.path.insert(0, os.path.join(ROOT, "tests"))

TARGET_S = 0.5
DETECTORS = {"yolov8s.yaml": "v8", "yolo11s.yaml": "11", "yolov5su.yaml": "v5u", "yolov8s-p2.yaml": "v8-p2"}
PRESETS = ("yolov8n_cls", "yolo11n_cls", "yolov5s_cls", "cspresnet50")
DETECTOR_PRESETS = ("yolov8s", "yolo11s", "yolov5su", "yolov8n")   # detectors as designs: twins, walks


def _clear_memo() -> None:
    import cspnet.plan

    cspnet.plan.clear_plan_memo()


def timed(fn, repeats: int) -> dict:
    times = []
    for _ in range(repeats):
        _clear_memo()
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
    return {"median_s": statistics.median(times), "min_s": min(times), "max_s": max(times), "runs": repeats}


def main() -> None:
    ap = argparse.ArgumentParser(description="compare() of four subjects (prints a Markdown table).")
    ap.add_argument("--json", action="store_true", help="print the figures as JSON instead")
    ap.add_argument("--repeats", type=int, default=7)
    args = ap.parse_args()

    from explorer.compare import compare
    from test_ultralytics_detect import YAMLS

    with tempfile.TemporaryDirectory() as tmp:
        files = []
        for name, which in DETECTORS.items():
            path = os.path.join(tmp, name)
            with open(path, "w", encoding="utf-8") as fh:
                fh.write(YAMLS[which])
            files.append(path)
        _clear_memo()
        t = time.perf_counter()
        first = compare(files)
        first_s = time.perf_counter() - t
        det = timed(lambda: compare(files), args.repeats)
    lineage = timed(lambda: compare(list(PRESETS)), args.repeats)
    det_presets = timed(lambda: compare(list(DETECTOR_PRESETS)), args.repeats)
    steps = sum(len(w["walk"]["steps"]) for w in compare(list(PRESETS))["what_changed"] if w["walk"])
    results = {
        "first_call_s": first_s,
        "detectors": {"subjects": [s["label"].rsplit("/", 1)[-1] for s in first["subjects"]],
                      "stage_slots": len(first["stages"]), **det},
        "lineage": {"subjects": list(PRESETS), "walk_steps": steps, **lineage},
        "detector_presets": {"subjects": list(DETECTOR_PRESETS), **det_presets},
        "target_s": TARGET_S,
        "meets_target": max(det["median_s"], lineage["median_s"], det_presets["median_s"]) < TARGET_S,
    }
    if args.json:
        print(json.dumps(results, indent=2))
        return
    d, lin = results["detectors"], results["lineage"]
    print("| compare() of four | median (min-max) | target | met |")
    print("|---|---|---|---|")
    print(f"| detectors {', '.join(d['subjects'])} (YAML files read and planned each run; {d['stage_slots']} "
          f"aligned stage slots) | **{d['median_s']:.3f} s** ({d['min_s']:.3f}-{d['max_s']:.3f}) | < {TARGET_S} s | "
          f"{'yes' if d['median_s'] < TARGET_S else 'NO'} |")
    dp = results["detector_presets"]
    print(f"| detector presets {', '.join(dp['subjects'])} (designs: twins and what-changed walks; plan memo "
          f"emptied) | **{dp['median_s']:.3f} s** ({dp['min_s']:.3f}-{dp['max_s']:.3f}) | < {TARGET_S} s | "
          f"{'yes' if dp['median_s'] < TARGET_S else 'NO'} |")
    print(f"| lineage presets {', '.join(lin['subjects'])} (plan memo emptied; 3 what-changed walks, "
          f"{lin['walk_steps']} steps) | **{lin['median_s']:.3f} s** ({lin['min_s']:.3f}-{lin['max_s']:.3f}) | "
          f"< {TARGET_S} s | {'yes' if lin['median_s'] < TARGET_S else 'NO'} |")
    print(f"| the process's first compare (the detectors; fits the roofline calibration once) | {first_s:.3f} s | "
          "| |")


if __name__ == "__main__":
    main()
