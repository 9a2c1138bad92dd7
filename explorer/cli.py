"""``python -m explorer``: everything the app shows, as tables, JSON or CSV.

Bad input exits with code 2 and one line on stderr naming the field; never a traceback.
"""
from __future__ import annotations

import argparse
import json
import re
import sys

from cspnet import ConfigError, all_presets, family_fields
from cspnet.config import FIELDS
from cspnet.families import FAMILIES
from cspnet.fields import GENERIC_READS
from explorer.counts.conventions import REGISTRY
from explorer.fmt import json_safe
from explorer.real.export import csv_bytes

EXIT_USAGE = 2
FUSED_HELP = ("count the fused network: each BatchNorm that directly follows a conv folded into it (Conv+BN, as "
              "Ultralytics' model.fuse()): its 2 x C parameters go, the conv gains a bias of C, and every convention "
              "counts the network without those BatchNorm layers")


class CLIError(Exception):
    """A usage error: reported as one line, exit code 2."""


class _Parser(argparse.ArgumentParser):
    def error(self, message):  # one line, not argparse's usage block
        raise CLIError(f"{self.prog}: {message}")


def _design(args):
    """The design a command names: a preset, or a network file opened by ``explorer.design.files`` (the one
    place that picks the reader: extension, else content), with ``--set`` and ``--input-size`` applied; what
    the file's reader read otherwise than written is printed on stderr (``warning: ...``)."""
    from explorer.design.files import file_warnings
    from explorer.design.text import apply_overrides, load_design

    cfg = load_design(args.design)
    _warn(file_warnings(cfg))
    if getattr(args, "scale", None):
        cfg = _with_scale(cfg, args.scale)
    items = list(args.set)
    for item in items:   # an opened file's family reads a few fields: any other would change nothing
        key = item.split("=", 1)[0].strip()   # (fusion: its own, or none for its plain twin where it has one)
        if cfg.family in GENERIC_READS and key in FIELDS and key not in ("family", "fusion") \
                and not FIELDS[key].reads(cfg.family):
            raise ConfigError(key, f"the {cfg.family} family does not read it (an opened file's layers fix it); "
                              f"it reads: {', '.join(family_fields(cfg.family))} (and fusion=none: its plain twin)")
    if getattr(args, "input_size", None) is not None:  # applied with the --set values, as one change
        items.append(f"input_size={args.input_size}")
    return apply_overrides(cfg, items)


def _with_scale(cfg, letter: str):
    """``cfg`` at Ultralytics' scale ``letter`` (``--scale``): the scaling fields of the family's preset at that
    scale (``cspnet.families.lineage.scale_preset``), renamed as the scale it now is."""
    from cspnet import get_preset
    from cspnet.families.lineage import SCALE_FIELDS, SCALED_FAMILIES, scale_preset
    from explorer.design.text import with_changes

    if cfg.family == "yolo_yaml":   # an opened detection YAML: the scale is part of its text
        from explorer.io.yolo_family import at_scale

        return at_scale(cfg, letter)
    name = scale_preset(cfg.family, cfg.task, letter)
    if name is None:
        fams = ", ".join(SCALED_FAMILIES)
        raise ConfigError("scale", f"{letter!r} is not allowed for a {cfg.family} design; allowed: n, s, m, l, x for "
                          f"{fams} designs and Ultralytics detection YAMLs (other families have no scales: use "
                          "--set width_multiple=... depth_multiple=...)")
    ref = get_preset(name)
    changes = {f: getattr(ref, f) for f in SCALE_FIELDS}
    labelled = re.fullmatch(r"(.*) \(scale [nsmlx]\)", cfg.name or "")
    if cfg.name in all_presets():
        changes["name"] = name
    elif labelled:   # an opened file: "yolov8n-cls.yaml (scale n)"
        changes["name"] = f"{labelled.group(1)} (scale {letter})"
    return with_changes(cfg, changes)


def _warn(lines) -> None:
    for line in lines:
        print(f"warning: {line}", file=sys.stderr)


def _file_format(spec: str) -> str | None:
    """Which reader opens the network file ``spec`` (``explorer.design.files.file_format``: darknet, yaml or
    json); None for a preset.  Raises ConfigError for neither a preset nor a readable file."""
    from explorer.design.files import file_format, read_file
    from explorer.design.text import check_design_spec

    if spec in all_presets():
        return None
    check_design_spec(spec)
    return file_format(spec, read_file(spec))


def _paper_base(args):
    """The paper base of the preset the design spec names (``cspnet.presets.paper_base``); None for a
    JSON file (it names no preset) or a preset without one."""
    from cspnet.presets import paper_base

    return paper_base(args.design)


def _add_design_args(p):
    p.add_argument("design", help="a preset name (see `presets`) or a network file: a design .json, a Darknet "
                                  ".cfg, an Ultralytics model .yaml (no extension or .txt: opened by its content)")
    p.add_argument("--set", action="append", default=[], metavar="KEY=VALUE",
                   help="change a config field, e.g. --set split_ratio=0.5 --set repeats=6,12,24,16")
    p.add_argument("--input-size", type=int, default=None, help="input resolution (square)")
    p.add_argument("--scale", choices=tuple("nsmlx"), default=None,
                   help="Ultralytics' scale (yolov5/yolov8/yolo11 designs: the multiples, channel cap and blocks of "
                        "that scale's preset; a detection YAML: its scales key), as the letter in a file name")


def _print_json(obj):
    print(json.dumps(json_safe(obj), indent=2, allow_nan=False))


def _print_csv(rows):
    sys.stdout.write(csv_bytes(rows).decode("utf-8"))


def _print_table(rows):
    import pandas as pd

    if rows:
        print(pd.DataFrame(rows).to_string(index=False))


# --------------------------------------------------------------------------- commands
def cmd_presets(args):
    from cspnet import plan_network
    from explorer.counts.conventions import count

    rows = []
    for name, p in all_presets().items():
        from cspnet import get_preset

        cfg = get_preset(name)
        plan = plan_network(cfg)
        rows.append({"name": name, "family": cfg.family, "fusion": cfg.fusion,
                     "input_size": cfg.input_size, "params": plan.params,
                     "reference_params": p.reference_params, "macs": count(plan, "macs"),
                     "reference": p.reference, "base": p.base, "description": p.description})
    if args.json:
        _print_json(rows)
    elif args.csv:
        _print_csv(rows)
    else:
        _print_table([{"name": r["name"], "family": r["family"], "fusion": r["fusion"], "input": r["input_size"],
                       "params": f"{r['params']:,}",
                       "reference params": f"{r['reference_params']:,}" if r["reference_params"] else "-",
                       "exact": ("" if not r["reference_params"] else
                                 "yes" if r["params"] == r["reference_params"] else "NO"),
                       "MACs": f"{r['macs']:,}", "paper base": r["base"] or "-",
                       "reference": r["reference"][:60]} for r in rows])


def cmd_fields(args):
    from cspnet.config import FIELDS
    from cspnet.fields import field_rows, field_table

    specs = FIELDS if not args.family else {n: f for n, f in FIELDS.items() if f.reads(args.family)}
    if args.markdown:
        print(field_table(specs))
        return
    rows = field_rows(specs)
    if args.json:
        _print_json(rows)
    elif args.csv:
        _print_csv(rows)
    else:
        _print_table([{k: r[k] for k in ("field", "families", "values", "label")} for r in rows])


def _base_block(bcmp) -> dict | None:
    """``summary --json``'s ``base`` block: the paper base's name, input size, config and deltas."""
    if bcmp is None:
        return None
    return {"name": bcmp["base_name"], "input_size": bcmp["input_size"], "config": bcmp["base_config"],
            "deltas": bcmp["deltas"], "part_deltas": bcmp["part_deltas"]}


def _delta_line(deltas: dict) -> str:
    return "   ".join(f"{v['label']} {v['delta_pct']:+.1f}%" for v in deltas.values() if v["delta_pct"] is not None)


def _summary_cfg(args):
    """``summary`` of a Darknet cfg file (explorer.io.darknet): per-stage shapes, params, MACs, BFLOPs; its
    ``config`` is the design the file opens as (the darknet_cfg family: ``explorer.design.files``), null with
    ``config_error`` where the network is no design here (e.g. [net] channels=1); ``warnings`` what was read
    otherwise than written (also on stderr)."""
    from explorer.design.files import design_from_file, name_parts, read_file
    from explorer.io.darknet import parse_cfg, stage_rows, summarize_net

    if args.set or args.blocks or args.fused:
        raise CLIError("summary: --set, --blocks and --fused do not apply to a Darknet cfg yet (edit the file; "
                       "--input-size and --trace work; `layers --fused` lists the cfg's fused layers)")
    data = read_file(args.design)
    net = parse_cfg(data, input_size=args.input_size, name=name_parts(args.design)[0] or "darknet")
    s = summarize_net(net, batch=args.batch)
    try:
        design = design_from_file(args.design, data)
        if args.input_size is not None:
            design = design.replace(input_size=args.input_size)
        s["config"], s["config_error"] = design.to_dict(), None
    except ConfigError as exc:
        s["config"], s["config_error"] = None, str(exc)
        design = None
    s["warnings"] = list(net.warnings)
    _warn(net.warnings)
    if args.trace:   # the model the cfg opens as (the darknet_cfg design), hooked: each stage's taps, each output
        if design is None:
            raise CLIError(f"summary --trace: this cfg opens as no design to build ({s['config_error']})")
        from explorer.real.trace import live_trace

        s["trace"] = live_trace(design)
    rows = stage_rows(s, args.convention)
    if args.json or args.csv:
        _print_json(s) if args.json else _print_csv(rows)
        return
    print(f"{s['name']}  Darknet cfg, {s['layers_count']} layers  input={'x'.join(map(str, s['input_shape']))}")
    print(f"params {s['params']:,}   MACs (conv+linear) {s['macs']:,}   fvcore/timm MACs {s['fvcore_macs']:,}"
          f"   CIO {s['cio']:,}")
    print(f"Darknet BFLOPs {s['darknet_bflops']:.3f} (billions of FLOPs: AlexeyAB darknet's printed Total BFLOPS; "
          f"{s['darknet_bflops_without_shortcut']:.3f} without its shortcut term, as Darknet counted in 2019)")
    if s["outputs"]:
        print("outputs (what each [yolo] layer reads): " + ", ".join(
            f"{o['scale'] or 'layer ' + str(o['layer'])} {'x'.join(map(str, o['shape']))}"
            + (f" (stride {o['stride']}, layer {o['layer']})" if o["stride"] else f" (layer {o['layer']})")
            for o in s["outputs"]))
    print(_convention_line(s, args.convention))
    _print_parts(s, args.convention)
    _print_table(rows)
    if args.trace:
        t = s["trace"]
        print(f"live trace: params {t['params']:,}, fvcore {t['fvcore']['total']:,}, graph differences "
              f"{len(t['dataflow']['differences'])}, outputs {', '.join('x'.join(map(str, o)) for o in t['outputs'])} "
              f"({t['seconds']['total']:.2f} s)")


def _convention_line(s: dict, key: str) -> str:
    """What the stage table's count column is: its convention, unit and total (the stages add up to it)."""
    c = s["conventions"][key]
    return f"count column: {c['label']}, in {c['unit']}; total {c['value']:,} {c['unit']} (--convention {key})"


def _print_parts(s: dict, key: str, twin: dict | None = None) -> None:
    """One line per part (backbone, neck, head): its stages, params and count in ``key``, with its share; with
    ``twin`` (the plain twin's summary) each part's change against the twin's same part."""
    from explorer.counts.analysis import PART_SHARE_COLUMN, part_table

    label, unit = s["conventions"][key]["label"], s["conventions"][key]["unit"]
    rows = part_table(s, key, reference=twin)
    width = max(len(r["part"]) for r in rows)
    short = REGISTRY[key].short
    for r in rows:
        vs = ""
        if twin is not None:
            vs = "   vs twin: " + ", ".join(
                f"{name} {'n/a' if r[col] is None else f'{r[col]:+.1f}%'}"
                for name, col in (("params", "params vs twin %"), (short, f"{short} vs twin %")))
        print(f"part {r['part']:<{width}}  params {r['params']:,}   {label} {r[label]:,} {unit} "
              f"({100 * r[PART_SHARE_COLUMN]:.2f} %){vs}   stages: {r['stages']}")


def _detector(args, command: str):
    """The detector a detection YAML names (``explorer.design.files.detector_from_file``), planned at
    ``--input-size`` (default 640); None for any other design, and where ``--set``, ``--trace`` or ``--blocks``
    ask for the design it opens as (a yolo_yaml design: the command then reads that, as any design's)."""
    from explorer.design.files import detector_from_file, is_detector, read_file

    if _file_format(args.design) != "yaml":
        return None
    data = read_file(args.design)
    if not is_detector(args.design, data):
        return None
    if args.set or getattr(args, "trace", False) or getattr(args, "blocks", None):
        return None
    return detector_from_file(args.design, data, args.input_size, getattr(args, "scale", None))


def _summary_detector(args, det):
    """``summary`` of a detection YAML (Ultralytics, YOLOv5, YOLOv7: explorer.io.ultralytics_det): totals, the parts
    backbone / neck / head adding up to them, one row per YAML layer; ``config`` the yolo_yaml design it opens as
    (what every other command reads: ``explorer.io.yolo_family``)."""
    from explorer.counts.analysis import stage_table
    from explorer.io.ultralytics_det import summarize_detector

    if args.fused:   # each Conv's BatchNorm folded into it, as Ultralytics' model.fuse() (explorer.counts.fuse)
        from explorer.counts.fuse import fuse_detector

        det = fuse_detector(det)
    s = summarize_detector(det, batch=args.batch)
    s["config"], s["config_error"] = _design(args).to_dict(), None   # the yolo_yaml design it opens as
    s["fused"] = args.fused
    rows = stage_table(s, args.convention)   # (its stages' modules: a column of their own)
    if args.json or args.csv:
        _print_json(s) if args.json else _print_csv(rows)
        return
    repo = {"yolov5 detector": "YOLOv5", "yolov7 detector": "YOLOv7"}.get(s["family"], "Ultralytics")
    print(f"{s['name']}  {repo} detector, {s['layers_count']} layers, {s['num_classes']} classes  "
          f"input={'x'.join(map(str, s['input_shape']))}  strides {', '.join(map(str, s['strides']))}")
    _fused_line(args)   # (dead layer outputs, Detector.warnings: printed by _design above, as any file's)
    print(f"params {s['params']:,}   MACs (conv+linear) {s['macs']:,}   {repo} GFLOPs (as "
          f"{'model.info()' if repo == 'Ultralytics' else 'model_info'} prints them"
          f"{' for the fused model' if args.fused else ''}) {s['printed_gflops']:.4f}")
    print(_convention_line(s, args.convention))
    _print_parts(s, args.convention)
    _print_table(rows)


def _fused_line(args) -> None:
    """With ``--fused``: one line saying what the counts below are of (explorer.counts.fuse.FUSED_CAPTION)."""
    if args.fused:
        from explorer.counts.fuse import FUSED_CAPTION

        print(FUSED_CAPTION)


def cmd_summary(args):
    from explorer.counts.analysis import compare_with_base, compare_with_twin, stage_table

    if _file_format(args.design) == "darknet":   # a Darknet network file, however named (explorer.design.files)
        return _summary_cfg(args)
    det = _detector(args, "summary")
    if det is not None:   # a detection YAML (Ultralytics, YOLOv5, YOLOv7): planned whole, no design
        return _summary_detector(args, det)
    cfg = _design(args)
    if args.fused and args.blocks:
        raise CLIError("summary: --fused does not apply to --blocks yet (the block rows are of the network as built)")
    cmp = compare_with_twin(cfg, batch=args.batch, fused=args.fused)
    s = cmp["design"]
    if args.trace:
        from explorer.real.trace import live_trace

        s["trace"] = live_trace(cfg)
    if args.json and not args.blocks:
        out = dict(s)
        out["twin"] = {"config": cmp["twin_config"], "deltas": cmp["deltas"], "part_deltas": cmp["part_deltas"]}
        out["base"] = _base_block(compare_with_base(cfg, _paper_base(args), batch=args.batch, fused=args.fused))
        _print_json(out)
        return
    if args.blocks:
        from explorer.counts.analysis import block_rows

        rows = block_rows(cfg, args.blocks)
        _print_json(rows) if args.json else (_print_csv(rows) if args.csv else _print_table(rows))
        return
    rows = stage_table(s, args.convention)
    if args.csv:
        _print_csv(rows)
        return
    print(f"{s['name']}  family={s['family']}  fusion={s['fusion']}  input={s['input_size']}x{s['input_size']}")
    _fused_line(args)
    print(f"params {s['params']:,}   MACs (conv+linear) {s['macs']:,}   fvcore/timm MACs {s['fvcore_macs']:,}"
          f"   CIO {s['cio']:,}")
    base = compare_with_base(cfg, _paper_base(args), batch=args.batch, fused=args.fused)
    if base is not None:
        print(f"vs paper base ({base['base_name']} @{base['input_size']}): " + _delta_line(base["deltas"]))
    elif cfg.is_csp and args.design in all_presets():
        print("no paper base: no published plain counterpart" +
              (", compared with its plain twin only" if cmp["twin"] is not None else ""))
    if cfg.is_csp and cmp["twin"] is None:   # no valid plain twin (e.g. a dense stage of an opened cfg)
        print(f"no plain twin: {cmp.get('twin_error', '')}")
    elif cfg.is_csp:
        print("vs plain twin (fusion=none): " + _delta_line(cmp["deltas"]))
    print(_convention_line(s, args.convention))
    _print_parts(s, args.convention, cmp["twin"] if cfg.is_csp else None)
    if s.get("outputs"):   # a detector design: the scales Detect reads, and its output
        print("outputs (what Detect reads): " + ", ".join(
            f"{name} {'x'.join(map(str, o))} (stride {stride})"
            for name, o, stride in zip(s["scales"], s["outputs"], s["strides"]))
            + f"; the head's output {s['output_text']}")
    _print_table(rows)
    if args.trace:
        t = s["trace"]
        print(f"live trace: params {t['params']:,}, fvcore {t['fvcore']['total']:,} "
              f"({t['seconds']['total']:.2f} s)")


def cmd_layers(args):
    """One row per layer of the plan's graph: what it reads (as a YAML's ``from``), shapes, params, counts."""
    from cspnet import plan_network
    from explorer.counts.graph import edges, layer_rows

    det = _detector(args, "layers")
    if det is not None:   # a detection YAML: its plan (explorer.design.files.detector_from_file), named as the file
        cfg, plan = det, det.plan
    else:
        cfg = _design(args)   # a preset or any network file (a Darknet cfg as a design: explorer.io.family)
        plan = plan_network(cfg)
    if args.fused:   # each conv's BatchNorm folded into it: those BatchNorm rows go, their readers read the conv
        from explorer.counts.fuse import fuse_plan

        plan = fuse_plan(plan)
    stages = [s.name for s in plan.stages]
    if args.stage and args.stage not in stages:
        raise CLIError(f"layers: --stage {args.stage!r} is not a stage of {cfg.name}; allowed: {', '.join(stages)}")
    conventions = args.convention or list(REGISTRY)
    rows = [r for r in layer_rows(plan, conventions) if not args.stage or r["stage"] == args.stage]
    if args.json:
        _print_json({"name": cfg.name, "input_shape": list(plan.input_shape), "fused": args.fused, "conventions": {
            k: {"label": REGISTRY[k].label, "unit": REGISTRY[k].unit} for k in conventions},
            "layers": rows, "edges": [e for e in edges(plan) if not args.stage or rows and
                                      rows[0]["index"] <= e["to"] <= rows[-1]["index"]]})
        return
    flat = [{**r, "from": " ".join(r["from"]), "in_shape": "x".join(map(str, r["in_shape"])),
             "out_shape": "x".join(map(str, r["out_shape"]))} for r in rows]
    if args.csv:
        _print_csv(flat)
        return
    print(f"{cfg.name}: {len(rows)} layers{' (fused: Conv+BN folded)' if args.fused else ''}; 'from' = the layers "
          "each reads ([a:b]: channels a..b-1 of it); counts: " + ", ".join(f"{k} ({REGISTRY[k].unit})"
                                                                            for k in conventions))
    _print_table(flat)


def cmd_reconcile(args):
    from explorer.real.trace import reconcile

    cfg = _design(args)
    _print_json(reconcile(cfg)) if args.json else _print_reconcile(reconcile(cfg))


def _print_reconcile(r):
    for k, v in r["counters"].items():
        print(f"{k:28s} {v:>16,}")
    print(f"fvcore - FlopCounterMode/2 = {r['difference']:,}; explained by:")
    for reason in r["reasons"]:
        print(f"  {reason['op']:22s} {reason['macs']:>14,}  ({reason['rule']})")
    if r["not_counted_by_either"]:
        print("ops neither counts: " + ", ".join(f"{k} x{v}" for k, v in r["not_counted_by_either"].items()))


def _int_list(field, text):
    try:
        vals = [int(v) for v in text.split(",") if v.strip()]
    except ValueError:
        raise ConfigError(field, f"{text!r} is not a comma-separated list of integers") from None
    if not vals:
        raise ConfigError(field, "empty")
    return tuple(vals)


def cmd_bench(args):
    from cspnet.presets import base_config
    from explorer.real.latency import BenchmarkError, BenchRequest, benchmark, compare_latency

    cfg = _design(args)
    reference = None
    if args.base:
        base = _paper_base(args)
        if base is None:
            raise CLIError(f"bench: --base: {args.design!r} has no paper base (only a CSP preset named on the "
                           "command line has one); use --twin")
        reference = base_config(base, cfg.input_size)
    paired = args.twin or reference is not None
    req = BenchRequest(device=args.device, batch_sizes=_int_list("batch", args.batch), dtype=args.dtype,
                       channels_last=args.channels_last, cuda_graphs=args.cuda_graphs,
                       compile=args.compile, warmup=args.warmup, runs=args.runs)
    progress = None
    if not args.json and sys.stderr.isatty():
        def progress(f, m):
            print(f"\r{f * 100:5.1f}% {m:40s}", end="", file=sys.stderr)
    try:
        rec = compare_latency(cfg, req, progress, reference=reference) if paired else benchmark(cfg, req, progress)
    except BenchmarkError as exc:
        raise CLIError(str(exc)) from None
    if progress:
        print(file=sys.stderr)
    if args.json:
        _print_json(rec)
        return
    design = rec["design"] if paired else rec
    env = design["environment"]
    print(f"{design['name']} on {env['device']} ({env['device_name']}), torch {env['torch']}, "
          f"dtype {req.dtype}; {design['note']}")
    rows = []
    for r in design["results"]:
        rows.append({"batch": r["batch"], "median ms": round(r["median_ms"], 3), "p10 ms": round(r["p10_ms"], 3),
                     "p90 ms": round(r["p90_ms"], 3), "img/s": round(r["throughput_img_s"], 1),
                     "TFLOP/s": round(r["achieved_tflops"], 3)})
    _print_table(rows)
    for r in design["results"]:   # a detector: the per-stage medians summed per part
        parts = r.get("per_part_ms") or {}
        if len(parts) > 2:
            total = sum(parts.values())
            print(f"per part at batch {r['batch']} (median ms of each stage, summed): " + ", ".join(
                f"{p} {ms:.3f} ({ms / total:.0%})" for p, ms in parts.items()))
    if paired:
        print(f"against {rec['reference']['label']}:")
        _print_table(rec["comparison"])


def _stage_span(names: list) -> str:
    from explorer.counts.analysis import stage_span

    return stage_span(names)


def cmd_roofline(args):
    from explorer.real.roofline import RooflineError, estimate_text, roofline

    cfg = _design(args)
    try:
        r = roofline(cfg, device=args.device, dtype=args.dtype, batch=args.batch, channels_last=args.channels_last,
                     autocast=args.autocast, implementation=args.implementation)
    except RooflineError as exc:
        raise CLIError(str(exc)) from None
    if args.json:
        _print_json(r)
        return
    dev = r["device"]
    print(f"{r['name']} @{r['input_size']}px, batch {r['batch']}, {r['setting']['label']} on {dev['name']}: "
          f"compute roof {r['peak_tflops']:.4g} TFLOP/s ({r['peak_label']}), memory roof {r['mem_bw_gbs']:.4g} GB/s, "
          f"ridge {r['ridge']:.1f} FLOP/byte")
    print(f"source: {dev['source']}")
    print(f"bytes: {r['bytes_model']}")
    rows = []
    for s in r["stages"]:
        for name, x in [(s["name"], s)] + ([(f"  {c['name']}", c) for c in s["components"]] if args.components else []):
            rows.append({"stage": name, "GFLOP": round(x["flops"] / 1e9, 3), "MB": round(x["bytes"] / 1e6, 2),
                         "concat MB": round(x["concat"] / 1e6, 2),
                         "FLOP/byte": "-" if x["intensity"] is None else round(x["intensity"], 1),
                         "bound": x["bound"], "lower bound ms": round(x["bound_ms"], 4), "kernels": x["kernels"],
                         "estimated ms": "-" if x["estimated_ms"] is None else round(x["estimated_ms"], 3)})
    t = r["total"]
    rows.append({"stage": "total", "GFLOP": round(t["flops"] / 1e9, 3), "MB": round(t["bytes"] / 1e6, 2),
                 "concat MB": round(t["concat"] / 1e6, 2), "FLOP/byte": round(t["intensity"], 1),
                 "bound": f"{t['memory_bound_share']:.0%} memory", "lower bound ms": round(t["bound_ms"], 4),
                 "kernels": t["kernels"],
                 "estimated ms": "-" if t["estimated_ms"] is None else round(t["estimated_ms"], 3)})
    _print_table(rows)
    if len(r["parts"]) > 2:   # a detector: backbone, neck and head
        for p in r["parts"]:
            est = "-" if p["estimated_ms"] is None else f"{p['estimated_ms']:.3f}"
            print(f"part {p['name']:<8}  GFLOP {p['flops'] / 1e9:.3f}   MB {p['bytes'] / 1e6:.2f}   lower bound ms "
                  f"{p['bound_ms']:.4f} ({p['bound_share']:.0%})   estimated ms {est}   stages: "
                  f"{_stage_span(p['stages'])}")
    print(estimate_text(r))


def cmd_calibration(args):
    """The GPU estimate's calibration and its error, leave-one-model-out (the README's figures)."""
    from explorer.real.roofline import error_summary

    e = error_summary(args.device)
    if args.json:
        _print_json(e)
        return
    print(f"GPU estimate on {e['device']}: leave-one-model-out over {e['points']} measured times of "
          f"{', '.join(e['models'])} (each model estimated from a fit on the other models only)")
    print(f"median |error| {e['median_abs_pct']:.1f} %, p90 {e['p90_abs_pct']:.1f} %, within ±10 %: "
          f"{e['within_10_pct']:.0%}, largest {e['max_abs_pct']:.1f} %")
    print(f"CSP / base direction right: {e['directions_right']} of {e['directions']} measured pairs; at batch 64: "
          f"{e['directions_b64_right']} of {e['directions_b64']}")
    print("efficiency per kind of kernel: " + ", ".join(f"{k} {v:.0%}" for k, v in e["efficiency"].items())
          + "; setting factors: " + ", ".join(f"{k} {v:.2f}" for k, v in e["setting_factor"].items())
          + f"; {e['kernel_us']:.2f} µs per kernel")
    print(f"a GPU without measurements (the H100 calibration on timm's RTX 4090 / 5090 times): "
          f"{e['transfer_min_pct']:+.0f} % to {e['transfer_max_pct']:+.0f} %")
    _print_table([{"model": x["model"], "px": x["input_size"], "setting": x["setting"],
                   "model code": x["implementation"], "batch": x["batch"], "measured ms": round(x["measured_ms"], 3),
                   "estimated ms": round(x["estimated_ms"], 3), "error %": round(x["error_pct"], 1)}
                  for x in e["rows"]])
    _print_table([{"CSP / base": f"{d['csp']} / {d['base']}", "px": "/".join(map(str, d["input_sizes"])),
                   "setting": d["setting"], "model code": d["implementation"], "batch": d["batch"],
                   "measured ratio": round(d["measured_ratio"], 3), "estimated ratio": round(d["estimated_ratio"], 3),
                   "right side of 1": d["right_sign"]} for d in e["direction_rows"]])


def cmd_sweep(args):
    from explorer.counts.sweep import parse_vary, sweep

    cfg = _design(args)
    if not args.vary:
        raise CLIError("sweep: give one or two --vary key=start:stop:step or key=v1,v2")
    axes = [parse_vary(v) for v in args.vary]
    df = sweep(cfg, axes, with_twin=args.twin)
    if args.csv:
        sys.stdout.write(df.to_csv(index=False))
    elif args.json:
        _print_json(df.to_dict(orient="records"))
    else:
        print(df.to_string(index=False))


def cmd_diagram(args):
    from explorer.real.export import ExportError, diagram_bytes

    cfg = _design(args)
    expand = tuple(args.expand or ())
    if args.collapse and expand:
        raise CLIError("--collapse draws every stage as one node: give it or --expand, not both")
    try:
        data = diagram_bytes(cfg, args.format, expand=expand, collapse=args.collapse)
    except ExportError as exc:
        raise CLIError(str(exc)) from None
    if args.output in (None, "-"):
        sys.stdout.buffer.write(data)
    else:
        try:
            with open(args.output, "wb") as fh:
                fh.write(data)
        except OSError as exc:
            raise CLIError(f"-o: cannot write {args.output!r}: {exc.strerror}") from None
        print(f"wrote {args.output} ({len(data):,} bytes)", file=sys.stderr)


def cmd_onnx(args):
    from explorer.real.export import ExportError, onnx_bytes

    cfg = _design(args)
    try:
        data = onnx_bytes(cfg)
        with open(args.output, "wb") as fh:
            fh.write(data)
    except ExportError as exc:
        raise CLIError(str(exc)) from None
    except OSError as exc:
        raise CLIError(f"-o: cannot write {args.output!r}: {exc.strerror}") from None
    print(f"wrote {args.output} ({len(data):,} bytes); open it in Netron", file=sys.stderr)


def cmd_export(args):
    """A design as a Darknet cfg or an Ultralytics YAML (text), to stdout or -o FILE."""
    from explorer.io.check import export

    cfg = _design(args)
    text, check = export(cfg, args.format)     # read back and compared with the design before anything is written
    if args.output in (None, "-"):
        sys.stdout.write(text)
        print(check.summary(), file=sys.stderr)
        return
    try:
        with open(args.output, "w", encoding="utf-8") as fh:
            fh.write(text)
    except OSError as exc:
        raise CLIError(f"-o: cannot write {args.output!r}: {exc.strerror}") from None
    print(f"wrote {args.output} ({len(text.encode('utf-8')):,} bytes, {args.format}); {check.summary()}",
          file=sys.stderr)


def cmd_compare(args):
    """2 to 4 designs side by side (``explorer.compare``): totals in every convention, parts, aligned stages,
    roofline on ``--device``, deltas against the first with a verdict, and what changed."""
    from explorer.compare import changed_lines, compare, footnotes, stage_table_rows, table_rows

    if not 2 <= len(args.designs) <= 4:
        raise CLIError(f"compare: designs: {len(args.designs)} given; allowed 2 to 4 (a preset, a network file "
                       "or a link's query string each)")
    r = compare(args.designs, input_size=args.input_size, device=args.device, dtype=args.dtype, batch=args.batch)
    for s in r["subjects"]:
        _warn(f"{s['label']}: {w}" for w in s["warnings"])
    if args.json:
        _print_json(r)
        return
    if args.csv:
        _print_csv(table_rows(r) + [{"section": "stages", **row} for row in stage_table_rows(r, args.convention)])
        return
    for i, s in enumerate(r["subjects"]):
        print(f"[{i + 1}] {s['label']}: {s['kind']} {s['name']} ({s['family']}), input {s['input_size']}")
    print(r["better_note"])
    totals = ("totals", "roofline", "latency")
    _print_table([{k: v for k, v in row.items() if k != "section"} for row in table_rows(r, totals, text=True)])
    for line in footnotes(r, totals):
        print(line)
    print()
    conv = REGISTRY[args.convention]
    parts = [row for row in table_rows(r, sections=("parts",), text=True)
             if row["convention"] in ("", args.convention)]
    _print_table([{k: v for k, v in row.items() if k not in ("section", "convention")} for row in parts])
    for line in footnotes(r, ("parts",)):
        print(line)
    print(f"\nstages aligned by part, output stride and order (the count column: {conv.label}, in {conv.unit}; "
          "-: no stage at this role and resolution):")
    _print_table(stage_table_rows(r, args.convention, text=True))
    for wc in r["what_changed"]:
        print(f"\nwhat changed from {wc['a']} to {wc['b']}" + (
            " (ablation walk: each change applied in order, its share of the MAC and time difference):"
            if wc.get("walk") else ":"))
        for line in changed_lines(wc):
            print(f"  {line}")


# --------------------------------------------------------------------------- the paper vs this tool
def _fmt(v, nd=2):
    return "" if v is None else f"{v:+.{nd}f}"


def cmd_published(args):
    from explorer.paper.published import families, published_csv, published_records

    if args.detection:
        return _published_detection(args)
    fam = _known_families("published", args.family, families())
    if args.csv:
        sys.stdout.write(published_csv(family=fam))
        return
    rows = published_records(family=fam)
    if args.json:
        _print_json(rows)
        return
    _print_table([{**{k: r[k] for k in ("model", "family", "params_M", "compute", "compute_unit")},
                   "res": "" if r["res"] is None else str(r["res"]),
                   **{k: r[k] for k in ("top1", "value_status", "source_group", "preset")}} for r in rows])


def _known_families(command: str, asked, known) -> list | None:
    """``--family`` values (None: all), each one of ``known``, or a one-line error naming the unknown ones."""
    if not asked:
        return None
    unknown = [f for f in asked if f not in known]
    if unknown:
        raise CLIError(f"{command}: --family: unknown {', '.join(map(repr, unknown))}; known: {', '.join(known)}")
    return asked


def _published_detection(args):
    """``published --detection``: the COCO detection rows, each with its source and counting convention."""
    from explorer.paper.detection import CLI_COLUMNS, detection_csv, detection_families, detection_records

    fam = _known_families("published --detection", args.family, detection_families())
    if args.csv:
        sys.stdout.write(detection_csv(family=fam))
        return
    rows = detection_records(family=fam)
    if args.json:
        _print_json(rows)
        return
    _print_table([{k: "" if r[k] is None else r[k] for k in CLI_COLUMNS} for r in rows])


def cmd_reproduce(args):
    from explorer.paper.reproduce import (
        DETECTION_DATASET,
        reproduce,
        reproduce_detection,
        reproduce_detection_table,
        reproduce_table,
    )

    records, detection = reproduce(), reproduce_detection()
    if args.json:   # the ImageNet records, then the COCO detection ones (each with "dataset": "coco")
        _print_json(records + detection)
    elif args.csv:
        _print_csv([{"dataset": "imagenet", **r} for r in reproduce_table(records)]
                   + [{"dataset": DETECTION_DATASET, **r} for r in reproduce_detection_table(detection)])
    else:
        rows = reproduce_table(records)
        _print_table([{k: v for k, v in r.items() if k != "reason"} for r in rows])
        print("\nreasons:")
        for r in rows:
            if r["reason"]:
                print(f"  {r['model']}: {r['reason']}")
        built = [r for r in reproduce_detection_table(detection) if r["preset"]]
        print("\nCOCO detection rows a preset builds (each in its own row's convention):")
        _print_table([{k: v for k, v in r.items() if k != "reason"} for r in built])
        print("\nreasons:")
        for r in built:
            print(f"  {r['model']}: {r['reason']}")
        unbuilt: dict = {}
        for r in detection:
            if not r["preset"]:
                unbuilt.setdefault(r["preset_note"], []).append(r["model"])
        print(f"\nCOCO detection rows no preset builds ({sum(map(len, unbuilt.values()))}):")
        for note, models in unbuilt.items():
            print(f"  {note}: {', '.join(dict.fromkeys(models))}")


def cmd_claims(args):
    from explorer.paper.reproduce import claims
    from explorer.real.measure import measure_latency

    result = claims(measure=None if args.no_latency else measure_latency)
    if args.json:
        _print_json(result)
        return
    for c in result:
        print(f"* {c['claim']}\n  verdict: {c['verdict']}\n  {c['reason']}\n  ({c['accuracy']})\n")


def cmd_ablation(args):
    from explorer.paper.reproduce import fusion_ablation

    a = fusion_ablation()
    if args.json:
        _print_json(a)
        return
    b = a["base"]
    print(f"CSPNet paper Figure 4 (compute) vs this tool; base {b['label']}: this tool {b['macs'] / 1e6:.1f}M MACs "
          f"= {b['bflops']:.3f} BFLOPs, paper {b['paper_bflops']} BFLOPs at 224x224")
    _print_table([{"variant": r["label"], "preset": r["preset"], "BFLOPs (tool)": round(r["bflops"], 3),
                   "change (tool) %": _fmt(r["tool_delta_pct"], 1), "BFLOPs (paper)": r["paper_bflops"],
                   "change (paper) %": _fmt(r["paper_delta_pct"], 1), "paper top-1 delta": r["paper_top1_delta"],
                   "paper value": r["paper_status"]} for r in a["rows"]])
    print(f"\ncheapest first: tool {a['ordering']['tool']}; paper {a['ordering']['paper']}")
    for r in a["rows"]:
        print(f"\n{r['label']}: {r['why']}")
    print("\n" + "\n".join(a["notes"]))


def build_parser() -> argparse.ArgumentParser:
    p = _Parser(prog="python -m explorer", description="CSPNet Explorer command line")
    sub = p.add_subparsers(dest="command", parser_class=_Parser)
    sp = sub.add_parser("presets", help="list the presets with their parameter counts")
    g = sp.add_mutually_exclusive_group()
    g.add_argument("--json", action="store_true")
    g.add_argument("--csv", action="store_true")
    sp.set_defaults(func=cmd_presets)

    sp = sub.add_parser("fields", help="the design fields (knobs): who reads them, allowed values, meaning")
    sp.add_argument("--family", choices=list(FAMILIES), help="only the fields this family reads")
    fmt = sp.add_mutually_exclusive_group()
    fmt.add_argument("--json", action="store_true")
    fmt.add_argument("--csv", action="store_true")
    fmt.add_argument("--markdown", action="store_true", help="the README's field table")
    sp.set_defaults(func=cmd_fields)

    sp = sub.add_parser("summary", help="per-stage shapes, params, MACs, CIO, memory, deltas vs the plain twin "
                                        "and (a CSP preset) vs its paper base")
    _add_design_args(sp)
    sp.add_argument("--batch", type=int, default=1, help="batch size for activation memory")
    sp.add_argument("--convention", default="macs", choices=list(REGISTRY),
                    help="the counting convention of the stage table's count column (every registered one; "
                         "--json lists them all under 'conventions')")
    sp.add_argument("--trace", action="store_true", help="also build the model and check with hooks + fvcore")
    sp.add_argument("--fused", action="store_true", help=FUSED_HELP)
    sp.add_argument("--blocks", metavar="STAGE", default=None,
                    help="per-block rows of one stage instead, e.g. --blocks stages.2")
    g = sp.add_mutually_exclusive_group()
    g.add_argument("--json", action="store_true")
    g.add_argument("--csv", action="store_true")
    sp.set_defaults(func=cmd_summary)

    sp = sub.add_parser("layers", help="every layer of the network graph: what it reads (by index, with channel "
                                       "slices), its group, shapes, params and its cost in each convention")
    _add_design_args(sp)
    sp.add_argument("--stage", default=None, help="only this stage's layers, e.g. --stage stages.1")
    sp.add_argument("--fused", action="store_true", help=FUSED_HELP)
    sp.add_argument("--convention", action="append", choices=list(REGISTRY), default=None,
                    help="a counting convention column (repeatable; default: every registered one)")
    g = sp.add_mutually_exclusive_group()
    g.add_argument("--json", action="store_true", help="layers and the graph's edges")
    g.add_argument("--csv", action="store_true")
    sp.set_defaults(func=cmd_layers)

    sp = sub.add_parser("reconcile", help="fvcore vs FlopCounterMode vs analytic, and why they differ")
    _add_design_args(sp)
    sp.add_argument("--json", action="store_true")
    sp.set_defaults(func=cmd_reconcile)

    sp = sub.add_parser("bench", help="measured latency (CPU, or CUDA when present), whole model and per stage")
    _add_design_args(sp)
    sp.add_argument("--device", default="cpu", choices=["cpu", "cuda"])
    sp.add_argument("--batch", default="1", help="batch sizes, e.g. 1,8,64")
    sp.add_argument("--dtype", default="fp32", choices=["fp32", "bf16", "fp16"])
    sp.add_argument("--channels-last", action="store_true")
    sp.add_argument("--cuda-graphs", action="store_true", help="replay a CUDA graph (GPU time without launch overhead)")
    sp.add_argument("--compile", action="store_true", help="torch.compile the model first")
    sp.add_argument("--warmup", type=int, default=3)
    sp.add_argument("--runs", type=int, default=10)
    g = sp.add_mutually_exclusive_group()
    g.add_argument("--twin", action="store_true", help="also measure the plain twin in the same queue slot")
    g.add_argument("--base", action="store_true",
                   help="also measure the paper base (e.g. resnet50 for cspresnet50, at the design's input size)")
    sp.add_argument("--json", action="store_true")
    sp.set_defaults(func=cmd_bench)

    sp = sub.add_parser("roofline", help="per stage: FLOPs, bytes moved, intensity, the compute or memory bound, "
                                         "the lower-bound time and an estimate on a GPU")
    _add_design_args(sp)
    sp.add_argument("--device", default="h100", type=str.lower,
                    help="cpu (this machine, measured) or a GPU of the table: h100, h100_pcie, h200, a100, l4, t4, "
                         "rtx4090, rtx5090")
    sp.add_argument("--dtype", default="fp32", choices=["fp32", "bf16", "fp16"],
                    help="bf16/fp16: the model and input cast, as model.to(dtype=torch.bfloat16) (see --autocast)")
    sp.add_argument("--channels-last", action="store_true",
                    help="the model and input in channels_last (model.to(memory_format=torch.channels_last))")
    sp.add_argument("--autocast", action="store_true", help="bf16/fp16 as torch.autocast instead of the model cast")
    sp.add_argument("--implementation", default="cspnet", choices=["cspnet", "timm"],
                    help="whose modules: this project's (default) or timm's (its CrossStage converts a channels_last "
                         "tensor to NCHW after the partial transition)")
    sp.add_argument("--batch", type=int, default=1)
    sp.add_argument("--components", action="store_true", help="also one row per component of each stage")
    sp.add_argument("--json", action="store_true")
    sp.set_defaults(func=cmd_roofline)

    sp = sub.add_parser("calibration", help="the GPU estimate's calibration and its error on models the fit never "
                                            "saw (leave-one-model-out: median, p90, within 10 %%, CSP/base directions)")
    sp.add_argument("--device", default="h100", choices=["h100", "rtx4090", "rtx5090"])
    sp.add_argument("--json", action="store_true")
    sp.set_defaults(func=cmd_calibration)

    sp = sub.add_parser("diagram", help="architecture diagram as DOT, SVG or PNG")
    _add_design_args(sp)
    sp.add_argument("--format", default="svg", choices=["dot", "svg", "png"])
    sp.add_argument("-o", "--output", default=None, help="output file (default: stdout)")
    sp.add_argument("--expand", action="append", metavar="STAGE",
                    help="show a stage at block level, e.g. --expand stages.1 (or --expand all)")
    sp.add_argument("--collapse", action="store_true",
                    help="every stage one node (its role, block, repeats and output shape), with the edges "
                         "between stages: a detector's FPN/PAN and its lateral edges at a glance")
    sp.set_defaults(func=cmd_diagram)

    sp = sub.add_parser("onnx", help="export the model as ONNX (random weights) to open in Netron")
    _add_design_args(sp)
    sp.add_argument("-o", "--output", required=True)
    sp.set_defaults(func=cmd_onnx)

    sp = sub.add_parser("export", help="the design as a Darknet cfg or an Ultralytics YAML (refused, one line, "
                        "where a block has no such layer)")
    _add_design_args(sp)
    sp.add_argument("--format", required=True, choices=["darknet", "ultralytics"])
    sp.add_argument("-o", "--output", default=None, help="output file (default: stdout)")
    sp.set_defaults(func=cmd_export)

    sp = sub.add_parser("sweep", help="vary one or two knobs; analytic params/MACs/CIO per design")
    _add_design_args(sp)
    sp.add_argument("--vary", action="append", default=[], metavar="KEY=RANGE",
                    help="key=start:stop:step (stop included) or key=v1,v2; repeats lists use ';' between designs")
    sp.add_argument("--twin", action="store_true", help="add %% change against each design's plain twin")
    g = sp.add_mutually_exclusive_group()
    g.add_argument("--json", action="store_true")
    g.add_argument("--csv", action="store_true")
    sp.set_defaults(func=cmd_sweep)

    sp = sub.add_parser("compare", help="2 to 4 designs side by side: totals in every convention, parts, stages "
                                        "aligned by resolution, roofline, deltas against the first, what changed")
    sp.add_argument("designs", nargs="+", metavar="DESIGN",
                    help="2 to 4: a preset name, a network file (design .json, Darknet .cfg, Ultralytics .yaml, a "
                         "detection .yaml) or a link's query string ('?preset=yolov8n_cls&width_multiple=0.5')")
    sp.add_argument("--input-size", type=int, default=None, help="every design at this input size (square)")
    sp.add_argument("--device", default="h100", type=str.lower,
                    help="the roofline's device: a GPU of the table (h100, h100_pcie, h200, a100, l4, t4, rtx4090, "
                         "rtx5090) or cpu (this machine, measured: seconds)")
    sp.add_argument("--dtype", default="fp32", choices=["fp32", "bf16", "fp16"])
    sp.add_argument("--batch", type=int, default=1, help="batch size of the roofline and the activation memory")
    sp.add_argument("--convention", default="macs", choices=list(REGISTRY),
                    help="the count column of the part and stage tables (the totals list every convention)")
    g = sp.add_mutually_exclusive_group()
    g.add_argument("--json", action="store_true", help="everything, with what_changed")
    g.add_argument("--csv", action="store_true")
    sp.set_defaults(func=cmd_compare)

    sp = sub.add_parser("published", help="the published accuracy/compute data set, with sources")
    sp.add_argument("--family", action="append", default=[], metavar="FAMILY",
                    help="only this family (repeatable), e.g. --family PeleeNet")
    sp.add_argument("--detection", action="store_true",
                    help="the COCO detection rows (AP, params, compute in each source's own convention) instead "
                         "of the ImageNet ones")
    g = sp.add_mutually_exclusive_group()
    g.add_argument("--json", action="store_true")
    g.add_argument("--csv", action="store_true")
    sp.set_defaults(func=cmd_published)

    sp = sub.add_parser("reproduce", help="every published row a preset builds (ImageNet, then COCO detection): "
                                          "published vs this tool's count at the same resolution and in the "
                                          "same convention")
    g = sp.add_mutually_exclusive_group()
    g.add_argument("--json", action="store_true")
    g.add_argument("--csv", action="store_true")
    sp.set_defaults(func=cmd_reproduce)

    sp = sub.add_parser("claims", help="the common CSPNet claims, what this tool computes/measures, and a verdict")
    sp.add_argument("--json", action="store_true")
    sp.add_argument("--no-latency", action="store_true", help="skip the CPU latency measurement")
    sp.set_defaults(func=cmd_claims)

    sp = sub.add_parser("ablation", help="the paper's Figure 4 fusion ablation (compute) vs this tool")
    sp.add_argument("--json", action="store_true")
    sp.set_defaults(func=cmd_ablation)
    return p


def main(argv=None) -> int:
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
        if not getattr(args, "command", None):
            raise CLIError("python -m explorer: a command is required (try --help)")
        batch = getattr(args, "batch", 1)
        if isinstance(batch, int) and not 1 <= batch <= 4096:
            raise ConfigError("batch", f"{args.batch} is not allowed; allowed integers 1 to 4096")
        args.func(args)
        return 0
    except ConfigError as exc:
        print(f"error: {exc}", file=sys.stderr)
    except CLIError as exc:
        print(f"error: {exc}", file=sys.stderr)
    except BrokenPipeError:
        return 0
    except OSError as exc:   # a file that is missing, a directory, unreadable: the user's input, one line
        what = {FileNotFoundError: "no such file", IsADirectoryError: "is a directory, not a file",
                PermissionError: "not readable (permission denied)"}.get(type(exc), exc.strerror or str(exc))
        print(f"error: {exc.filename or 'file'}: {what}", file=sys.stderr)
    except KeyboardInterrupt:
        return 130
    except Exception as exc:  # a bug, not bad input: still one line, never a traceback
        print(f"error: internal error ({type(exc).__name__}: {str(exc)[:200]}); please report it",
              file=sys.stderr)
        return 1
    return EXIT_USAGE


__all__ = ["main", "build_parser"]
