"""The live numbers each step shows (``step_numbers``), computed from the engine for the learner's
values; the paper's CIO formula and step 5's reconciliation table; the compute story (a stage's MACs per
component against its plain twin); which numbers a prediction hides until it is revealed.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

from cspnet import CSPConfig
from explorer.counts.analysis import summarize
from explorer.lesson.designs import (
    PLAIN,
    STAGE,
    _pct,
    _plural,
    _stage,
    _stage_summary,
    _twin_stage,
    dense_layers,
    feature_reads,
    plan_cio_channels,
    stage_cio_parts,
)
from explorer.lesson.lineage import c2f_effects_text, dense_block_out, lineage_rows
from explorer.lesson.steps import defaults, get_step, step_design


@dataclass(frozen=True)
class Number:
    """One live number: ``value`` in ``unit`` ('' for a count), an optional % change vs a reference."""

    label: str
    value: float
    unit: str = ""
    delta_pct: float | None = None
    help: str = ""
    lower_is_better: bool = True


def cio_formula(c: int, m: int, k: int) -> dict:
    """The paper's formulas (which write the growth rate ``k`` as *d*): dense block
    ``c*m + (m^2+m)*k/2``; partial dense block (half of the ``c`` base channels enter)
    ``((c*m) + (m^2+m)*k)/2``."""
    dense = c * m + (m * m + m) * k / 2
    partial = ((c * m) + (m * m + m) * k) / 2
    return {"dense": dense, "partial": partial, "saving_pct": 100.0 * (dense - partial) / dense if dense else 0.0,
            "bound_pct": 50.0}


def step_numbers(step_key: str, values: dict) -> list:
    """The live numbers of a step, computed from the engine for ``values``."""
    v = {**defaults(step_key), **(values or {})}
    cfg = step_design(step_key, v)
    return {"dense": _numbers_dense, "split": _numbers_split, "transition": _numbers_transition,
            "fusion": _numbers_fusion, "cio": _numbers_cio, "lineage": _numbers_lineage}[step_key](cfg, v)


def _numbers_dense(cfg, v):
    layers = dense_layers(cfg)
    reads = feature_reads(cfg)
    stage = _stage_summary(summarize(cfg))
    m = len(layers)
    return [
        Number("Dense layers that read x₀", reads[0], help="Every dense layer reads the block input, so its "
               "gradient is the sum of this many contributions from dense layers.  The block's final concat "
               "reads x₀ too (it is no dense layer: it adds no features, only copies them out)."),
        Number("Feature-map reads in the block", sum(L["reads"] for L in layers),
               help="Dense layer j reads j earlier feature maps: m(m+1)/2 reads in all (counted layer by "
                    "layer from the design)."),
        Number("Input channels of the last layer", layers[-1]["in_channels"] if m else 0,
               help="c + (m-1)·k: each dense layer reads every earlier feature map."),
        Number("Stage MACs", stage["macs"], "MAC", help="Multiply-accumulates of the stage at batch 1."),
        Number("Stage parameters", stage["params"], help="Learnable parameters of the stage."),
    ]


def _numbers_split(cfg, v):
    sp = _stage(cfg)
    layers = dense_layers(cfg)
    d, t = _twin_stage(cfg)
    part2 = sp.taps["part2"][0]
    part1 = sp.taps["part1"][0] if "part1" in sp.taps else 0
    c = sp.taps["input"][0]
    m = len(layers)
    cap = block_capacity(cfg)
    return [
        Number("Part 1: bypass channels", part1, help=f"{c} - floor({c} x split ratio)."),
        Number("Part 2: block channels", part2, help=f"floor({c} x split ratio)."),
        Number("Paper's γ", round(1.0 - cfg.split_ratio, 4), help="γ = 1 − split ratio: the bypass share."),
        Number("Base channels read by the layers", part2 * m, delta_pct=_pct(part2 * m, c * m),
               help=f"part 2 x m layers; the plain block's layers read all {c} x {m}."),
        Number("Block weights (capacity)", cap["design"], delta_pct=_pct(cap["design"], cap["twin"]),
               lower_is_better=False,
               help="The weights of the dense layers, which learn the block's features: what the split costs.  The "
                    f"first dense layer reads {part2} channels instead of {c}; the plain block's layers have "
                    f"{cap['twin']:,} weights.  The fewer channels enter, the less the block can learn from the "
                    "stage's input (γ → 1)."),
        Number("Stage MACs", d["macs"], "MAC", delta_pct=_pct(d["macs"], t["macs"]),
               help=f"Change against the same stage without CSP ({PLAIN})."),
        Number("Stage parameters", d["params"], delta_pct=_pct(d["params"], t["params"]),
               help=f"Change against the same stage without CSP ({PLAIN})."),
    ]


def block_capacity(cfg: CSPConfig) -> dict:
    """The parameters of the lesson stage's dense layers (1×1 bottlenecks and 3×3 convs), for the design
    and its plain twin: what the block can learn with, which the split shrinks.  ``{"design", "twin"}``."""
    s = component_story(cfg, "params")
    return {k: s[k]["dense_1x1"] + s[k]["dense_3x3"] for k in ("design", "twin")}


def shortest_ratio(target: int, channels: int, hi: float = 1.0) -> float | None:
    """The shortest decimal ``r`` in (0, ``hi``] with ``floor(channels x r) == target``, or None."""
    if channels <= 0 or not 0 < target <= channels * hi:
        return None
    exact = target / channels
    for digits in (2, 3, 4, 6, 8):
        r = math.ceil(exact * 10 ** digits) / 10 ** digits
        if r <= hi and math.floor(channels * r) == target:
            return r
    return None


def equal_width(cfg: CSPConfig) -> dict:
    """Step 3's fair comparison: the partial transition ratio sets the CSP stage's output width
    (floor((part 1 + floor(block x ratio)) x compression)), so its MACs against the plain stage mix the
    CSP layout with a narrower or wider stage.  The plain stage with the **same output width** (its
    compression chosen so: floor(concat x compression) = the CSP stage's width) separates the two.
    ``{"output", "plain_output", "compression", "plain_equal_macs", "pct", "pct_equal", "width_share"}``:
    ``pct`` against the plain stage at its own width, ``pct_equal`` against the equal-width plain stage,
    ``width_share`` the part of ``pct`` that the width accounts for (None when the widths are equal)."""
    d, t = _twin_stage(cfg)
    out = _stage(cfg).taps["output"][0]
    twin = _stage(cfg.twin())
    plain_out, concat = twin.taps["output"][0], twin.taps.get("concat", twin.taps["block"])[0]
    pct = _pct(d["macs"], t["macs"])
    comp = cfg.compression if out == plain_out else shortest_ratio(out, concat)
    if comp is None:
        return {"output": out, "plain_output": plain_out, "compression": None, "plain_equal_macs": None,
                "pct": pct, "pct_equal": None, "width_share": None}
    eq = _stage_summary(summarize(cfg.twin().replace(compression=comp, name=f"{cfg.name} (plain, equal width)")))
    pct_eq = _pct(d["macs"], eq["macs"])
    return {"output": out, "plain_output": plain_out, "compression": comp, "plain_equal_macs": eq["macs"],
            "pct": pct, "pct_equal": pct_eq, "width_share": None if out == plain_out else pct - pct_eq}


def _numbers_transition(cfg, v):
    sp = _stage(cfg)
    d, t = _twin_stage(cfg)
    eq = equal_width(cfg)
    return [
        Number("Block output channels", sp.taps["block"][0], help="part 2 + m x growth rate k."),
        Number("Partial transition channels", sp.taps["partial_transition"][0],
               help="floor(block output x partial transition ratio)."),
        Number("Concat channels", sp.taps["concat"][0], help="part 1 + partial transition."),
        Number("Stage output channels", sp.taps["output"][0], lower_is_better=False,
               delta_pct=_pct(eq["output"], eq["plain_output"]),
               help=f"floor(concat x compression 0.5); the plain stage outputs {eq['plain_output']}.  The partial "
                    "transition ratio changes the stage's width: the next stage reads this many channels."),
        Number("Stage MACs", d["macs"], "MAC", delta_pct=_pct(d["macs"], t["macs"]),
               help=f"Change against the same stage without CSP ({PLAIN}, {eq['plain_output']} channels out)."),
        Number("MACs vs plain at equal width", d["macs"], "MAC", delta_pct=eq["pct_equal"],
               help=(f"Change against a plain stage that also outputs {eq['output']} channels (its transition's "
                     f"compression {eq['compression']:g} instead of 0.5): the CSP layout alone, without the change "
                     "of width." if eq["compression"] is not None else "No plain stage has this width.")),
        Number("Stage parameters", d["params"], delta_pct=_pct(d["params"], t["params"]),
               help=f"Change against the same stage without CSP ({PLAIN})."),
    ]


def _width_note(cfg) -> str:
    """'' when the stage outputs as many channels as the plain stage; else a sentence saying so."""
    out = _stage(cfg).taps["output"][0]
    plain = _stage(cfg.replace(fusion="none")).taps["output"][0]
    if out == plain:
        return ""
    return (f"This stage outputs {out} channels where the plain stage outputs {plain}: fusion last keeps part 1 "
            "beside the block path's transition and has no transition after the concat to set the width, so "
            "it is a different (wider) design, and the next stage would read more channels.")


def _numbers_fusion(cfg, v):
    d, t = _twin_stage(cfg)
    parts = stage_cio_parts(cfg)
    width = _width_note(cfg)
    return [
        Number("Stage MACs", d["macs"], "MAC", delta_pct=_pct(d["macs"], t["macs"]),
               help=f"Change against the plain stage ({PLAIN}, no split)."),
        Number("Stage parameters", d["params"], delta_pct=_pct(d["params"], t["params"]),
               help=f"Change against the plain stage ({PLAIN}, no split)."),
        Number("Whole-stage CIO (elements)", d["cio"], "el", delta_pct=_pct(d["cio"], t["cio"]),
               help="Memory traffic: input + output elements of every conv of the stage, transitions included "
                    "(the dense block "
                    f"{parts['block']:,}, the partial transition {parts['partial_transition']:,}, the transition "
                    f"{parts['transition']:,}); change against the plain stage.  Step 5's formula counts the "
                    "dense block only."),
        Number("Stage output channels", _stage(cfg).taps["output"][0], lower_is_better=False,
               help="What the next stage receives. " + (width or "The same width as the plain stage.")),
    ]


def cio_table(values: dict) -> list:
    """Step 5's reconciliation: the memory traffic of the plain and the full-CSP stage, part by part,
    from the paper's formula (the dense block only) to the real stage with its transitions.
    Rows: {"part", "unit", "plain", "csp", "change_pct"}."""
    v = {**defaults("cio"), **(values or {})}
    f = cio_formula(int(v["c"]), int(v["m"]), int(v["k"]))
    plain = stage_cio_parts(step_design("cio", {**v, "partial": False}))
    csp = stage_cio_parts(step_design("cio", {**v, "partial": True}))
    rows = [("dense block, the paper's formula", "channels per pixel", f["dense"], f["partial"]),
            ("dense block, every conv (1×1 bottlenecks too)", "elements", plain["block"], csp["block"]),
            ("partial transition (full CSP only)", "elements", plain["partial_transition"], csp["partial_transition"]),
            ("transition after the concat", "elements", plain["transition"], csp["transition"]),
            ("whole stage, transitions included", "elements", plain["stage"], csp["stage"])]
    return [{"part": p, "unit": u, "plain": a, "csp": b, "change_pct": _pct(b, a)} for p, u, a, b in rows]


def _numbers_cio(cfg, v):
    c, m, k = int(v["c"]), int(v["m"]), int(v["k"])
    f = cio_formula(c, m, k)
    dense_cfg = step_design("cio", {**v, "partial": False})
    part_cfg = step_design("cio", {**v, "partial": True})
    plan_dense, plan_part = plan_cio_channels(dense_cfg), plan_cio_channels(part_cfg)
    plain, csp = stage_cio_parts(dense_cfg), stage_cio_parts(part_cfg)
    return [
        Number("Dense block CIO (formula)", f["dense"], "ch", help="c·m + (m²+m)·k/2, per pixel."),
        Number("Partial block CIO (formula)", f["partial"], "ch", delta_pct=-f["saving_pct"],
               help="((c·m) + (m²+m)·k)/2, per pixel; change against the dense block."),
        Number("Partial block CIO (counted)", plan_part, "ch",
               delta_pct=_pct(plan_part, plan_dense),
               help="The same count, dense layer by dense layer, computed from the design (floor(c/2) channels "
                    f"enter); the dense block's count is {plan_dense}."),
        Number("Real partial block CIO (elements)", csp["block"], "el", delta_pct=_pct(csp["block"], plain["block"]),
               help="The engine's CIO of the real block at its feature-map size: every conv, the 1x1 "
                    f"bottlenecks included; the plain block has {plain['block']:,} elements."),
        Number("Whole CSP stage CIO (elements)", csp["stage"], "el",
               delta_pct=_pct(csp["stage"], plain["stage"]),
               help="The whole full-CSP stage, transitions included: the block, the partial transition "
                    f"({csp['partial_transition']:,} elements, which the plain stage does not have) and the "
                    "transition after the concat "
                    f"({csp['transition']:,}); the plain stage has {plain['stage']:,} (its transition "
                    f"{plain['transition']:,}).  This is step 4's CIO."),
    ]


def _numbers_lineage(cfg, v):
    rows = {r["key"]: r for r in lineage_rows(v)}
    c3, c2f, elan = rows["c3"], rows["c2f"], rows["elan"]
    n, p2 = c2f["blocks"], c2f["part2"]
    dense = dense_block_out(p2, n)
    return [
        Number("C3 concat channels", c3["concat"], lower_is_better=False,
               help=f"Part 1 ({c3['part1']}) + the last block's output ({c3['block_out']}): the same for any n.  "
                    f"The transition reads {c3['transition_in']} channels."),
        Number("C2f concat channels", c2f["concat"], delta_pct=_pct(c2f["concat"], c3["concat"]),
               help=f"Part 1 + part 2 + {_plural(n, 'block output')}: (n + 2) × W/2 = {n + 2} × {p2}.  The "
                    f"transition reads {c2f['transition_in']} channels; change against C3."),
        Number("ELAN concat channels", elan["concat"], delta_pct=_pct(elan["concat"], c3["concat"]),
               help=f"Part 1 + part 2 + the output of each of the {_plural(n, 'conv pair')}: every tap, as in "
                    f"C2f.  The transition reads {elan['transition_in']} channels; change against C3."),
        Number("Dense block output (k = W/2)", dense["output"], lower_is_better=False,
               help=f"A DenseNet dense block of {_plural(n, 'layer')} with growth rate k = {p2} on a {p2}-channel "
                    f"input outputs {p2} + {n} × {p2} = {dense['output']} channels: exactly C2f's taps after part 1 "
                    f"({c2f['block_out']}).  But its last layer reads {dense['last_reads']} channels, C2f's last "
                    f"block only {c2f['block_reads'][-1] if c2f['block_reads'] else p2}."),
        Number("C2f stage MACs", c2f["macs"], "MAC", delta_pct=_pct(c2f["macs"], c3["macs"]),
               help=f"Multiply-accumulates of the C2f stage; change against C3 ({c3['macs']:,}).  "
                    + c2f_effects_text(v).split("  ", 1)[1]),
        Number("ELAN stage MACs", elan["macs"], "MAC", delta_pct=_pct(elan["macs"], c3["macs"]),
               help=f"Multiply-accumulates of the ELAN stage; change against C3 ({c3['macs']:,}).  At equal "
                    "parts its two 3×3 convs per block cost what C2f's do: they differ in the residual add and "
                    "in the split (two 1×1 convs, which read the input twice: more memory traffic)."),
    ]


def width_sentence(cfg: CSPConfig) -> str:
    """Step 3: '' when the CSP stage outputs the plain stage's width; else that the ratio changed the width
    and what the comparison at equal width gives."""
    eq = equal_width(cfg)
    if eq["output"] == eq["plain_output"]:
        return ""
    text = (f"Mind the width: at partial transition ratio {cfg.transition_ratio:g} the stage outputs {eq['output']} "
            f"channels instead of the plain stage's {eq['plain_output']}: a "
            f"{'narrower' if eq['output'] < eq['plain_output'] else 'wider'} stage, whose next stage would read "
            f"{abs(eq['output'] - eq['plain_output'])} {'fewer' if eq['output'] < eq['plain_output'] else 'more'} "
            "channels.")
    if eq["pct_equal"] is not None:
        text += (f" Against a plain stage that also outputs {eq['output']} channels (compression "
                 f"{eq['compression']:g}) the CSP stage is {eq['pct_equal']:+.1f} % MACs: the change of width accounts "
                 f"for {eq['width_share']:+.1f} of the {eq['pct']:+.1f} points.")
    return text


def transition_break_even() -> float | None:
    """The largest partial transition ratio on step 3's slider for which the CSP stage has fewer
    MACs than the plain stage (None if there is none), scanned with the engine."""
    c = get_step("transition").controls[0]
    n = int(round((c.max - c.min) / c.step))
    best = None
    for i in range(n + 1):
        r = round(c.min + i * c.step, 10)
        d, t = _twin_stage(step_design("transition", {"transition_ratio": r}))
        if d["macs"] < t["macs"]:
            best = r
    return best


def component_story(cfg: CSPConfig, metric: str = "macs") -> dict:
    """The lesson stage's ``metric`` per component (explorer.counts.explain.COMPONENTS), for the
    design and its plain twin, and each component's change: the compute story that adds up.
    ``{"design": {c: v}, "twin": {c: v}, "change": {c: v}, "total_design", "total_twin", "pct"}``."""
    from explorer.counts.explain import COMPONENTS, breakdown

    d = breakdown(cfg, STAGE, (metric,))
    t = breakdown(cfg.twin(), STAGE, (metric,))
    keys = [c for c in COMPONENTS] + [c for c in list(d) + list(t) if c not in COMPONENTS]
    dv = {c: d.get(c, {}).get(metric, 0) for c in keys}
    tv = {c: t.get(c, {}).get(metric, 0) for c in keys}
    td, tt = sum(dv.values()), sum(tv.values())
    return {"design": dv, "twin": tv, "change": {c: dv[c] - tv[c] for c in keys}, "total_design": td,
            "total_twin": tt, "pct": _pct(td, tt)}


# the numbers a step's prediction is about: hidden until the learner reveals (by label)
KEY_NUMBERS = {
    "dense": ("Dense layers that read x₀", "Feature-map reads in the block"),
    "split": ("Stage MACs", "Stage parameters"),
    "transition": ("Stage MACs", "MACs vs plain at equal width", "Stage parameters"),
    "fusion": ("Stage MACs", "Stage parameters", "Whole-stage CIO (elements)"),
    "cio": ("Partial block CIO (formula)", "Partial block CIO (counted)", "Real partial block CIO (elements)",
            "Whole CSP stage CIO (elements)"),
    "lineage": ("C2f concat channels", "ELAN concat channels", "Dense block output (k = W/2)"),
}


def is_key_number(step_key: str, label: str) -> bool:
    return label in KEY_NUMBERS.get(step_key, ())
