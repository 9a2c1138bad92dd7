"""Step 5's memory traffic and time: the four layouts of step 4 (plain, fusion first, fusion last, full CSP)
built at step 5's sliders (c, m, k), on the roofline of three devices: this machine's CPU (measured by
``explorer.real.roofline.measure_cpu``), an H100 and a small GPU (a T4, 70 W) from the device table
(``explorer/real/data/devices.csv``).  Each layout's FLOPs and bytes are ``explorer.real.roofline.traffic``'s
for the lesson's stage (fp32, batch 1), and its time bound is ``max(FLOPs / peak, bytes / bandwidth)``: the
same model as the Latency page's roofline.  Pure Python: measuring the CPU imports torch, when called.
"""
from __future__ import annotations

from explorer.counts.analysis import summarize
from explorer.lesson.designs import (
    FUSION_NAMES,
    FUSION_ORDER,
    FUSION_SETTINGS,
    ROOF_CPU,
    ROOF_DEVICE_NAMES,
    ROOF_DEVICES,
    STAGE,
    _stage_summary,
    lesson_design,
)
from explorer.lesson.steps import defaults

CPU = ROOF_CPU
DEVICES = ROOF_DEVICES
DEVICE_NAMES = ROOF_DEVICE_NAMES
DTYPE = "fp32"
BATCH = 1


def layout_design(fusion: str, values: dict | None = None):
    """The lesson's stage at step 5's c, m, k in one of step 4's layouts (with step 4's settings)."""
    v = {**defaults("cio"), **(values or {})}
    return lesson_design(fusion=fusion, stem_channels=int(v["c"]), repeats=(int(v["m"]),),
                         growth_rate=int(v["k"]), name=f"lesson_{fusion}", **FUSION_SETTINGS.get(fusion, {}))


def layout_points(values: dict | None = None) -> list:
    """Per layout at step 5's sliders: MACs, CIO (elements), the roofline's FLOPs and bytes (fp32, batch 1)
    and the intensity FLOP per byte.  [{"fusion", "name", "macs", "cio", "flops", "bytes", "intensity"}]."""
    from explorer.real.roofline import traffic

    out = []
    for f in FUSION_ORDER:
        cfg = layout_design(f, values)
        s = _stage_summary(summarize(cfg))
        t = next(x for x in traffic(cfg, BATCH, DTYPE) if x["name"] == STAGE)
        out.append({"fusion": f, "name": FUSION_NAMES[f], "macs": s["macs"], "cio": s["cio"], "flops": t["flops"],
                    "bytes": t["bytes"], "intensity": t["flops"] / t["bytes"] if t["bytes"] else None})
    return out


def device(key: str, cpu_peaks: dict | None = None):
    """A roofline Device: this CPU from ``cpu_peaks`` (``measure_cpu``'s dict; measured when None) or a GPU."""
    from explorer.real.roofline import cpu_device, get_device

    if key not in DEVICES:
        raise ValueError(f"device: {key!r} is not one of the lesson's devices; allowed: {', '.join(DEVICES)}")
    return cpu_device(cpu_peaks) if key == CPU else get_device(key)


def layout_roofline(values: dict | None, key: str, cpu_peaks: dict | None = None, points: list | None = None) -> dict:
    """The four layouts on ``key``'s roofline: the device's roofs and ridge, and per layout its time bound
    (µs), which roof bounds it and whether it is the fastest.  ``{"key", "name", "device_name", "peak_tflops",
    "mem_bw_gbs", "ridge", "rows", "fastest"}``."""
    dev = device(key, cpu_peaks)
    peak, label = dev.peak(DTYPE)
    bw = dev.mem_bw_gbs
    rows = []
    for p in points if points is not None else layout_points(values):
        t_c, t_m = p["flops"] / (peak * 1e12) * 1e6, p["bytes"] / (bw * 1e9) * 1e6
        rows.append({**p, "compute_us": t_c, "memory_us": t_m, "bound_us": max(t_c, t_m),
                     "bound": "compute" if t_c >= t_m else "memory"})
    fastest = min(rows, key=lambda r: r["bound_us"])["fusion"]
    for r in rows:
        r["fastest"] = r["fusion"] == fastest
    return {"key": key, "name": DEVICE_NAMES[key], "device_name": dev.name, "peak_tflops": peak, "peak_label": label,
            "mem_bw_gbs": bw, "ridge": dev.ridge(DTYPE), "rows": rows, "fastest": fastest,
            "cpu_peaks": cpu_peaks if key == CPU else None}


def all_rooflines(values: dict | None = None, cpu_peaks: dict | None = None) -> list:
    """:func:`layout_roofline` on each of the three devices (the layouts' traffic computed once)."""
    pts = layout_points(values)
    return [layout_roofline(values, k, cpu_peaks, pts) for k in DEVICES]


def macs_fall_time_does_not(roofs: list) -> dict | None:
    """A layout with fewer MACs than the plain stage whose time bound is not lower, on one of the devices
    (the largest such rise), or None: ``{"device", "fusion", "macs_pct", "bound_pct", "bytes_pct", "bound"}``."""
    best = None
    for roof in roofs:
        plain = next(r for r in roof["rows"] if r["fusion"] == "none")
        for r in roof["rows"]:
            if r["fusion"] == "none" or r["macs"] >= plain["macs"] or r["bound_us"] < plain["bound_us"]:
                continue
            case = {"device": roof["key"], "device_name": roof["name"], "fusion": r["fusion"],
                    "macs_pct": 100.0 * (r["macs"] - plain["macs"]) / plain["macs"],
                    "bound_pct": 100.0 * (r["bound_us"] - plain["bound_us"]) / plain["bound_us"],
                    "bytes_pct": 100.0 * (r["bytes"] - plain["bytes"]) / plain["bytes"], "bound": r["bound"]}
            if best is None or case["bound_pct"] > best["bound_pct"]:
                best = case
    return best


# where the sliders' defaults show no such case, this one does (the issue's example: a wide, shallow block)
EXAMPLE = {"c": 512, "m": 1, "k": 8}


def _cpu_peaks(roofs: list) -> dict | None:
    """The CPU figures ``roofs`` were drawn with, in ``measure_cpu``'s shape (to draw another case the same)."""
    roof = next((r for r in roofs if r["key"] == CPU), None)
    return None if roof is None else roof.get("cpu_peaks")


def roofline_text(roofs: list, values: dict | None = None) -> str:
    """Plain words, computed: which roof bounds the layouts on each device (the ridge against their
    intensity), the fastest layout, and a case where the MACs fall and the time bound does not."""
    v = {**defaults("cio"), **(values or {})}
    lo = min(r["intensity"] for r in roofs[0]["rows"])
    hi = max(r["intensity"] for r in roofs[0]["rows"])
    bits = []
    for roof in roofs:
        kinds = {r["bound"] for r in roof["rows"]}
        regime = (f"all {kinds.pop()}-bound" if len(kinds) == 1 else "some compute-bound, some memory-bound")
        bits.append(f"{roof['name']}: ridge {roof['ridge']:.1f} FLOP/byte, {regime}, fastest "
                    f"{FUSION_NAMES[roof['fastest']].split(' (')[0]}")
    text = (f"At c = {v['c']}, m = {v['m']}, k = {v['k']} the layouts do {lo:.1f} to {hi:.1f} FLOP per byte moved "
            "(fp32, batch 1).  A layout is memory-bound on a device whose ridge (peak FLOP/s ÷ bytes/s) is above "
            "its intensity, compute-bound below: " + "; ".join(bits) + ".  So whether a device is "
            "memory-bound is not a property of CPUs or GPUs: it is the ridge against the layout's intensity, the "
            "same bound the Latency page's roofline draws for whole networks.")
    case = macs_fall_time_does_not(roofs)
    where = "Here"
    if case is None and {k: v[k] for k in EXAMPLE} != EXAMPLE:
        case = macs_fall_time_does_not(all_rooflines(EXAMPLE, _cpu_peaks(roofs)))
        where = ("At these sliders every layout with fewer MACs than the plain stage also has a lower time bound; "
                 f"at c = {EXAMPLE['c']}, m = {EXAMPLE['m']}, k = {EXAMPLE['k']} (a wide base, a shallow block)")
    if case:
        text += (f"  {where} MACs fall and the time bound does not: on {case['device_name']} "
                 f"{FUSION_NAMES[case['fusion']].split(' (')[0]} has {case['macs_pct']:+.1f} % MACs against the plain "
                 f"stage but {case['bytes_pct']:+.1f} % bytes, and being {case['bound']}-bound its time bound is "
                 f"{case['bound_pct']:+.1f} %.")
    return text
