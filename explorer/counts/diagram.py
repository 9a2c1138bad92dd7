"""Architecture diagrams as Graphviz DOT text, from the analytic plan.

Stage level by default: one cluster per stage with the CSP split, the bypass (part 1), the block
path (part 2), the partial transition, the concat and the transition, in the order the model runs
them (the plan's tap order: fusion first concatenates before its transition, fusion last after its
block-path transition, with nothing after the concat); repeated blocks are rolled up into one node.
Any stage can be expanded to block level (long runs of blocks are elided in the middle so deep
stages stay readable).  Every edge carries its tensor shape ``C x H x W``.
"""
from __future__ import annotations

from cspnet import CSPConfig, plan_network
from cspnet.config import family_fields
from cspnet.plan import StagePlan

# colours: part 1 (bypass) blue, part 2 / block path orange, transitions green, merge grey
C_PART1 = "#1f77b4"
C_PART2 = "#ff7f0e"
C_TRANS = "#2ca02c"
C_MERGE = "#7f7f7f"
C_PLAIN = "#444444"
FILL = {"block": "#ffe8cc", "transition": "#dff3df", "partial_transition": "#dff3df", "concat": "#eeeeee",
        "split": "#e6f0fa", "stem": "#f2f2f2", "head": "#f2f2f2", "down": "#f2f2f2", "expand": "#f2f2f2",
        "spp": "#f2f2f2", "post": "#eeeeee"}
# lineage: how a block type and the stage pieces are drawn
BLOCK_WORDS = {"dark": "1×1→3×3 block", "edge": "3×3→1×1 edge block",
               "bottleneck_3x3": "3×3→3×3 bottleneck", "c3k": "C3k block",
               "cspnext": "3×3 + dw 5×5 block", "conv_pair": "3×3 conv pair", "conv": "3×3 conv",
               "psa": "attention (PSA) block"}
POST_WORDS = {"bn_act": "BN + activation", "attention": "channel attention\n(pool, 1×1, sigmoid gate, scale)"}
MAX_EXPANDED_BLOCKS = 6
# the stage taps drawn after the block, in whichever order the plan (the model's forward) has them
AFTER_BLOCK = ("partial_transition", "concat", "post", "transition")
# a stage's fusion in plain words (``plain_words=True``: the guided lesson)
FUSION_WORDS = {"none": "plain", "csp": "full CSP", "fusion_first": "fusion first", "fusion_last": "fusion last"}


def _shape(s) -> str:
    return "\u00d7".join(str(d) for d in s)


def _q(text: str) -> str:
    """A DOT quoted string; real newlines in ``text`` become DOT line breaks."""
    text = str(text).replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")
    return '"' + text + '"'


def _block_label(cfg: CSPConfig, i: int, repeats: int) -> str:
    fam = cfg.family
    if "block_type" in family_fields(fam):
        words = f"{BLOCK_WORDS.get(cfg.block_type[i], cfg.block_type[i])} \u00d7{repeats}"
        if cfg.se_ratio and cfg.block_type[i] in ("dark", "edge"):
            words += " (SE)"
        if cfg.taps[i] == "all":
            words += f"\nevery tap concatenated ({repeats + 1})"
        return words
    if fam in ("densenet", "peleenet"):
        return f"dense block \u00d7{repeats}\ngrowth {cfg.growth_rate[i]}"
    if fam == "darknet":
        return f"dark block \u00d7{repeats}"
    if fam == "darknet_cfg":
        return f"block \u00d7{repeats}\n(the cfg's layers)"
    if fam == "resnext":
        return f"ResNeXt bottleneck \u00d7{repeats}\ngroups {cfg.groups[i]}"
    return f"bottleneck \u00d7{repeats}"


def _unit_label(cfg: CSPConfig, i: int, unit: str) -> str:
    """An expanded block's label: its index and, for a lineage stage, its block type ("block 0: 3×3→3×3
    bottleneck"); the unit's module name otherwise (a dense layer, a bottleneck)."""
    if "block_type" in family_fields(cfg.family) and unit.isdigit():
        return f"block {unit}: {BLOCK_WORDS.get(cfg.block_type[i], cfg.block_type[i])}"
    return unit


def _block_units(sp: StagePlan) -> list:
    """Block-level units of a stage: (unit name, input shape, output shape, layer count)."""
    prefix = f"{sp.name}.block."
    units: dict = {}
    for op in sp.ops:
        if not op.path.startswith(prefix):
            continue
        unit = op.path[len(prefix):].split(".")[0]
        if unit == "cat":   # the all-taps concat of C2f / ELAN: drawn as its own node
            continue
        if unit not in units:
            # a dense layer starts with the concat of its inputs: its input is that concat's output
            units[unit] = [op.out_shape if op.kind == "cat" else op.in_shape, op.out_shape, 0]
        units[unit][1] = op.out_shape
        units[unit][2] += 1
    return [(name, v[0], v[1], v[2]) for name, v in units.items()]


def to_dot(cfg: CSPConfig, expand: tuple = (), rankdir: str = "TB", title: bool = True,
           plain_words: bool = False) -> str:
    """The DOT text of ``cfg``. ``expand`` names stages (``"stages.1"``) shown at block level;
    ``expand=("all",)`` expands every stage.  ``plain_words``: stage captions without the module
    names and field values ("stage 1 \u2014 full CSP", not "stage 1 (stages.0) \u2014 csp")."""
    plan = plan_network(cfg)
    lines = [
        "digraph cspnet {",
        f"  graph [rankdir={rankdir}, fontname=Helvetica, fontsize=11, nodesep=0.25, ranksep=0.3"
        + (f", label={_q(_title(cfg))}, labelloc=t" if title else "") + "];",
        "  node [shape=box, style=\"rounded,filled\", fontname=Helvetica, fontsize=10, fillcolor=white];",
        "  edge [fontname=Helvetica, fontsize=9, color=\"#444444\"];",
        f"  input [label={_q('input ' + _shape(plan.input_shape))}, shape=plaintext, style=\"\"];",
    ]
    prev = "input"
    stage_idx = 0
    for sp in plan.stages:
        if sp.kind == "stem":
            lines.append(f"  stem [label={_q('stem')}, fillcolor=\"{FILL['stem']}\"];")
            lines.append(f"  {prev} -> stem;")
            prev = "stem"
            prev_shape = sp.output_shape
            continue
        if sp.kind == "head" and "num_classes" not in family_fields(cfg.family):  # an imported network's own head
            words = {"gap": "global avg pool", "softmax": "softmax", "maxpool": "max pool", "upsample": "upsample"}
            parts = [f"{o.kernel}\u00d7{o.kernel} conv {o.out_shape[0]}" if o.kind == "conv" else
                     f"linear {o.out_shape[0]}" if o.kind == "linear" else words.get(o.kind, "")
                     for o in sp.ops if o.kind in ("conv", "linear") or o.kind in words]
            label = "head: " + (", ".join(parts) or "none")
            lines.append(f"  head [label={_q(label)}, fillcolor=\"{FILL['head']}\"];")
            lines.append(f"  {prev} -> head [label={_q(_shape(prev_shape))}];")
            lines.append(f"  output [label={_q('output ' + _shape(sp.output_shape))}, shape=plaintext, style=\"\"];")
            lines.append("  head -> output;")
            continue
        if sp.kind == "head":
            conv = next((o for o in sp.ops if o.kind == "conv"), None)
            label = "head: " + ("BN-ReLU, " if any(o.kind == "bn" for o in sp.ops) and conv is None else "") + \
                (f"1\u00d71 conv {conv.out_shape[0]}, " if conv is not None else "") + \
                f"global avg pool, linear {cfg.num_classes}"
            lines.append(f"  head [label={_q(label)}, fillcolor=\"{FILL['head']}\"];")
            lines.append(f"  {prev} -> head [label={_q(_shape(prev_shape))}];")
            lines.append(f"  output [label={_q('logits ' + str(cfg.num_classes))}, shape=plaintext, style=\"\"];")
            lines.append("  head -> output;")
            continue
        expanded = "all" in expand or sp.name in expand
        prev, prev_shape = _stage_dot(lines, cfg, sp, stage_idx, prev, prev_shape, expanded, plain_words)
        stage_idx += 1
    lines.append("}")
    return "\n".join(lines)


def _post_kind(sp: StagePlan) -> str:
    """What follows the stage's CSP concat (its last concat): a scaling among the ops after it is channel
    attention (a design's ``post_concat=attention``, or an imported cfg's [scale_channels]), else BN + act."""
    kinds = [op.kind for op in sp.ops]
    last_cat = max((i for i, k in enumerate(kinds) if k == "cat"), default=-1)
    return "attention" if "mul" in kinds[last_cat + 1:] else "bn_act"


def _title(cfg: CSPConfig) -> str:
    split = f", split_ratio={cfg.split_ratio:g}" if "split_ratio" in family_fields(cfg.family) else ""
    return f"{cfg.name}: {cfg.family}, fusion={cfg.fusion}{split}, input {cfg.input_size}"


def _stage_dot(lines, cfg, sp: StagePlan, i: int, prev: str, prev_shape, expanded: bool, plain_words: bool = False):
    sid = f"s{i}"
    taps = sp.taps
    if plain_words:
        cluster_label = _q(f"stage {i + 1} \u2014 {FUSION_WORDS.get(sp.fusion, sp.fusion)}")
    else:
        cluster_label = _q(f"stage {i + 1} ({sp.name}) \u2014 {sp.fusion}")
    out = [f"  subgraph cluster_{sid} {{",
           f"    label={cluster_label}; style=\"rounded,dashed\"; color=\"#999999\"; fontsize=10;"]
    edges = []

    def node(name, label, kind, shape=None):
        extra = f", shape={shape}" if shape else ""
        out.append(f"    {sid}_{name} [label={_q(label)}, fillcolor=\"{FILL.get(kind, 'white')}\"{extra}];")
        return f"{sid}_{name}"

    cur, cur_shape = prev, prev_shape
    if "down" in taps:
        mp = any(op.path.endswith("down.pool") for op in sp.ops)
        words = "max pool + 3\u00d73 s2 conv pair (downsample)" if mp else "3\u00d73 conv, stride 2 (downsample)"
        n = node("down", words, "down")
        edges.append(f"  {cur} -> {n} [label={_q(_shape(cur_shape))}];")
        cur, cur_shape = n, taps["down"]
    if "spp" in taps:
        n = node("spp", "SPP: 1\u00d71, max pools 5/9/13, concat, 1\u00d71", "spp")
        edges.append(f"  {cur} -> {n} [label={_q(_shape(cur_shape))}];")
        cur, cur_shape = n, taps["spp"]
    if "expand" in taps:
        n = node("expand", "1\u00d71 conv (expand)", "expand")
        edges.append(f"  {cur} -> {n} [label={_q(_shape(cur_shape))}];")
        cur, cur_shape = n, taps["expand"]
    part1_src = None
    if "part2" in taps:
        # split ratio 1.0 (dense families): part 1 is empty, so there is no bypass to draw
        two = "expand" not in taps and any(op.path.startswith(f"{sp.name}.split.") for op in sp.ops)
        n = node("split", ("split\n(two 1\u00d71 convs)" if two else "split") if "part1" in taps
                 else "split\n(part 1 empty)", "split", shape="diamond")
        edges.append(f"  {cur} -> {n} [label={_q(_shape(cur_shape))}];")
        part1_src = n
        cur, cur_shape = n, taps["part2"]
        block_edge_color = C_PART2
    else:
        block_edge_color = C_PLAIN

    # block path
    all_taps = any(op.path == f"{sp.name}.block.cat" for op in sp.ops)
    units = _block_units(sp) if expanded else []
    if units:   # (an imported network's stage has no block modules of its own: drawn rolled up)
        shown = units
        if len(units) > MAX_EXPANDED_BLOCKS:
            shown = units[:3] + [None] + units[-2:]
        for k, u in enumerate(shown):
            if u is None:
                n = node(f"b{k}", f"\u2026 {len(units) - 5} more blocks \u2026", "block", shape="plaintext")
                edges.append(f"  {cur} -> {n} [style=dotted, color=\"{block_edge_color}\"];")
                cur = n
                continue
            name, ishape, oshape, _ = u
            n = node(f"b{k}", f"{_unit_label(cfg, i, name)}\n\u2192 {_shape(oshape)}", "block")
            edges.append(f"  {cur} -> {n} [label={_q(_shape(ishape))}, color=\"{block_edge_color}\"];")
            cur, cur_shape = n, oshape
        if all_taps:  # C2f / ELAN: part 2 and every block's output meet in one concat
            n = node(f"b{len(shown)}", f"concat of every tap\n\u2192 {_shape(taps['block'])}", "concat")
            edges.append(f"  {cur} -> {n} [label={_q(_shape(cur_shape))}, color=\"{block_edge_color}\"];")
            for k, u in enumerate(shown[:-1]):
                if u is not None:
                    edges.append(f"  {sid}_b{k} -> {n} [style=dashed, color=\"{C_PART2}\"];")
            if part1_src:
                edges.append(f"  {part1_src} -> {n} [label={_q('part 2 tapped')}, style=dashed, "
                             f"color=\"{C_PART2}\", fontcolor=\"{C_PART2}\"];")
            cur = n
        cur_shape = taps.get("block", cur_shape)
    else:
        n = node("block", _block_label(cfg, i, sp.repeats), "block")
        edges.append(f"  {cur} -> {n} [label={_q(_shape(cur_shape))}, color=\"{block_edge_color}\", penwidth=1.6];")
        if all_taps and part1_src:
            edges.append(f"  {part1_src} -> {n} [label={_q('part 2 also concatenated')}, style=dashed, "
                         f"color=\"{C_PART2}\", fontcolor=\"{C_PART2}\"];")
        cur, cur_shape = n, taps.get("block", cur_shape)

    # after the block, in forward order (the plan records its taps in the order the model runs
    # its modules): full CSP partial transition -> concat -> transition; fusion first concat ->
    # transition; fusion last transition (or partial transition) on the block path -> concat, and
    # nothing after the concat
    merged = False
    for tap in [t for t in taps if t in AFTER_BLOCK]:
        shape = taps[tap]
        if tap == "concat":
            n = node("concat", "concat", "concat", shape="circle")
            edges.append(f"  {cur} -> {n} [label={_q(_shape(cur_shape))}, color=\"{C_PART2}\"];")
            if part1_src and "part1" in taps:
                p1 = taps["part1"]
                pooled = p1[1] != shape[1]
                lab = _shape(p1) + (" \u2192 2\u00d72 avg pool" if pooled else "")
                edges.append(f"  {part1_src} -> {n} [label={_q('part 1: ' + lab)}, color=\"{C_PART1}\", "
                             f"fontcolor=\"{C_PART1}\", penwidth=1.6, style=dashed];")
            merged = True
        elif tap == "post":
            n = node("post", POST_WORDS.get(_post_kind(sp), "after the concat"), "post")
            edges.append(f"  {cur} -> {n} [label={_q(_shape(cur_shape))}, color=\"{C_MERGE}\"];")
        else:
            pooled = shape[1] < cur_shape[1]
            on_block_path = part1_src is not None and not merged
            if tap == "partial_transition":
                name, label, color = "ptrans", "partial transition", C_PART2
            elif on_block_path:  # fusion last's only transition: on part 2's path, before the concat
                name, label, color = "trans", "transition (block path)", C_PART2
            else:
                name, label, color = "trans", "transition", C_TRANS
            n = node(name, f"{label}\n1\u00d71 conv" + (", 2\u00d72 avg pool" if pooled else ""), tap)
            edges.append(f"  {cur} -> {n} [label={_q(_shape(cur_shape))}, color=\"{color}\"];")
        cur, cur_shape = n, shape
    out.append("  }")
    lines.extend(out)
    lines.extend(edges)
    return cur, taps["output"]
