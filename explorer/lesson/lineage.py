"""Step 6, where CSP went: one stage each of YOLOv5's C3, YOLOv8's C2f and YOLOv7's ELAN at the same
width, read from the engine (parts, concat, transition input, module order, what each block reads, cost),
a dense block's output beside C2f's concat, the growth with the number of blocks, and the step's
verdict and diagram caption.
"""
from __future__ import annotations

from cspnet import CSPConfig
from explorer.counts.analysis import summarize
from explorer.lesson.designs import (
    LINEAGE_BLOCK_WORDS,
    LINEAGE_CHOICES,
    LINEAGE_NAMES,
    LINEAGE_ORDER,
    LINEAGE_SHORT,
    STAGE,
    _pct,
    _plural,
    _stage,
    _stage_summary,
    dense_layers,
    lesson_design,
    lineage_design,
)
from explorer.lesson.steps import defaults, get_step, step_design


def lineage_stage(cfg: CSPConfig) -> dict:
    """One step-6 stage, read from the engine: its part widths, the concat (width and how many tensors
    it joins), the transition's input channels, the order of its modules, whether that order is the
    paper's fusion first (concat, then one transition, no partial transition), the channels each block
    reads, and the stage's params, MACs and CIO."""
    sp = _stage(cfg)
    s = _stage_summary(summarize(cfg))
    ops = {op.path: op for op in sp.ops}
    concat = ops[f"{STAGE}.concat"]
    inner = ops.get(f"{STAGE}.block.cat")   # a plain stage's concat of every tap (fusion first: the one concat)
    trans = ops[f"{STAGE}.transition.conv"]
    taps = list(sp.taps)
    words = {"part2": "split", "block": f"{_plural(sp.repeats, 'block')}", "partial_transition": "partial transition",
             "concat": "concat", "transition": "transition"}
    order = [words[t] for t in taps if t in words]
    first_reads: dict = {}  # block j -> the channels its first conv reads
    for op in sp.ops:
        parts = op.path.split(".")
        if op.kind == "conv" and len(parts) > 4 and parts[2] == "block" and parts[3].isdigit():
            first_reads.setdefault(int(parts[3]), op.in_shape[0])
    part1 = sp.taps["part1"][0]
    return {"part1": part1, "part2": sp.taps["part2"][0], "block_out": concat.out_shape[0] - part1,
            "concat": concat.out_shape[0],
            "concat_inputs": len(inner.in_shapes) + 1 if inner else len(concat.in_shapes),
            "transition_in": trans.in_shape[0], "output": sp.taps["output"][0], "blocks": sp.repeats,
            "order": order, "fusion_first": ("partial_transition" not in taps
                                             and taps.index("concat") < taps.index("transition")),
            "block_reads": [first_reads[j] for j in sorted(first_reads)],
            "params": s["params"], "macs": s["macs"], "cio": s["cio"]}


def dense_block_out(part2: int, blocks: int) -> dict:
    """A DenseNet dense block of ``blocks`` layers on a ``part2``-channel input with growth rate ``part2``
    (the stage of steps 1-5, plain), from the engine: its output (the concat of every map) and what its
    last layer reads."""
    cfg = lesson_design(stem_channels=part2, growth_rate=part2, repeats=(blocks,), name="lesson_dense_compare")
    layers = dense_layers(cfg)
    return {"output": _stage(cfg).taps["block"][0], "last_reads": layers[-1]["in_channels"],
            "reads": sum(L["reads"] for L in layers)}


def lineage_rows(values: dict | None = None) -> list:
    """Step 6's table: one row per design (C3, C2f, ELAN) at the learner's width and blocks, computed."""
    v = {**defaults("lineage"), **(values or {})}
    rows = []
    for key in LINEAGE_ORDER:
        cfg = lineage_design(key, v["width"], v["blocks"])
        st = lineage_stage(cfg)
        rows.append({"key": key, "name": LINEAGE_NAMES[key], "family": cfg.family, "block_type": cfg.block_type[0],
                     "block": LINEAGE_BLOCK_WORDS[key], "taps": cfg.taps[0], "fusion": cfg.fusion, **st})
    return rows


def lineage_growth(values: dict | None = None) -> list:
    """Step 6's figure: for every n on the blocks slider, at the learner's width, the channels each
    stage's transition reads (C3, C2f, ELAN) and a dense block's output (n layers, growth rate W/2, on
    a W/2-channel input), computed."""
    v = {**defaults("lineage"), **(values or {})}
    c = next(c for c in get_step("lineage").controls if c.name == "blocks")
    out = []
    for n in range(int(c.min), int(c.max) + 1):
        rows = {r["key"]: r for r in lineage_rows({**v, "blocks": n})}
        point = {"blocks": n, **{k: rows[k]["transition_in"] for k in LINEAGE_ORDER}}
        point["dense"] = dense_block_out(rows["c2f"]["part2"], n)["output"]
        point["part1"] = rows["c2f"]["part1"]
        out.append(point)
    return out


def lineage_verdict(values: dict | None = None) -> str:
    """Step 6's takeaway: fusion first in all three, the concat widths, the dense-block equality, the cost."""
    v = {**defaults("lineage"), **(values or {})}
    rows = {r["key"]: r for r in lineage_rows(v)}
    c3, c2f, elan = rows["c3"], rows["c2f"], rows["elan"]
    n, w, p2 = c2f["blocks"], int(v["width"]), c2f["part2"]
    dense = dense_block_out(p2, n)
    same = all(r["fusion_first"] for r in rows.values())
    order = " → ".join(c3["order"])
    head = (f"At W = {w} and n = {n}, all three are the paper's fusion first: {order}"
            if same else f"At W = {w} and n = {n}: " + ", ".join(
                f"{LINEAGE_SHORT[k]} {' → '.join(r['order'])}" for k, r in rows.items()))
    ratio = c2f["transition_in"] / c3["transition_in"]
    dense_txt = ("exactly" if dense["output"] == c2f["block_out"] else "unlike")
    return (f"{head}.  C3's transition reads {c3['transition_in']} channels whatever n is; C2f's reads "
            f"{c2f['transition_in']} and ELAN's {elan['transition_in']} ({ratio:.2g}× as many), because they "
            f"concatenate every tap.  C2f's taps after part 1 come to {c2f['block_out']} channels = {p2} + {n} × "
            f"{p2}, {dense_txt} the output of a dense block of {_plural(n, 'layer')} with growth rate {p2} "
            f"({dense['output']}): dense connectivity come back at the concat.  But each C2f block reads only the "
            f"{p2} channels before it, where the dense block's last layer reads {dense['last_reads']} (every earlier "
            f"map), so C2f's cost grows linearly with n: the C2f stage has "
            f"{_pct(c2f['macs'], c3['macs']):+.1f} % MACs and {_pct(c2f['cio'], c3['cio']):+.1f} % memory traffic "
            "against C3.")


def lineage_caption(values: dict | None = None) -> str:
    """The caption under step 6's diagram (the chosen design, expanded to its blocks)."""
    v = {**defaults("lineage"), **(values or {})}
    key = v["design"]
    st = lineage_stage(step_design("lineage", v))
    if LINEAGE_CHOICES[key]["taps"] == "all":
        taps = (f"the dashed orange lines are the taps: part 2 and every block's output meet in one concat "
                f"({st['block_out']} channels), which joins part 1 (dashed blue) in the stage's concat")
    else:
        taps = ("only the last block's output goes on to the concat, where part 1 (dashed blue) joins it")
    return (f"{LINEAGE_NAMES[key]} as the Diagram page draws it, expanded to its blocks: above the stage, the "
            "3×112×112 input and the 3×3 stride-2 stem that give the 64×56×56 of steps 1-5; "
            + ("C2f's one 1×1 conv (drawn 'expand') whose output is split in two; " if
               LINEAGE_CHOICES[key]["split_convs"] == "one" else "the split's two 1×1 convs, one per part; ")
            + f"{taps}; then the transition (green box) and, below, the classifier head; edges carry C×H×W.")


def c2f_effects(values: dict | None = None) -> dict:
    """C2f against C3 at step 6's W and n, in two moves, each computed: first C3 with C2f's blocks (3×3 → 3×3
    instead of 1×1 → 3×3, taps unchanged), then C2f's taps (every block's output concatenated, so a wider
    transition).  ``{"c3", "c3_with_c2f_blocks", "c2f", "pct", "blocks_pts", "taps_pts"}``: MACs, the whole
    change in % of C3 and each move's share in points of it (they add up)."""
    v = {**defaults("lineage"), **(values or {})}
    rows = {r["key"]: r for r in lineage_rows(v)}
    mid_cfg = lineage_design("c3", v["width"], v["blocks"]).replace(block_type=LINEAGE_CHOICES["c2f"]["block_type"],
                                                                   name="lesson_c3_with_c2f_blocks")
    c3, c2f = rows["c3"]["macs"], rows["c2f"]["macs"]
    mid = _stage_summary(summarize(mid_cfg))["macs"]
    return {"c3": c3, "c3_with_c2f_blocks": mid, "c2f": c2f, "pct": _pct(c2f, c3),
            "blocks_pts": 100.0 * (mid - c3) / c3, "taps_pts": 100.0 * (c2f - mid) / c3}


def c2f_effects_text(values: dict | None = None) -> str:
    """The two effects apart, in words."""
    e = c2f_effects(values)
    return (f"C2f costs {e['pct']:+.1f} % MACs against C3.  Of that, its blocks (3×3 → 3×3 instead of C3's 1×1 → "
            f"3×3) account for {e['blocks_pts']:+.1f} points (C3 with C2f's blocks: {e['c3_with_c2f_blocks']:,} "
            f"MACs), its taps (every block's output concatenated, so the transition reads more) for "
            f"{e['taps_pts']:+.1f} points.")
