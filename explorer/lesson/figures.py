"""The data of the lesson's figures (the page draws them): the dense block's connectivity as nodes and
edges (the arc figure), a step's design as DOT (the Diagram page's drawing), and the stage in each of
step 4's layouts on the MACs / memory-traffic axes, with the text that explains why traffic matters.
"""
from __future__ import annotations

from cspnet import CSPConfig
from explorer.counts.analysis import summarize
from explorer.counts.diagram import to_dot
from explorer.lesson.designs import FUSION_NAMES, FUSION_ORDER, SHORT_NAMES, _stage, _stage_summary, dense_layers
from explorer.lesson.steps import step_design

MAX_DRAWN_LAYERS = 8
# the stage's modules after its dense block, as the arc figure names them
AFTER_BLOCK = {"partial_transition": ("ptrans", "partial transition"), "concat": ("join", "concat"),
               "transition": ("trans", "transition")}


def stage_dot(step_key: str, values: dict) -> str:
    """The step's small design as the app draws designs (explorer.counts.diagram.to_dot), stage level,
    with its caption in plain words."""
    cfg = step_design(step_key, values)
    if step_key == "lineage":  # step 6 shows its stage expanded: the taps are the point
        return to_dot(cfg, expand=("all",), title=False, plain_words=True)
    # a dense block drawn as one box already concatenates part 2 (x0'') with every layer's output: the
    # "part 2 also concatenated" edge would point into the block as if it were a second input
    return "\n".join(line for line in to_dot(cfg, title=False, plain_words=True).splitlines()
                     if PART2_TAP not in line)


PART2_TAP = "part 2 also concatenated"


def dense_graph(cfg: CSPConfig, max_layers: int = MAX_DRAWN_LAYERS) -> dict:
    """The dense connectivity of the lesson's stage as plain data, read from the plan: ``nodes`` (the
    block input, the first ``max_layers`` dense layers, the block's own concat) and one edge per
    read; ``after``: the stage's modules after the block, in the order the model runs them (full
    CSP: partial transition, concat, transition; fusion first: concat, transition; fusion last:
    transition, concat); ``part1_joins``: the id of the ``after`` node where part 1 (which bypasses
    the block) joins, None without a bypass; ``split``: whether the stage splits at all (at split
    ratio 1 it does, but part 1 is empty)."""
    layers = dense_layers(cfg)
    sp = _stage(cfg)
    shown = layers[:max_layers]
    part1 = sp.taps.get("part1")
    x0 = sp.taps.get("part2", sp.taps["input"])
    nodes = [{"id": "x0", "label": ("x0''" if part1 else "x0"), "detail": f"{x0[0]} ch in", "kind": "input"}]
    for L in shown:
        nodes.append({"id": f"L{L['layer']}", "label": f"layer {L['layer']}",
                      "detail": f"reads {L['in_channels']} ch", "kind": "layer"})
    nodes.append({"id": "cat", "label": "concat", "kind": "concat",
                  "detail": f"{sp.taps['block'][0]} ch out"})
    edges = []
    for k, L in enumerate(shown):  # layer k+1 reads x0 and the outputs of layers 1..k
        for i in range(min(L["reads"], k + 1)):
            edges.append((i, k + 1))
    last = len(nodes) - 1
    edges += [(i, last) for i in range(last)]
    after, cur = [], sp.taps["block"]
    for tap, shape in sp.taps.items():
        if tap not in AFTER_BLOCK:
            continue
        nid, label = AFTER_BLOCK[tap]
        if tap == "concat":
            detail = (f"{part1[0]} + {cur[0]} = {shape[0]} ch" if part1 else f"{shape[0]} ch (part 1 empty)")
            kind = "join"
        else:
            pool = ", 2×2 pool" if shape[1] < cur[1] else ""
            detail, kind = f"{cur[0]} → {shape[0]} ch{pool}", "transition"
        after.append({"id": nid, "label": label, "detail": detail, "kind": kind})
        cur = shape
    return {"nodes": nodes, "edges": edges, "hidden_layers": len(layers) - len(shown),
            "part1": part1[0] if part1 else None, "after": after, "split": "part2" in sp.taps,
            "part1_joins": "join" if part1 and any(a["id"] == "join" for a in after) else None}


def speed_points(values: dict | None = None) -> list:
    """The lesson's stage in each layout of step 4, built at step 5's sliders (``values``: c, m, k; the
    defaults are step 4's stage): MACs, CIO (elements) and the arithmetic intensity MACs / CIO
    (multiply-adds per element moved), computed."""
    from explorer.lesson.roofline import layout_design

    out = []
    for f in FUSION_ORDER:
        cfg = layout_design(f, values)
        s = _stage_summary(summarize(cfg))
        out.append({"fusion": f, "name": FUSION_NAMES[f], "short": SHORT_NAMES[f], "macs": s["macs"],
                    "cio": s["cio"], "intensity": s["macs"] / s["cio"] if s["cio"] else None})
    return out


SPEED_TEXT = (
    "**Why memory traffic matters.** A layer takes at least as long as its multiply-adds need on the "
    "compute units *and* as long as its feature maps need to move through memory, whichever is longer.  "
    "A 1×1 conv does few multiply-adds per element it reads and writes (its *arithmetic intensity* is "
    "low).  On a device whose compute outruns its memory (a high *ridge*: peak FLOP/s ÷ bytes/s) such a layer "
    "waits for memory, and its time follows the memory traffic (CIO), not the MACs: that is why the paper "
    "reports CIO next to compute.  Which devices that is depends on the ridge, not on the kind of device: the "
    "roofline below computes it for this CPU, an H100 and a small GPU.  The figure puts the four layouts, at "
    "the sliders above, on the two axes; measure real latencies on the Latency page.")
