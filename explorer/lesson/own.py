"""Every step on your own design (issue 21, item 10): the design open on the Design page (a preset, an edited
design or an opened file), read with the step's idea where the step applies, and a plain sentence where it
does not.  Whole networks, every stage: the numbers come from the same engine as the lesson's small stage
(``cspnet.plan_network``, ``explorer.counts.analysis``, ``explorer.real.roofline``).

``own_step(step_key, cfg)`` returns ``{"applies", "why", "text", "rows"}``: ``why`` says in words why the
step does not apply (and what to change on the Design page for it to apply), ``rows`` one dict per stage
(or per layout, device) for a table, ``text`` one sentence with the design's numbers.
"""
from __future__ import annotations

from cspnet import ConfigError, CSPConfig, plan_network
from cspnet.config import family_fields
from explorer.counts.analysis import compare_with_twin, summarize
from explorer.lesson.designs import FUSION_NAMES, FUSION_ORDER, ROOF_DEVICE_NAMES, ROOF_DEVICES, _pct, _plural

LINEAGE_FAMILIES = {"yolov5": "C3", "yolov8": "C2f", "yolov7": "ELAN"}


def _stages(cfg: CSPConfig) -> list:
    return [s for s in plan_network(cfg).stages if s.kind not in ("stem", "head")]


def _named(cfg: CSPConfig) -> str:
    return f"{cfg.name} ({cfg.family})"


def _dense_layers(sp) -> list:
    """The dense layers of one stage: per layer how many maps it reads (its concat's inputs)."""
    layers: dict = {}
    for op in sp.ops:
        parts = op.path.split(".")
        seg = next((p for p in parts if p.startswith("denselayer")), None)
        if seg is None:
            continue
        j = int(seg[len("denselayer"):])
        d = layers.setdefault(j, {"reads": 1, "in_channels": None})
        if op.kind == "cat":
            d["reads"], d["in_channels"] = len(op.in_shapes), op.out_shape[0]
        elif op.kind == "conv" and d["in_channels"] is None:
            d["in_channels"] = op.in_shape[0]
    return [layers[j] for j in sorted(layers)]


def _vs_twin(cfg: CSPConfig) -> tuple:
    cmp = compare_with_twin(cfg)
    d, t = cmp["design"], cmp.get("twin") or cmp["design"]
    return d, t


def _has_twin(cfg: CSPConfig) -> bool:
    """Whether the design has a plain twin other than itself (an opened Darknet cfg's is its CSP stages rewritten
    as plain stages, ``explorer.io.rewrite.plain_twin``; a detection YAML's its CSP modules planned plain)."""
    try:     # (a family refuses a twin it has not: a dense stage of an opened cfg has no plain layout)
        return cfg.twin() != cfg
    except ConfigError:
        return False


def _against_twin(cfg: CSPConfig, metrics=("macs", "params")) -> str:
    """'against its plain twin it has +8.6 % MACs and +7.4 % parameters', or why there is no twin."""
    if not _has_twin(cfg):
        return ("it has no plain twin to compare with (a design without CSP is its own twin; a network with a CSP "
                "stage that has no plain layout, such as an opened cfg's dense stage, has none)")
    d, t = _vs_twin(cfg)
    words = {"macs": "MACs", "params": "parameters", "cio": "CIO"}
    return "against its plain twin it has " + " and ".join(f"{_pct(d[m], t[m]):+.1f} % {words[m]}" for m in metrics)


def _own_dense(cfg):
    rows = []
    for sp in _stages(cfg):
        layers = _dense_layers(sp)
        if layers:
            rows.append({"stage": sp.name, "dense layers m": len(layers), "layers that read x₀": len(layers),
                         "feature-map reads": sum(L["reads"] for L in layers),
                         "last layer reads (channels)": layers[-1]["in_channels"]})
    if not rows:
        return {"applies": False, "rows": [], "text": "",
                "why": f"Your design {_named(cfg)} has no dense block: no layer reads the concatenation of all "
                       "earlier feature maps, so step 1 does not apply (its duplicated gradients arise inside a "
                       "dense block). Open a DenseNet or PeleeNet preset on the Design page to see them."}
    reads = sum(r["feature-map reads"] for r in rows)
    return {"applies": True, "why": "", "rows": rows,
            "text": f"Your design {_named(cfg)}: {_plural(len(rows), 'dense block')}, {reads:,} feature-map reads "
                    f"in all; the deepest has {max(r['dense layers m'] for r in rows)} layers, each of which sends "
                    "gradient back into its block input."}


def _own_split(cfg):
    rows = []
    for sp in _stages(cfg):
        if "part2" in sp.taps:
            c = sp.taps.get("expand", sp.taps["input"])[0]
            p1 = sp.taps["part1"][0] if "part1" in sp.taps else 0
            p2 = sp.taps["part2"][0]
            rows.append({"stage": sp.name, "channels split": c, "part 1 (bypass)": p1, "part 2 (block)": p2,
                         "γ (bypass share)": round(p1 / c, 4) if c else None})
    if not rows:
        return {"applies": False, "rows": [], "text": "",
                "why": f"Your design {_named(cfg)} splits no stage (it is not a CSP design, or its family has no "
                       "split): step 2 does not apply. Switch its fusion strategy to a CSP one on the Design page."}
    return {"applies": True, "why": "", "rows": rows,
            "text": f"Your design {_named(cfg)} splits {_plural(len(rows), 'stage')}; {_against_twin(cfg)}"
                    + (" (whole network)." if _has_twin(cfg) else ".")}


def _own_transition(cfg):
    try:
        twin = {s.name: s for s in _stages(cfg.twin())}
    except ConfigError:
        twin = {}
    rows = []
    for sp in _stages(cfg):
        if "partial_transition" in sp.taps:
            out = sp.taps["output"][0]
            plain = twin[sp.name].taps["output"][0] if sp.name in twin else None
            rows.append({"stage": sp.name, "block out": sp.taps["block"][0],
                         "partial transition out": sp.taps["partial_transition"][0],
                         "concat": sp.taps["concat"][0] if "concat" in sp.taps else None, "stage out": out,
                         "plain twin out": plain})
    if not rows:
        return {"applies": False, "rows": [], "text": "",
                "why": f"Your design {_named(cfg)} has no partial transition (its stages are fusion first or "
                       "fusion last, or not CSP at all): step 3 does not apply. Full CSP has one."}
    wider = [r["stage"] for r in rows if r["plain twin out"] is not None and r["stage out"] != r["plain twin out"]]
    text = f"Your design {_named(cfg)} has {_plural(len(rows), 'partial transition')}; {_against_twin(cfg, ('macs',))}"
    if _has_twin(cfg):
        text += (f"; {', '.join(wider)} output another width than the twin's, so part of that change is the width"
                 if wider else "; every stage keeps the twin's width")
    return {"applies": True, "why": "", "rows": rows, "text": text + "."}


def _own_fusion(cfg):
    if "fusion" not in family_fields(cfg.family):
        return {"applies": False, "rows": [], "text": "",
                "why": f"Your design {_named(cfg)} has no fusion strategies to choose (its family has no fusion "
                       "field, e.g. a network read from a file): step 4 does not apply."}
    base = summarize(cfg.replace(fusion="none"))
    rows = []
    for f in FUSION_ORDER:
        try:
            s = summarize(cfg.replace(fusion=f))
        except ConfigError as exc:
            rows.append({"layout": FUSION_NAMES[f], "MACs": None, "MACs %": None, "parameters %": None,
                         "CIO %": None, "note": str(exc)})
            continue
        rows.append({"layout": FUSION_NAMES[f], "MACs": s["macs"], "MACs %": _pct(s["macs"], base["macs"]),
                     "parameters %": _pct(s["params"], base["params"]), "CIO %": _pct(s["cio"], base["cio"]),
                     "note": "your design's" if f == cfg.fusion else ""})
    ok = [r for r in rows if r["MACs"] is not None and r["layout"] != FUSION_NAMES["none"]]
    best = min(ok, key=lambda r: r["MACs"]) if ok else None
    return {"applies": True, "why": "", "rows": rows,
            "text": f"Your design {_named(cfg)} in each layout, against the same network without CSP"
                    + (f": the fewest MACs with {best['layout']} ({best['MACs %']:+.1f} %)." if best else ".")}


def _own_cio(cfg, cpu_peaks=None):
    from explorer.real.roofline import cpu_device, get_device, traffic

    twin_cfg = cfg.twin() if _has_twin(cfg) else cfg
    stages = {"design": traffic(cfg, 1, "fp32"), "twin": traffic(twin_cfg, 1, "fp32")}
    tot = {k: {m: sum(s[m] for s in st) for m in ("flops", "bytes")} for k, st in stages.items()}
    rows = []
    for key in ROOF_DEVICES:
        dev = cpu_device(cpu_peaks) if key == "cpu" else get_device(key)
        peak, bw = dev.peak("fp32")[0] * 1e12, dev.mem_bw_gbs * 1e9
        # the Latency page's bound: each stage's max(FLOPs / peak, bytes / bandwidth), added up
        b = {k: sum(max(s["flops"] / peak, s["bytes"] / bw) for s in st) * 1e3 for k, st in stages.items()}
        rows.append({"device": ROOF_DEVICE_NAMES[key], "ridge (FLOP/byte)": dev.ridge("fp32"),
                     "your design (FLOP/byte)": tot["design"]["flops"] / tot["design"]["bytes"],
                     "bound ms": b["design"], "plain twin ms": b["twin"], "change %": _pct(b["design"], b["twin"])})
    return {"applies": True, "why": "", "rows": rows,
            "text": f"Your design {_named(cfg)}, whole network, fp32, batch 1, each stage's bound added up as on "
                    f"the Latency page; {_against_twin(cfg, ('cio', 'macs'))}; the table gives each device's time "
                    "bound."}


def _own_lineage(cfg):
    if cfg.family not in LINEAGE_FAMILIES:
        return {"applies": False, "rows": [], "text": "",
                "why": f"Your design {_named(cfg)} is not built from C3, C2f or ELAN stages: step 6 does not apply. "
                       "Open yolov5s_cls, yolov8n_cls or yolov7_backbone on the Design page."}
    rows = []
    for sp in _stages(cfg):
        if "concat" in sp.taps:
            rows.append({"stage": sp.name, "part 2": sp.taps["part2"][0] if "part2" in sp.taps else None,
                         "blocks n": sp.repeats, "concat (channels)": sp.taps["concat"][0],
                         "stage out": sp.taps["output"][0]})
    return {"applies": True, "why": "", "rows": rows,
            "text": f"Your design {_named(cfg)} is built from {LINEAGE_FAMILIES[cfg.family]} stages "
                    f"(taps: {', '.join(sorted(set(_as_tuple(getattr(cfg, 'taps', ())))))}): the table gives "
                    "each stage's concat, which its "
                    "transition reads."}


def _as_tuple(v) -> tuple:
    return v if isinstance(v, tuple) else (v,)


def own_step(step_key: str, cfg: CSPConfig, cpu_peaks: dict | None = None) -> dict:
    """Step ``step_key`` on ``cfg`` (the design open on the Design page): ``{"applies", "why", "text", "rows"}``."""
    fn = {"dense": _own_dense, "split": _own_split, "transition": _own_transition, "fusion": _own_fusion,
          "cio": lambda c: _own_cio(c, cpu_peaks), "lineage": _own_lineage}.get(step_key)
    if fn is None:
        raise KeyError(f"step: {step_key!r} is no lesson step")
    return fn(cfg)
