"""Engine speed targets (issue: explorer engine, section 7). Prints a Markdown table for the README.

    python benchmarks/bench_engine.py [--json] [--quick]

Targets on the 2-core CPU machine:
* analytic summary of any preset < 5 ms, and >= 100x faster than fvcore on densenet201 with identical totals
  (timed with cspnet's plan memo emptied before each run: planning, not a memo hit);
* full live trace (build + hooked forward + fvcore) of densenet201 at 224 < 3 s;
* sweep of 1,000 designs (40 split ratios x 25 growth rates on cspdensenet121), in-process, < 0.5 s: the
  first run (no design of the grid planned before) is the figure; the median of three repeats is shown too.

And how often the analytic plan is computed (calls of a family's ``plan`` function: real planning,
never a memo hit) for

* one knob change as the Design page makes it: ``apply_edits`` on the current design (its
  validation plans the new design), then ``compare_with_twin`` on the new design (design and
  plain twin), then ``CSPConfig.from_dict(json.loads(cfg.key()))`` as the app's cache layer does;
* a rerun that changes nothing: ``compare_with_twin`` on the same design again + ``from_dict(key)``.

Detectors (issue 19), target: a fresh plan of every detector preset < 5 ms:

* a fresh plan (memo bypassed) and the analytic summary (plan memo cleared) of each detector preset
  (yolov5{n..x}u, yolov8{n..x}, yolo11{n..x});
* opening a detection YAML: its text parsed (``explorer.io.ultralytics._load``) and planned at 640
  (``explorer.design.files.detector_from_file``, the parsed-text memo emptied first), with the YAML loader the
  reader uses (libyaml's ``CSafeLoader`` where PyYAML has it) and with the pure-Python ``SafeLoader`` beside it;
  the texts: the Ultralytics YAMLs ``export --format ultralytics`` writes for yolov8x, yolo11x and yolov5xu, and
  the YOLOv7 text of ``tests/test_yolo_repos_detect.py`` (the longest file the planners read: 106 layers).

``--quick`` skips the slow parts (fvcore and the live trace).
"""
from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import time
from collections import Counter
from contextlib import contextmanager

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

import torch

from cspnet import CSPConfig, build_model, get_preset, plan_network, preset_names
from explorer.counts.analysis import compare_with_twin, summarize
from explorer.counts.conventions import count
from explorer.counts.sweep import parse_vary, sweep
from explorer.design.edits import apply_edits
from explorer.real.trace import fvcore_count, live_trace

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
DESIGN_PAGE_DEFAULT = "cspdensenet121"  # app_ui.state.DEFAULT_PRESET (not imported: it imports streamlit)
KNOB_EDIT = ("growth_rate", "40")       # one knob, as the Design page's text box sends it
SWEEP_TARGET_S = 0.5


def cold(fn):
    """``fn`` with cspnet's plan memo (where there is one) emptied first: the timings measure planning
    and counting, never a memo hit."""
    import cspnet.plan

    clear = getattr(cspnet.plan, "clear_plan_memo", None)

    def run():
        if clear is not None:
            clear()
        return fn()

    return run


def best_of(fn, n):
    times = []
    for _ in range(n):
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
    return min(times), statistics.median(times)


@contextmanager
def counting_plans():
    """Count calls of every family's ``plan`` function (``Family.plan``) while the block runs.

    Wraps the attribute on the Family objects themselves (frozen dataclasses, hence
    object.__setattr__), so whatever reaches a family's planner is counted and a memo hit in front
    of it is not.  Yields a Counter {family name: calls}; the originals are restored afterwards.
    """
    from cspnet.families import FAMILIES, get_family

    calls: Counter = Counter()
    patched = []
    for name in FAMILIES:
        fam = get_family(name)
        if any(f is fam for f, _ in patched):
            continue
        orig = fam.plan

        def wrapped(*a, _orig=orig, _name=fam.name, **kw):
            calls[_name] += 1
            return _orig(*a, **kw)

        object.__setattr__(fam, "plan", wrapped)
        patched.append((fam, orig))
    try:
        yield calls
    finally:
        for fam, orig in patched:
            object.__setattr__(fam, "plan", orig)


def count_plans(fn) -> int:
    with counting_plans() as calls:
        fn()
    return sum(calls.values())


def plan_counts() -> dict:
    """Family ``plan`` calls for one knob change on the Design page, and for a rerun that changes nothing."""
    cfg = get_preset(DESIGN_PAGE_DEFAULT)
    # what the page did before the knob change: it shows the current design (through the cache layer)
    compare_with_twin(CSPConfig.from_dict(json.loads(cfg.key())))
    name, text = KNOB_EDIT
    state: dict = {}

    def edit():
        out = apply_edits(cfg, {name: text}, latest=name)
        assert out.changed and not out.errors, out.errors
        state["cfg"] = out.cfg

    knob = {"apply_edits": count_plans(edit)}
    new = state["cfg"]
    knob["compare_with_twin"] = count_plans(lambda: compare_with_twin(new))
    knob["from_dict(key)"] = count_plans(lambda: CSPConfig.from_dict(json.loads(new.key())))
    same = {"compare_with_twin": count_plans(lambda: compare_with_twin(new)),
            "from_dict(key)": count_plans(lambda: CSPConfig.from_dict(json.loads(new.key())))}
    return {"design": DESIGN_PAGE_DEFAULT, "edit": f"{name}={text}",
            "knob_change": {**knob, "total": sum(knob.values())},
            "rerun_no_change": {**same, "total": sum(same.values())}}


def page_plan_counts() -> dict:
    """The same two counts for the whole Design page (every widget, the sidebar, the caches), run by
    Streamlit's AppTest in this process: the app's default design, then the knob edit as typed."""
    from streamlit.testing.v1 import AppTest

    name, text = KNOB_EDIT
    at = AppTest.from_file(os.path.join(ROOT, "app.py"), default_timeout=120)
    at.run()
    with counting_plans() as calls:
        at.text_input(key=f"knob_{name}").set_value(text).run()
    knob = sum(calls.values())
    with counting_plans() as calls:
        at.run()
    assert not at.exception, at.exception
    return {"knob_change": knob, "rerun_no_change": sum(calls.values())}


def detector_presets() -> list:
    return [n for n in preset_names() if get_preset(n).is_detector]


def file_detector_presets() -> list:
    """The detector presets that hold a file (yolo_yaml YAMLs, darknet_cfg cfgs): their plan reads a head."""
    return [n for n in preset_names() if get_preset(n).family in ("yolo_yaml", "darknet_cfg")
            and plan_network(get_preset(n)).has_detection_head]


def twin_timings() -> dict:
    """The plain twin of each file-backed detector preset against the file itself, each planned with every cache
    of the file emptied (a YAML: its repository's planner, with ``plain=True`` for the twin; a cfg: parsed, and
    for the twin its CSP stages rewritten first, ``explorer.io.rewrite.plain_twin``), the plan memo bypassed:
    what the first view of each costs.  Later views read the kept plans."""
    import explorer.io.family as fam
    import explorer.io.yolo_family as yf

    def cold_plan(cfg):
        def run():
            yf.planned.cache_clear()
            fam.parsed.cache_clear()
            fam.twin_text.cache_clear()
            return plan_network(cfg, memo=False)
        return best_of(run, 3)[1] * 1000

    return {name: {"file_ms": cold_plan(get_preset(name)), "twin_ms": cold_plan(get_preset(name).twin())}
            for name in file_detector_presets()}


def yaml_texts() -> dict:
    """Detection YAML texts to open: file name -> text (see the module docstring)."""
    from explorer.io.ultralytics import yaml_from_config

    texts = {f"{n}.yaml": yaml_from_config(get_preset(n)) for n in ("yolov8x", "yolo11x", "yolov5xu")}
    sys.path.insert(0, os.path.join(ROOT, "tests"))
    from test_yolo_repos_detect import V7  # written from yolov7.yaml's published layer structure

    texts["yolov7.yaml"] = V7
    return texts


def detector_timings() -> dict:
    """Fresh plans and summaries of the detector presets, and opening detection YAMLs with either loader."""
    from unittest import mock

    import yaml

    import explorer.io.ultralytics as uy
    import explorer.io.ultralytics_det as ud
    from explorer.design.files import detector_from_file

    plan_ms, summary_ms = {}, {}
    for name in detector_presets():
        cfg = get_preset(name)
        plan_ms[name] = best_of(lambda: plan_network(cfg, memo=False), 20)[1] * 1000
        summary_ms[name] = best_of(cold(lambda: summarize(cfg)), 20)[1] * 1000
    opening = {}
    loaders = {"libyaml": uy.yaml_loader(), "pure_python": yaml.SafeLoader}
    for file, text in yaml_texts().items():
        row = {"chars": len(text), "layers": None}
        for tag, loader in loaders.items():
            def parse():
                return uy._load(text)

            def open_file():
                ud._DOCS.clear()
                return detector_from_file(file, text, 640)

            with mock.patch.object(uy, "yaml_loader", lambda loader=loader: loader):
                row[f"parse_ms_{tag}"] = best_of(parse, 7)[1] * 1000
                row[f"open_ms_{tag}"] = best_of(open_file, 7)[1] * 1000
                opened = open_file()
                row["layers"] = opened.layers or len(opened.modules)
        opening[file] = row
    return {"fresh_plan_ms": plan_ms, "summary_ms": summary_ms, "open_yaml": opening,
            "loader": loaders["libyaml"].__name__}


def main():
    ap = argparse.ArgumentParser(description="Engine speed targets (prints a Markdown table).")
    ap.add_argument("--json", action="store_true", help="print the figures as JSON instead")
    ap.add_argument("--quick", action="store_true", help="skip fvcore and the live trace (the slow parts)")
    args = ap.parse_args()
    results = {}

    # 0. plan computations per knob change (first: nothing else has planned these designs yet)
    results["plan_calls"] = plan_counts()

    # 1. analytic summary of every preset
    per_preset = {}
    for name in preset_names():
        cfg = get_preset(name)
        per_preset[name] = best_of(cold(lambda: summarize(cfg)), 20)[1] * 1000
    worst = max(per_preset, key=per_preset.get)
    results["analytic_summary_ms_worst"] = (worst, per_preset[worst])

    # 1b. a fresh plan (the graph: every layer and what it reads) of every preset, memo bypassed
    per_plan = {}
    for name in preset_names():
        cfg = get_preset(name)
        per_plan[name] = best_of(lambda: plan_network(cfg, memo=False), 20)[1] * 1000
    worst_plan = max(per_plan, key=per_plan.get)
    results["fresh_plan_ms_worst"] = (worst_plan, per_plan[worst_plan])

    # 1c. detectors: fresh plans, summaries, opening a detection YAML
    results["detectors"] = detector_timings()
    results["twins"] = twin_timings()

    # 2. analytic vs fvcore on densenet201
    cfg = get_preset("densenet201")
    analytic_s = best_of(cold(lambda: count(plan_network(cfg), "fvcore")), 20)[1]
    results["densenet201_analytic_ms"] = analytic_s * 1000
    if not args.quick:
        model = build_model(cfg)
        x = torch.zeros(1, 3, 224, 224)
        fv_total = None

        def run_fv():
            nonlocal fv_total
            fv_total = fvcore_count(model, x)["total"]

        fvcore_s = best_of(run_fv, 3)[1]
        results["densenet201_fvcore_s"] = fvcore_s
        results["speedup_vs_fvcore"] = fvcore_s / analytic_s
        results["totals_identical"] = fv_total == count(plan_network(cfg), "fvcore")

        # 3. full live trace of densenet201 at 224
        t = live_trace(cfg)  # warm (first call pays one-time imports)
        t = min((live_trace(cfg) for _ in range(2)), key=lambda r: r["seconds"]["total"])
        results["live_trace_densenet201_s"] = t["seconds"]

    # 4. sweep of 1,000 designs (40 split ratios x 25 growth rates), in-process
    base = get_preset("cspdensenet121")
    axes = [parse_vary("split_ratio=0.025:1.0:0.025"), parse_vary("growth_rate=8:56:2")]
    n = len(axes[0][1]) * len(axes[1][1])
    with counting_plans() as calls:
        t0 = time.perf_counter()
        sweep(base, axes)
        first_s = time.perf_counter() - t0
    repeat_s = best_of(cold(lambda: sweep(base, axes)), 3)[1]
    results["sweep"] = {"designs": n, "seconds": first_s, "repeat_median_seconds": repeat_s,
                        "plan_calls": sum(calls.values()), "target_seconds": SWEEP_TARGET_S}

    results["environment"] = {"torch": torch.__version__, "threads": torch.get_num_threads(),
                              "cpus": os.cpu_count()}
    if args.json:
        print(json.dumps(results, indent=2))
        return
    w_name, w_ms = results["analytic_summary_ms_worst"]
    p_name, p_ms = results["fresh_plan_ms_worst"]
    rows = [
        ("fresh plan (the layer graph), slowest preset", f"{p_ms:.2f} ms ({p_name})", "< 2 ms", p_ms < 2),
        ("analytic summary, slowest preset", f"{w_ms:.2f} ms ({w_name})", "< 5 ms", w_ms < 5),
        ("densenet201: analytic fvcore-convention count", f"{results['densenet201_analytic_ms']:.2f} ms", "", True),
    ]
    det = results["detectors"]
    dp = max(det["fresh_plan_ms"], key=det["fresh_plan_ms"].get)
    ds = max(det["summary_ms"], key=det["summary_ms"].get)
    slow = max(det["open_yaml"], key=lambda f: det["open_yaml"][f]["open_ms_libyaml"])
    so = det["open_yaml"][slow]
    rows += [
        (f"detector presets ({len(det['fresh_plan_ms'])}): fresh plan, slowest",
         f"{det['fresh_plan_ms'][dp]:.2f} ms ({dp})", "< 5 ms", det["fresh_plan_ms"][dp] < 5),
        ("detector presets: analytic summary, slowest", f"{det['summary_ms'][ds]:.2f} ms ({ds})", "< 5 ms",
         det["summary_ms"][ds] < 5),
        (f"open a detection YAML (parse + plan at 640), slowest of {len(det['open_yaml'])}",
         f"{so['open_ms_libyaml']:.2f} ms ({slow}, {det['loader']}; {so['open_ms_pure_python']:.2f} ms with "
         "SafeLoader)", "", True),
    ]
    tw = results["twins"]
    ty = max((n for n in tw if get_preset(n).family == "yolo_yaml"), key=lambda n: tw[n]["twin_ms"])
    tc = max(tw, key=lambda n: tw[n]["twin_ms"])
    rows += [
        ("plain twin of a detection YAML preset, first plan (planned plain), slowest",
         f"{tw[ty]['twin_ms']:.2f} ms ({ty}; the file's own {tw[ty]['file_ms']:.2f} ms)", "< 5 ms",
         tw[ty]["twin_ms"] < 5),
        ("plain twin of a file-backed detector preset, first plan, slowest (a cfg's CSP stages rewritten first)",
         f"{tw[tc]['twin_ms']:.1f} ms ({tc}; the file's own {tw[tc]['file_ms']:.1f} ms)", "", True),
    ]
    if not args.quick:
        tr = results["live_trace_densenet201_s"]
        speedup, same = results["speedup_vs_fvcore"], results["totals_identical"]
        rows += [
            ("densenet201: fvcore FlopCountAnalysis", f"{results['densenet201_fvcore_s']:.2f} s", "", True),
            ("speed-up over fvcore, identical totals", f"{speedup:.0f}x, identical: {same}", ">= 100x",
             speedup >= 100 and same),
            ("live trace densenet201@224 (build + hooks + fvcore)",
             f"{tr['total']:.2f} s (build {tr['build']:.2f}, forward {tr['hooked_forward']:.2f}, "
             f"fvcore {tr['fvcore']:.2f})", "< 3 s", tr["total"] < 3),
        ]
    sw = results["sweep"]
    per_design = 1000 * sw["seconds"] / sw["designs"]
    rows.append((f"sweep of {n} designs, in-process (first run; median of 3 repeats)",
                 f"{sw['seconds']:.2f} s ({sw['repeat_median_seconds']:.2f} s; {per_design:.2f} ms per design), "
                 f"{sw['plan_calls']} plans computed", f"< {SWEEP_TARGET_S:g} s (< 0.7 ms per design)",
                 sw["seconds"] < SWEEP_TARGET_S))
    print("| measurement | result | target | met |\n|---|---|---|---|")
    for r in rows:
        print(f"| {r[0]} | {r[1]} | {r[2]} | {'yes' if r[3] else 'NO'} |")
    print("\ndetector presets, fresh plan / analytic summary (ms): " + ", ".join(
        f"{n} {det['fresh_plan_ms'][n]:.2f} / {det['summary_ms'][n]:.2f}" for n in det["fresh_plan_ms"]))
    print(f"\n| detection YAML | chars | layers | parse: {det['loader']} / SafeLoader | open (parse + plan at 640): "
          f"{det['loader']} / SafeLoader |\n|---|---|---|---|---|")
    for f, r in det["open_yaml"].items():
        print(f"| {f} | {r['chars']:,} | {r['layers']} | {r['parse_ms_libyaml']:.2f} / {r['parse_ms_pure_python']:.2f} "
              f"ms | {r['open_ms_libyaml']:.2f} / {r['open_ms_pure_python']:.2f} ms |")
    pc = results["plan_calls"]

    def parts(d):
        return ", ".join(f"{k} {v}" for k, v in d.items() if k != "total")

    print(f"\nanalytic plans computed (family plan calls) on the Design page, {pc['design']}:")
    print(f"  one knob change ({pc['edit']}):   {pc['knob_change']['total']}  ({parts(pc['knob_change'])})")
    print(f"  a rerun that changes nothing: {pc['rerun_no_change']['total']}  ({parts(pc['rerun_no_change'])})")
    page = page_plan_counts()
    print(f"  the whole Design page (AppTest): knob change {page['knob_change']}, "
          f"rerun that changes nothing {page['rerun_no_change']}")
    print(f"\ntorch {torch.__version__}, {torch.get_num_threads()} threads, {os.cpu_count()} CPUs")


if __name__ == "__main__":
    main()
