"""GPU checks in one run (README "GPU checks"): every CSP / base pair with this project's latency engine
and, where timm has the model, timm's model timed the same way in the same run; each stage's
measured time against its roofline bound; then the earlier checks (CUDA graphs at batch 1, out of
memory becomes a message and the GPU stays usable).

    python benchmarks/gpu_checks.py                      # a CUDA GPU: the full matrix (a few minutes)
    python benchmarks/gpu_checks.py --device cpu --quick # a smoke run of the same code on the CPU

The matrix: cspresnet50 / resnet50, cspresnext50 / resnext50_32x4d, cspdarknet53 / darknet53 and
densenet201 with cspdensenet201 (and its fusion-first and fusion-last variants), each at its preset's
input size; fp32 (NCHW) and bf16 autocast with channels_last; batch 1 and 64; eager and CUDA graphs.
Our model and timm's are timed interleaved in rounds with explorer.real.latency's timer (CUDA events),
and per-stage times come from the engine's stage marks (eager).  The roofline (explorer.real.roofline)
gives each stage's lower bound on this GPU (the device table's peaks; the device is matched by name)
and the calibrated estimate.

Targets: our time within 5 % of timm's for the same model and setting; the roofline bound never above
a measured time (a bound above a measurement is a bug in the bytes or the peak).  Writes
``benchmarks/results/gpu_roofline.json`` and ``.md`` (``--out`` changes the prefix; the CPU smoke run
writes ``benchmarks/results/cpu_roofline_quick.*`` by default) and prints the Markdown.  timm is
optional: without it the timm columns are empty and the run says why.

Issue 20's set (``--issue20``; README "Roofline", "When a GPU is lent"): the CSP / base pairs and the
lineage presets (the detectors of the detectors issue when presets of them exist: none yet), each at 224
px, contiguous NCHW and channels_last, fp32 and bf16 cast (``model.to(dtype=torch.bfloat16,
memory_format=...)``, no autocast), batches 1, 8 and 64, with CUDA graphs, measured as
``explorer/real/data/gpu_h100_timm_graphs.md`` says (cudnn.benchmark, inference_mode, warm-up on a side
stream, one forward captured, 10 replays, then ``--groups`` groups of ``--replays`` replays timed with
CUDA events; the median group's time per replay), this project's modules (and timm's where timm is
installed and has the model, ``--timm``).  Models go in priority order (the pairs first) within
``--budget-s`` (default 300 s): what is left is listed, not measured.  Writes
``benchmarks/results/gpu_issue20.json`` and ``gpu_issue20.csv``, the CSV in the columns of the shipped
data plus implementation, device and source: copy it to ``explorer/real/data/gpu_<device>_graphs_<date>.csv``
and the calibration (explorer.real.roofline.graph_points reads every ``gpu_*_graphs*.csv`` there) and its
error are recomputed from it.

    python benchmarks/gpu_checks.py --issue20                  # a CUDA GPU, a few minutes
    python benchmarks/gpu_checks.py --issue20 --device cpu --quick   # the same code, a smoke run on the CPU
"""
from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import time
from contextlib import nullcontext

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

import torch

from cspnet import build_model, count_params, get_preset
from explorer.real.latency import (
    DTYPES,
    BenchmarkError,
    BenchRequest,
    _cuda_graph,
    _percentiles,
    _time_stages,
    _Timer,
    benchmark,
    environment,
)
from explorer.real.roofline import RooflineError, against_measured, device_for_record, measure_cpu, roofline

# (CSP model, its paper base); the DenseNet variants share the base
PAIRS = (("cspresnet50", "resnet50"), ("cspresnext50", "resnext50_32x4d"), ("cspdarknet53", "darknet53"),
         ("cspdensenet201", "densenet201"), ("cspdensenet201_fusion_first", "densenet201"),
         ("cspdensenet201_fusion_last", "densenet201"))
SETTINGS = (("fp32", False), ("bf16", True))       # (dtype, channels_last)
BATCHES = (1, 64)
MODES = ("eager", "cuda_graphs")
QUICK = {"pairs": PAIRS[:1], "settings": SETTINGS[:1], "batches": (1,), "modes": ("eager",), "runs": 3,
         "warmup": 1, "rounds": 1}
RESULTS = os.path.join(os.path.dirname(os.path.abspath(__file__)), "results")


def load_timm():
    """(timm module or None, why not)."""
    try:
        import timm
    except Exception as exc:  # ImportError, or a torchvision that does not match this torch
        return None, f"timm not usable here ({type(exc).__name__}: {str(exc)[:120]})"
    return timm, f"timm {timm.__version__}"


def timm_model(timm, name: str, ours):
    """timm's model of the same name with the same parameter count, else None."""
    if timm is None or name not in timm.list_models(name):
        return None
    ref = timm.create_model(name, pretrained=False)
    if sum(p.numel() for p in ref.parameters()) != count_params(ours):
        print(f"  timm's {name} has another parameter count: not compared", flush=True)
        return None
    return ref


def time_interleaved(fns: dict, x, timer, warmup: int, runs: int, rounds: int) -> dict:
    """name -> median stats of each callable, timed alternately in ``rounds`` (drift hits all alike)."""
    for f in fns.values():
        for _ in range(warmup):
            f(x)
    timer.sync()
    times = {k: [] for k in fns}
    per_round = max(1, runs // rounds)
    for _ in range(rounds):
        for k, f in fns.items():
            for _ in range(per_round):
                a = timer.mark()
                f(x)
                b = timer.mark()
                timer.sync()
                times[k].append(timer.elapsed_ms(a, b))
    return {k: _percentiles(v) for k, v in times.items()}


def measure_model(name: str, timm, device: str, settings, batches, modes, runs, warmup, rounds) -> list:
    """Every setting x batch x mode of one model: ours (and timm's) whole-model time, our per-stage
    times (eager), and the roofline of every stage."""
    dev = torch.device(device)
    cfg = get_preset(name)
    ours = build_model(cfg).to(dev).eval()
    ref = timm_model(timm, name, ours)
    ref = ref.to(dev).eval() if ref is not None else None
    timer = _Timer(device)
    env = environment(device)
    roof_device = device_for_record(env)
    rows = []
    for dtype, channels_last in settings:
        fmt = torch.channels_last if channels_last else torch.contiguous_format
        models = {"ours": ours.to(memory_format=fmt)}
        if ref is not None:
            models["timm"] = ref.to(memory_format=fmt)
        amp = DTYPES[dtype]

        def autocast():
            return torch.autocast(device, dtype=amp) if amp else nullcontext()

        for bs in batches:
            x = torch.randn(bs, 3, cfg.input_size, cfg.input_size, device=dev).to(memory_format=fmt)
            roof = None
            if roof_device is not None:
                try:
                    roof = roofline(cfg, roof_device, dtype, bs, channels_last=channels_last,
                                    autocast=amp is not None, implementation="cspnet")
                except RooflineError as exc:
                    print(f"  no roofline: {exc}", flush=True)
            for mode in modes:
                with torch.inference_mode():
                    fns = {}
                    for k, m in models.items():
                        def run(inp, m=m):
                            with autocast():
                                return m(inp)
                        fns[k] = _cuda_graph(run, x) if mode == "cuda_graphs" else run
                    stats = time_interleaved(fns, x, timer, warmup, runs, rounds)
                    stages = (_time_stages(ours, x, timer, max(3, min(runs, 10)), autocast())
                              if mode == "eager" else None)
                o, t = stats["ours"]["median_ms"], stats.get("timm", {}).get("median_ms")
                row = {"model": name, "dtype": dtype, "channels_last": channels_last, "batch": bs, "mode": mode,
                       "ours_ms": o, "ours_p10_p90": [stats["ours"]["p10_ms"], stats["ours"]["p90_ms"]],
                       "timm_ms": t, "diff_pct": 100.0 * (o - t) / t if t else None,
                       "bound_ms": roof["total"]["bound_ms"] if roof else None,
                       "estimated_ms": roof["total"]["estimated_ms"] if roof else None,
                       "pct_of_roofline": 100.0 * roof["total"]["bound_ms"] / o if roof else None,
                       "stages": against_measured(roof, stages) if (roof and stages) else None}
                rows.append(row)
                print(f"  {name} {dtype}{' channels_last' if channels_last else ''} b{bs} {mode}: ours {o:.3f} ms"
                      + (f", timm {t:.3f} ms ({row['diff_pct']:+.1f} %)" if t else "")
                      + (f", bound {row['bound_ms']:.3f} ms ({row['pct_of_roofline']:.0f} % of roofline)"
                         if roof else ""), flush=True)
            del x
    del ours, ref, models
    if device == "cuda":
        torch.cuda.empty_cache()
    return rows


def ratios(rows: list, pairs) -> list:
    """CSP / base time ratios for every setting, ours and timm's."""
    key = {(r["model"], r["dtype"], r["channels_last"], r["batch"], r["mode"]): r for r in rows}
    out = []
    for csp, base in pairs:
        for (m, dtype, cl, bs, mode), r in key.items():
            if m != csp or (base, dtype, cl, bs, mode) not in key:
                continue
            b = key[(base, dtype, cl, bs, mode)]
            out.append({"csp": csp, "base": base, "dtype": dtype, "channels_last": cl, "batch": bs, "mode": mode,
                        "ours_ratio": r["ours_ms"] / b["ours_ms"],
                        "timm_ratio": (r["timm_ms"] / b["timm_ms"]) if r["timm_ms"] and b["timm_ms"] else None,
                        "bound_ratio": (r["bound_ms"] / b["bound_ms"]) if r["bound_ms"] and b["bound_ms"] else None})
    return out


def checks(rows: list) -> dict:
    diffs = [abs(r["diff_pct"]) for r in rows if r["diff_pct"] is not None]
    violations = []
    for r in rows:
        if r["bound_ms"] is not None and r["bound_ms"] > r["ours_ms"]:
            violations.append(f"{r['model']} {r['dtype']} b{r['batch']} {r['mode']}: whole model")
        for s in r["stages"] or ():
            if s["measured_ms"] and s["bound_ms"] > s["measured_ms"]:
                violations.append(f"{r['model']} {r['dtype']} b{r['batch']} {r['mode']}: {s['stage']}")
    est = [100.0 * (r["estimated_ms"] - r["ours_ms"]) / r["ours_ms"] for r in rows
           if r["estimated_ms"] and r["mode"] == "cuda_graphs"]
    return {"timm_compared": len(diffs), "worst_timm_diff_pct": max(diffs) if diffs else None,
            "timm_within_5pct": (max(diffs) <= 5.0) if diffs else None,
            "bound_never_above_measured": not violations, "bound_violations": violations,
            "estimate_error_pct_cuda_graphs": [min(est), max(est)] if est else None}


def _f(v, fmt="{:.3f}"):
    return "" if v is None else fmt.format(v)


def markdown(out: dict) -> str:
    lines = [f"device: {out['device_name']} (roofline device: {out['roofline_device']}); torch {out['torch']}; "
             f"{out['timm']}; {out['date']}; {out['runs']} runs per model and point, interleaved in {out['rounds']} "
             "rounds", "",
             "| model | dtype | batch | mode | ours ms | timm ms | ours vs timm | lower bound ms | % of roofline "
             "| estimated ms |", "|---|---|---|---|---|---|---|---|---|---|"]
    for r in out["records"]:
        lines.append(f"| {r['model']} | {r['dtype']}{' CL' if r['channels_last'] else ''} | {r['batch']} | {r['mode']} "
                     f"| {r['ours_ms']:.3f} | {_f(r['timm_ms'])} | {_f(r['diff_pct'], '{:+.1f} %')} "
                     f"| {_f(r['bound_ms'])} | {_f(r['pct_of_roofline'], '{:.0f} %')} | {_f(r['estimated_ms'])} |")
    lines += ["", "| CSP / base | dtype | batch | mode | ours ratio | timm ratio | bound ratio |",
              "|---|---|---|---|---|---|---|"]
    for r in out["ratios"]:
        lines.append(f"| {r['csp']} / {r['base']} | {r['dtype']}{' CL' if r['channels_last'] else ''} | {r['batch']} "
                     f"| {r['mode']} | {r['ours_ratio']:.3f} | {_f(r['timm_ratio'])} | {_f(r['bound_ratio'])} |")
    lines += ["", "Per stage (eager, our model): measured ms / lower bound ms (% of roofline)", "",
              "| model | dtype | batch | stage | measured ms | bound ms | bound | % of roofline |",
              "|---|---|---|---|---|---|---|---|"]
    for r in out["records"]:
        for s in r["stages"] or ():
            lines.append(f"| {r['model']} | {r['dtype']}{' CL' if r['channels_last'] else ''} | {r['batch']} "
                         f"| {s['stage']} | {_f(s['measured_ms'])} | {s['bound_ms']:.4f} | {s['bound']} "
                         f"| {_f(s['pct_of_roofline'], '{:.0f} %')} |")
    c = out["checks"]
    lines += ["", f"timm: {c['timm_compared']} points compared, worst difference "
              f"{_f(c['worst_timm_diff_pct'], '{:.1f} %')} (target: within 5 %: {c['timm_within_5pct']}); "
              f"roofline bound never above a measurement: {c['bound_never_above_measured']}"
              + (f" (violations: {', '.join(c['bound_violations'])})" if c["bound_violations"] else "")]
    if c["estimate_error_pct_cuda_graphs"]:
        lo, hi = c["estimate_error_pct_cuda_graphs"]
        lines.append(f"estimate against measured (CUDA graphs): {lo:+.1f} % to {hi:+.1f} %")
    return "\n".join(lines)


def legacy_checks(out: dict) -> None:
    """The earlier checks: CUDA graphs at batch 1 separate launch overhead from GPU time; out of memory
    becomes a message and the GPU is usable afterwards."""
    for graphs in (False, True):
        rec = benchmark(get_preset("densenet121"), BenchRequest(device="cuda", batch_sizes=(1,), cuda_graphs=graphs,
                                                               warmup=10, runs=50, per_stage=False))
        out[f"densenet121_b1_cuda_graphs_{graphs}_ms"] = rec["results"][0]["median_ms"]
    try:
        benchmark(get_preset("densenet201", input_size=512), BenchRequest(device="cuda", batch_sizes=(1024,),
                                                                           warmup=0, runs=1, per_stage=False))
        out["oom"] = "no OOM (GPU too large for this test)"
    except BenchmarkError as exc:
        out["oom"] = f"message: {exc}"
    rec = benchmark(get_preset("resnet50"), BenchRequest(device="cuda", warmup=2, runs=5, per_stage=False))
    out["after_oom_resnet50_b1_ms"] = rec["results"][0]["median_ms"]


# --------------------------------------------------------------------------- issue 20: the wider set
ISSUE20_PAIRS = (("cspresnet50", "resnet50"), ("cspresnext50", "resnext50_32x4d"), ("cspdarknet53", "darknet53"),
                 ("cspdensenet121", "densenet121"), ("cspdensenet201", "densenet201"))
ISSUE20_SETTINGS = (("fp32", False), ("fp32", True), ("bf16", False), ("bf16", True))   # (dtype, channels_last)
ISSUE20_BATCHES = (1, 8, 64)
ISSUE20_SIZE = 224
CSV_COLUMNS = ("model", "input_size", "dtype", "memory_format", "batch", "cuda_graphs_ms", "img_per_s",
               "implementation", "device_key", "device_name", "torch", "date", "source")


def issue20_models() -> list:
    """The pairs first (the question the estimate is for), then every lineage preset (and detector presets,
    when a family of them exists), each once."""
    from cspnet import all_presets
    from cspnet.config import LINEAGE

    names = [n for pair in ISSUE20_PAIRS for n in pair]
    names += [n for n, p in all_presets().items() if p.config.get("family") in LINEAGE]   # detectors included
    return list(dict.fromkeys(names))


def graph_ms(model, x, groups: int, replays: int) -> float:
    """The method of data/gpu_h100_timm_graphs.md: warm-up on a side stream, one forward captured in a
    CUDA graph, 10 replays, then ``groups`` groups of ``replays`` replays timed with CUDA events; the
    median group's ms per replay."""
    side = torch.cuda.Stream()
    side.wait_stream(torch.cuda.current_stream())
    with torch.cuda.stream(side):
        for _ in range(5):
            model(x)
    torch.cuda.current_stream().wait_stream(side)
    graph = torch.cuda.CUDAGraph()
    with torch.cuda.graph(graph):
        model(x)
    for _ in range(10):
        graph.replay()
    times = []
    for _ in range(groups):
        a, b = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
        a.record()
        for _ in range(replays):
            graph.replay()
        b.record()
        b.synchronize()
        times.append(a.elapsed_time(b) / replays)
    return statistics.median(times)


def cpu_ms(model, x, groups: int, replays: int) -> float:
    """The CPU smoke run's stand-in for graph_ms (no CUDA graphs): the median group's ms per call."""
    for _ in range(2):
        model(x)
    times = []
    for _ in range(groups):
        t0 = time.perf_counter()
        for _ in range(replays):
            model(x)
        times.append((time.perf_counter() - t0) * 1e3 / replays)
    return statistics.median(times)


def issue20(args) -> int:
    """Measure issue 20's set within the budget; write the JSON and the CSV; print the estimate's error on it."""
    from cspnet import build_model, get_preset
    from explorer.real.roofline import roofline

    cuda = args.device == "cuda"
    if cuda:
        torch.backends.cudnn.benchmark = True
    env = environment(args.device)
    roof_device = device_for_record(env) if cuda else None
    timm, timm_note = load_timm() if args.timm else (None, "timm not asked for (--timm)")
    print(timm_note, flush=True)
    models = issue20_models()
    settings, batches = ISSUE20_SETTINGS, ISSUE20_BATCHES
    groups, replays = args.groups, args.replays
    if args.quick:
        models, settings, batches, groups, replays = models[:2], settings[:2], (1,), 2, 2
    measure = graph_ms if cuda else cpu_ms
    date = time.strftime("%Y-%m-%d")
    source = (f"benchmarks/gpu_checks.py --issue20 ({'CUDA graphs' if cuda else 'CPU smoke run, no graphs'}, "
              f"{groups} groups of {replays} replays); torch {torch.__version__}; {env['device_name']}")
    t0 = time.perf_counter()
    rows, skipped = [], []
    for name in models:
        if time.perf_counter() - t0 > args.budget_s:
            skipped.append(name)
            continue
        det = get_preset(name).is_detector   # detectors at their own 640 px, batches up to 8 (issue 19)
        size = get_preset(name).input_size if det else ISSUE20_SIZE
        cfg = get_preset(name, input_size=size)
        impls = {"cspnet": build_model(cfg)}
        ref = timm_model(timm, name, impls["cspnet"])
        if ref is not None:
            impls["timm"] = ref
        for impl, base_model in impls.items():
            for dtype, cl in settings:
                fmt = torch.channels_last if cl else torch.contiguous_format
                tdt = torch.float32 if dtype == "fp32" else torch.bfloat16
                model = base_model.to(device=args.device, dtype=tdt, memory_format=fmt).eval()
                for bs in (b for b in batches if not det or b <= 8):
                    x = torch.randn(bs, 3, size, size, device=args.device).to(dtype=tdt, memory_format=fmt)
                    try:
                        with torch.inference_mode():
                            ms = measure(model, x, groups, replays)
                    except torch.cuda.OutOfMemoryError:   # skipped, said so; the GPU stays usable
                        torch.cuda.empty_cache()
                        print(f"  {name} {impl} {dtype} b{bs}: out of memory, skipped", flush=True)
                        continue
                    est = None
                    if roof_device is not None:
                        r = roofline(cfg, roof_device, dtype, bs, channels_last=cl, implementation=impl)
                        est = r["total"]["estimated_ms"]
                        if r["total"]["bound_ms"] > ms:
                            print(f"  BOUND ABOVE MEASUREMENT: {name} {impl} {dtype} b{bs}", flush=True)
                    rows.append({"model": name, "input_size": size,
                                 "dtype": "fp32 (TF32 convs, PyTorch default)" if dtype == "fp32" else
                                 "bf16 (model.to(torch.bfloat16), no autocast)",
                                 "memory_format": "channels_last" if cl else "contiguous (NCHW)", "batch": bs,
                                 "cuda_graphs_ms": round(ms, 4), "img_per_s": round(bs / ms * 1e3, 1),
                                 "implementation": impl, "device_key": roof_device or args.device,
                                 "device_name": env["device_name"], "torch": torch.__version__, "date": date,
                                 "source": source, "estimated_ms": est})
                    print(f"  {name} {impl} {dtype}{' CL' if cl else ''} b{bs}: {ms:.4f} ms"
                          + (f", estimated {est:.4f} ms ({100 * (est - ms) / ms:+.1f} %)" if est else ""), flush=True)
                    del x
            del model
        del impls, ref
        if cuda:
            torch.cuda.empty_cache()
    prefix = args.out or os.path.join(RESULTS, "gpu_issue20" if cuda else "cpu_issue20_quick")
    errs = [abs(100 * (r["estimated_ms"] - r["cuda_graphs_ms"]) / r["cuda_graphs_ms"]) for r in rows
            if r["estimated_ms"]]
    out = {"device_name": env["device_name"], "roofline_device": roof_device, "torch": torch.__version__,
           "timm": timm_note, "date": date, "groups": groups, "replays": replays, "rows": rows, "skipped": skipped,
           "seconds": time.perf_counter() - t0,
           "estimate_error_abs_pct": ({"median": statistics.median(errs), "max": max(errs), "points": len(errs),
                                       "within_10": sum(e <= 10 for e in errs) / len(errs)} if errs else None)}
    with open(prefix + ".json", "w") as fh:
        json.dump(out, fh, indent=1)
    import csv

    with open(prefix + ".csv", "w", newline="") as fh:
        w = csv.DictWriter(fh, fieldnames=CSV_COLUMNS, extrasaction="ignore")
        w.writeheader()
        w.writerows(rows)
    print(f"wrote {prefix}.json and .csv: {len(rows)} points in {out['seconds']:.0f} s; not measured (budget): "
          f"{', '.join(skipped) or 'none'}; estimate error (the calibration before these data): "
          f"{out['estimate_error_abs_pct']}")
    return 0


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--issue20", action="store_true", help="issue 20's wider set with CUDA graphs (see above)")
    ap.add_argument("--budget-s", type=float, default=300.0, help="--issue20: stop starting models after this")
    ap.add_argument("--groups", type=int, default=5, help="--issue20: timed groups of replays")
    ap.add_argument("--replays", type=int, default=20, help="--issue20: replays per group")
    ap.add_argument("--timm", action="store_true", help="--issue20: timm's models too, where timm has them")
    ap.add_argument("--device", default="cuda", choices=["cuda", "cpu"])
    ap.add_argument("--quick", action="store_true", help="one pair, fp32, batch 1, eager, 3 runs (a smoke run)")
    ap.add_argument("--runs", type=int, default=50)
    ap.add_argument("--warmup", type=int, default=10)
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--out", default=None, help="output prefix (default benchmarks/results/gpu_roofline, or "
                                                "cpu_roofline_quick for --device cpu)")
    ap.add_argument("--no-legacy", action="store_true", help="skip the CUDA-graphs and out-of-memory checks")
    args = ap.parse_args(argv)
    if args.device == "cuda" and not torch.cuda.is_available():
        print("no CUDA GPU here (use --device cpu --quick for a smoke run)")
        return 1
    if args.issue20:
        return issue20(args)
    if args.device == "cuda":
        torch.backends.cudnn.benchmark = True
    pairs, settings, batches, modes = PAIRS, SETTINGS, BATCHES, MODES
    runs, warmup, rounds = args.runs, args.warmup, args.rounds
    if args.device == "cpu":
        modes = ("eager",)
    if args.quick:
        pairs, settings, batches, modes = QUICK["pairs"], QUICK["settings"], QUICK["batches"], QUICK["modes"]
        runs, warmup, rounds = QUICK["runs"], QUICK["warmup"], QUICK["rounds"]
    timm, timm_note = load_timm()
    print(timm_note, flush=True)
    env = environment(args.device)
    if args.device == "cpu":  # the CPU's roofs: the best of three measurements (other work only lowers them)
        for _ in range(3):
            peaks = measure_cpu(fresh=True)
        print(f"CPU roofs: {peaks['tflops']} TFLOP/s, {peaks['mem_bw_gbs']:.1f} GB/s", flush=True)
    t0 = time.perf_counter()
    names = list(dict.fromkeys(n for pair in pairs for n in pair))
    records = []
    for name in names:
        print(f"{name}:", flush=True)
        records += measure_model(name, timm, args.device, settings, batches, modes, runs, warmup, rounds)
    out = {"device_name": env["device_name"], "roofline_device": device_for_record(env), "torch": torch.__version__,
           "timm": timm_note, "date": time.strftime("%Y-%m-%d"), "runs": runs, "rounds": rounds,
           "records": records, "ratios": ratios(records, pairs), "checks": checks(records)}
    if args.device == "cuda" and not args.no_legacy:
        legacy_checks(out)
    out["seconds"] = time.perf_counter() - t0
    prefix = args.out or os.path.join(RESULTS, "gpu_roofline" if args.device == "cuda" else "cpu_roofline_quick")
    md = markdown(out)
    with open(prefix + ".json", "w") as fh:
        json.dump(out, fh, indent=1)
    with open(prefix + ".md", "w") as fh:
        fh.write(md + "\n")
    print(md)
    pcts = [s["pct_of_roofline"] for r in records for s in r["stages"] or () if s["pct_of_roofline"]]
    print(f"\nwrote {prefix}.json and .md in {out['seconds']:.0f} s; median stage % of roofline "
          f"{statistics.median(pcts or [0]):.0f} %")
    return 0


if __name__ == "__main__":
    sys.exit(main())
