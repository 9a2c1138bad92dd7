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
from cspnet.families._blocks import BLOCK_TYPES
from cspnet.plan import INPUT, StagePlan
from explorer.counts.analysis import NECK_ROLES

# colours: part 1 (bypass) blue, part 2 / block path orange, transitions green, merge grey
C_PART1 = "#1f77b4"
C_PART2 = "#ff7f0e"
C_TRANS = "#2ca02c"
C_MERGE = "#7f7f7f"
C_PLAIN = "#444444"
FILL = {"block": "#ffe8cc", "transition": "#dff3df", "partial_transition": "#dff3df", "concat": "#eeeeee",
        "split": "#e6f0fa", "stem": "#f2f2f2", "head": "#f2f2f2", "down": "#f2f2f2", "expand": "#f2f2f2",
        "spp": "#f2f2f2", "post": "#eeeeee", "up": "#e6f0fa", "reduce": "#f2f2f2", "lateral": "#eeeeee",
        "sppf": "#f2f2f2"}
# lineage: how the stage pieces are drawn (a block type names itself: BlockType.words)
POST_WORDS = {"bn_act": "BN + activation", "attention": "channel attention\n(pool, 1×1, sigmoid gate, scale)"}
MAX_EXPANDED_BLOCKS = 6
# a stage's fusion in plain words (``plain_words=True``: the guided lesson)
FUSION_WORDS = {"none": "plain", "csp": "full CSP", "fusion_first": "fusion first", "fusion_last": "fusion last"}


def _shape(s) -> str:
    return "\u00d7".join(str(d) for d in s)


def _q(text: str) -> str:
    """A DOT quoted string; real newlines in ``text`` become DOT line breaks."""
    text = str(text).replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")
    return '"' + text + '"'


def _block_words(block_type: str) -> str:
    return BLOCK_TYPES[block_type].words or block_type


def _block_label(cfg: CSPConfig, i: int, repeats: int) -> str:
    fam = cfg.family
    if "block_type" in family_fields(fam):
        block = cfg.stage_value("block_type", i)
        words = f"{_block_words(block)} \u00d7{repeats}"
        if cfg.se_ratio and block in ("dark", "edge"):
            words += " (SE)"
        if cfg.stage_value("taps", i) == "all":
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
        return f"block {unit}: {_block_words(cfg.stage_value('block_type', i))}"
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
           plain_words: bool = False, collapse: bool = False) -> str:
    """The DOT text of ``cfg``. ``expand`` names stages (``"stages.1"``) shown at block level;
    ``expand=("all",)`` expands every stage.  ``plain_words``: stage captions without the module
    names and field values ("stage 1 \u2014 full CSP", not "stage 1 (stages.0) \u2014 csp").
    ``collapse``: every stage one node (:func:`collapsed_dot`; ``expand`` is then not read)."""
    plan = plan_network(cfg)
    if collapse:
        return collapsed_dot(cfg, plan, rankdir, title)
    lines = header = [
        "digraph cspnet {",
        f"  graph [rankdir={rankdir}, fontname=Helvetica, fontsize=11, nodesep=0.25, ranksep=0.3"
        + (f", label={_q(_title(cfg))}, labelloc=t" if title else "") + "];",
        "  node [shape=box, style=\"rounded,filled\", fontname=Helvetica, fontsize=10, fillcolor=white];",
        "  edge [fontname=Helvetica, fontsize=9, color=\"#444444\"];",
        f"  input [label={_q('input ' + _shape(plan.input_shape))}, shape=plaintext, style=\"\"];",
    ]
    prev, prev_shape = "input", plan.input_shape
    stage_idx = 0
    node_of: dict = {INPUT: "input"}   # op path -> the node that draws it (a neck stage reads several stages)
    # parts (backbone, neck, head) as clusters around their stages, only when the network has a neck: each
    # stage's nodes go into its part's cluster, every edge after the clusters (an edge inside a cluster would
    # pull a node of another part into it)
    clustered = any(sp.part_name == "neck" for sp in plan.stages)
    body = lines
    clusters: dict = {}
    edge_lines: list = [] if clustered else lines
    for sp in plan.stages:
        if clustered:
            body = clusters.setdefault(sp.part_name, [])
            lines = _Router(body, edge_lines)
        if sp.kind == "stem":
            lines.append(f"  stem [label={_q('stem')}, fillcolor=\"{FILL['stem']}\"];")
            lines.append(f"  {prev} -> stem;")
            prev = "stem"
            prev_shape = sp.output_shape
            node_of.update((op.path, "stem") for op in sp.ops)
            continue
        if sp.kind == "head" and "p0" in sp.taps and cfg.is_detector:   # a detector design's Detect on its scales
            _detect_dot(lines, cfg, sp, node_of)
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
        prev, prev_shape = _stage_dot(lines, cfg, plan, sp, stage_idx, prev, expanded, plain_words, node_of)
        stage_idx += 1
    if clustered:
        lines = header
        for part, part_lines in clusters.items():
            lines.append(f"  subgraph cluster_part_{part} {{")
            lines.append(f"    label={_q(part)}; style=\"rounded\"; color=\"{PART_COLOR}\"; penwidth=1.4; "
                         "fontsize=12;")
            lines.extend("  " + line for line in part_lines)
            lines.append("  }")
        lines.extend(edge_lines)
    lines.append("}")
    return "\n".join(lines)


PART_COLOR = "#555555"
C_LATERAL = "#1f77b4"   # collapsed view: an edge from a stage that is not the one just before (FPN/PAN laterals)


def collapsed_dot(cfg: CSPConfig, plan, rankdir: str = "TB", title: bool = True) -> str:
    """The stages-collapsed diagram: every stage one node, labelled with its name, its role (the scale a backbone
    stage writes, a neck stage's path: :func:`explorer.counts.analysis.stage_role`), its fusion, its block and
    repeats, and its output shape; an edge wherever a layer of one stage reads a tensor another stage wrote
    (``Op.reads``: a neck stage's lateral concat reads a backbone stage or an earlier neck stage), labelled with
    that tensor's shape.  An edge into a neck stage's lateral concat, or into a neck stage from any stage but the
    one just before, is a lateral edge (blue, dashed), so
    a PAN's top-down and bottom-up paths and its laterals read at a glance.  A detector's parts are clusters,
    and its head the Detect node on the output scales (P3, P4, P5), as in the full view."""
    from explorer.counts.analysis import stage_role

    size = plan.input_shape[1]
    header = [
        "digraph cspnet {",
        f"  graph [rankdir={rankdir}, fontname=Helvetica, fontsize=11, nodesep=0.35, ranksep=0.35"
        + (f", label={_q(_title(cfg) + ' (stages collapsed)')}, labelloc=t" if title else "") + "];",
        "  node [shape=box, style=\"rounded,filled\", fontname=Helvetica, fontsize=10, fillcolor=white];",
        "  edge [fontname=Helvetica, fontsize=9, color=\"#444444\"];",
        f"  input [label={_q('input ' + _shape(plan.input_shape))}, shape=plaintext, style=\"\"];",
    ]
    clustered = any(sp.part_name == "neck" for sp in plan.stages)
    clusters: dict = {}
    edges: list = []
    node_of: dict = {INPUT: "input"}   # op path -> the stage node that writes it
    prev, stage_idx = "input", 0
    for k, sp in enumerate(plan.stages):
        body = clusters.setdefault(sp.part_name if clustered else "", [])
        if sp.kind == "head" and "p0" in sp.taps and cfg.is_detector:   # Detect on the scales: the full view's node
            router = _Router(body, edges)
            _detect_dot(router, cfg, sp, node_of)
            continue
        name = sp.name.replace(".", "_")
        row = {"name": sp.name, "part": sp.part_name, "kind": sp.kind,
               "shapes": {t: tuple(v) for t, v in sp.taps.items()}}
        role = stage_role(row, size) if clustered else ""
        out = _shape(sp.output_shape)
        if sp.kind == "stem":
            label = "stem" + (f" \u2014 {role}" if role else "") + f"\n\u2192 {out}"
            fill = FILL["stem"]
        elif sp.kind == "head" and "p0" in sp.taps:   # an imported detector's heads: the scales they output
            scales = [sp.taps[f"p{j}"] for j in range(len(sp.taps)) if f"p{j}" in sp.taps]
            label = "head (per scale)\n" + ", ".join(
                (f"P{(size // t[1]).bit_length() - 1} " if t[1] else "") + _shape(t) for t in scales)
            fill = FILL["head"]
        elif sp.kind == "head":
            label = "head" + (f"\n{_head_words(cfg, sp)}" if _head_words(cfg, sp) else "") + f"\n\u2192 {out}"
            fill = FILL["head"]
        else:
            words = (f"{sp.module} \u00d7{sp.repeats}" if sp.module else
                     _block_label(cfg, stage_idx, sp.repeats).split("\n")[0] if sp.repeats else "no blocks")
            words += " + SPPF" if "sppf" in sp.taps else " + SPP" if "spp" in sp.taps else ""
            label = (f"{sp.name}" + (f" \u2014 {role}" if role else "") + f"\n{FUSION_WORDS.get(sp.fusion, sp.fusion)}"
                     f", {words}\n\u2192 {out}")
            fill = FILL["block"] if sp.fusion != "none" else FILL["transition"]
            stage_idx += 1
        body.append(f"  {name} [label={_q(label)}, fillcolor=\"{fill}\"];")
        seen: set = set()
        own = {op.path for op in sp.ops}
        for op in sp.ops:
            for read in op.reads:
                if read[0] in own:
                    continue
                src = node_of.get(read[0], prev)
                if (src, read) in seen:
                    continue
                seen.add((src, read))
                label = _shape(plan.read_shape(read))
                if sp.part_name != "neck" or op.group[2:] != ("lateral",) and src in (prev, "input"):
                    edges.append(f"  {src} -> {name} [label={_q(label)}, penwidth=1.4];")
                else:
                    edges.append(f"  {src} -> {name} [label={_q('lateral ' + label)}, color=\"{C_LATERAL}\", "
                                 f"fontcolor=\"{C_LATERAL}\", style=dashed];")
        if not sp.ops:
            edges.append(f"  {prev} -> {name} [label={_q(_shape(sp.taps['input']))}];")
        node_of.update((op.path, name) for op in sp.ops)
        node_of[sp.taps["output"].src] = name
        prev = name
        if sp.kind == "head":
            edges.append(f"  output [label={_q('output ' + _shape(sp.output_shape))}, shape=plaintext, style=\"\"];")
            edges.append(f"  {name} -> output;")
    lines = list(header)
    for part, part_lines in clusters.items():
        if part:
            lines.append(f"  subgraph cluster_part_{part} {{")
            lines.append(f"    label={_q(part)}; style=\"rounded\"; color=\"{PART_COLOR}\"; penwidth=1.4; fontsize=12;")
            lines.extend("  " + line for line in part_lines)
            lines.append("  }")
        else:
            lines.extend(part_lines)
    lines.extend(edges)
    lines.append("}")
    return "\n".join(lines)


def _head_words(cfg: CSPConfig, sp: StagePlan) -> str:
    """A classifier head in a few words: its layers' kinds ("1x1 conv 1280, global avg pool, linear 1000")."""
    words = {"gap": "global avg pool", "softmax": "softmax"}
    parts = [f"{o.kernel}\u00d7{o.kernel} conv {o.out_shape[0]}" if o.kind == "conv" else
             f"linear {o.out_shape[0]}" if o.kind == "linear" else words.get(o.kind, "")
             for o in sp.ops if o.kind in ("conv", "linear") or o.kind in words]
    return ", ".join(p for p in parts if p)


class _Router(list):
    """The lines of one stage when parts are clusters: a node or a stage's cluster goes to its part's
    cluster (``body``), an edge (``a -> b``) and the network's output node after every cluster (``edges``)."""

    def __init__(self, body: list, edges: list):
        super().__init__()
        self.body, self.edges = body, edges

    def append(self, line: str) -> None:
        (self.edges if _is_edge(line) or line.lstrip().startswith("output ") else self.body).append(line)

    def extend(self, lines) -> None:
        in_cluster = 0
        for line in lines:   # a stage's cluster (subgraph ... }) stays whole, its edges follow it
            if line.lstrip().startswith("subgraph "):
                in_cluster += 1
            if in_cluster:
                self.body.append(line)
                in_cluster -= line.strip() == "}"
            else:
                self.append(line)


def _is_edge(line: str) -> bool:
    return " -> " in line.split("[", 1)[0]


def _post_kind(sp: StagePlan) -> str:
    """What follows the stage's CSP concat (its last concat): a scaling among the ops after it is channel
    attention (a design's ``post_concat=attention``, or an imported cfg's [scale_channels]), else BN + act."""
    kinds = [op.kind for op in sp.ops]
    last_cat = max((i for i, k in enumerate(kinds) if k == "cat"), default=-1)
    return "attention" if "mul" in kinds[last_cat + 1:] else "bn_act"


def _title(cfg: CSPConfig) -> str:
    split = f", split_ratio={cfg.split_ratio:g}" if "split_ratio" in family_fields(cfg.family) else ""
    return f"{cfg.name}: {cfg.family}, fusion={cfg.fusion}{split}, input {cfg.input_size}"


# a component's DOT node name (the stage submodule it draws: tests/test_diagram_order.py reads them back)
NODE_NAMES = {"partial_transition": "ptrans", "transition": "trans"}
# components drawn as decorations of an edge, not as nodes: part 1's own pool (fusion last) says so on
# part 1's edge
EDGE_COMPONENTS = {"part1_pool": " \u2192 2\u00d72 avg pool"}


def _read_key(t) -> tuple | None:
    """The edge ``(src, lo, hi)`` that reads the tap tensor ``t`` (``cspnet.plan.Tensor``)."""
    if t is None:
        return None
    return (t.src, t.lo, None if t.lo is None else t.lo + t[0])


def _component_label(cfg, sp: StagePlan, i: int, comp: str, ops: list, before_concat: bool) -> tuple:
    """(label, fill kind, node shape) of a stage component's node."""
    if comp == "down":
        mp = any(op.kind == "maxpool" for op in ops)
        return ("max pool + 3\u00d73 s2 conv pair (downsample)" if mp else "3\u00d73 conv, stride 2 (downsample)",
                "down", None)
    if comp == "spp":
        return "SPP: 1\u00d71, max pools 5/9/13, concat, 1\u00d71", "spp", None
    if comp == "sppf":
        return "SPPF: 1\u00d71, three chained 5\u00d75 max pools, concat, 1\u00d71", "sppf", None
    if comp == "reduce":
        return "1\u00d71 conv (reduce)", "reduce", None
    if comp == "up":
        return "upsample \u00d72 (nearest)", "up", None
    if comp == "lateral":
        return "concat (lateral)", "lateral", "circle"
    if comp == "expand":
        if any(op.kind == "maxpool" for op in ops):   # an imported cfg's SPP before its split source
            return "SPP: 1\u00d71, max pools, concat, 1\u00d71 (expand)", "expand", None
        return "1\u00d71 conv (expand)", "expand", None
    if comp == "split":
        if "part1" not in sp.taps:
            return "split\n(part 1 empty)", "split", "diamond"
        two = sum(op.kind == "conv" for op in ops) >= 2
        return ("split\n(two 1\u00d71 convs)" if two else "split"), "split", "diamond"
    if comp == "block":
        return _block_label(cfg, i, sp.repeats), "block", None
    if comp == "concat":
        if ops and len(ops[0].reads) > 2:   # C2f, C3k2, ELAN: part 1, part 2 and every block's output at once
            return f"concat of every tap ({len(ops[0].reads)})", "concat", None
        return "concat", "concat", "circle"
    if comp == "post":
        return POST_WORDS.get(_post_kind(sp), "after the concat"), "post", None
    if comp in ("partial_transition", "transition"):
        pooled = any(op.kind == "avgpool" for op in ops)
        if comp == "partial_transition":
            words = "partial transition"
        else:   # fusion last's only transition sits on part 2's path, before the concat
            words = "transition (block path)" if before_concat else "transition"
        return f"{words}\n1\u00d71 conv" + (", 2\u00d72 avg pool" if pooled else ""), comp, None
    return comp, "block", None


def _detect_dot(lines, cfg, sp: StagePlan, node_of: dict) -> None:
    """A detector's head: one Detect node reading every output scale (an edge from the node that writes each,
    labelled P3, P4, P5 and its shape), and the output."""
    scales = [t for name, t in sp.taps.items() if name.startswith("p") and name[1:].isdigit()]
    label = (f"Detect ({len(scales)} scales)\nper scale: box branch (3\u00d73, 3\u00d73, 1\u00d71 to 64, DFL) "
             f"+ class branch (to {cfg.num_classes})")
    lines.append(f"  head [label={_q(label)}, fillcolor=\"{FILL['head']}\"];")
    for j, t in enumerate(scales):
        stride = cfg.input_size // t[1] if t[1] else 0
        level = stride.bit_length() - 1 if stride else 3 + j
        lines.append(f"  {node_of.get(t.src, 'input')} -> head [label={_q(f'P{level}: {_shape(t)}')}];")
    out = sp.taps["output"]
    words = f"output {4 + cfg.num_classes} x {out[1]} anchors (DFL box distances + class scores)"
    lines.append(f"  output [label={_q(words)}, shape=plaintext, style=\"\"];")
    lines.append("  head -> output;")


def _stage_dot(lines, cfg, plan, sp: StagePlan, i: int, prev: str, expanded: bool, plain_words: bool = False,
               node_of: dict | None = None):
    """One stage's cluster, read off the plan's graph: a node per component of the stage's layers
    (``Op.group``: down, expand, split, block, partial transition, concat, post, transition), in the order
    the model runs them, and an edge wherever a layer of one component reads a tensor another wrote
    (``Op.reads``), labelled with that tensor's shape.  The split's parts are channel slices: they leave
    the split node, part 1 (the bypass) dashed.  Returns (the node that writes the stage's output, its shape)."""
    sid = f"s{i}"
    taps = sp.taps
    node_of = {} if node_of is None else node_of
    neck = sp.part_name == "neck" and sp.name.startswith("neck.")
    if neck:
        j = int(sp.name.split(".")[1])
        role = NECK_ROLES[j] if j < len(NECK_ROLES) else sp.name
        cluster_label = _q(f"neck stage {j + 1} ({role}) \u2014 {FUSION_WORDS.get(sp.fusion, sp.fusion)}"
                           if plain_words else f"{sp.name} ({role}) \u2014 {sp.fusion}")
    elif plain_words:
        cluster_label = _q(f"stage {i + 1} \u2014 {FUSION_WORDS.get(sp.fusion, sp.fusion)}")
    else:
        cluster_label = _q(f"stage {i + 1} ({sp.name}) \u2014 {sp.fusion}")
    out = [f"  subgraph cluster_{sid} {{",
           f"    label={cluster_label}; style=\"rounded,dashed\"; color=\"#999999\"; fontsize=10;"]
    ops = sp.ops
    comp_of = {op.path: op.group[2] for op in ops}
    members: dict = {}
    for op in ops:
        members.setdefault(op.group[2], []).append(op)
    part1, part2 = _read_key(taps.get("part1")), _read_key(taps.get("part2"))
    split_node = f"{sid}_split" if part2 is not None else None
    concat_at = list(members).index("concat") if "concat" in members else len(members)
    drawn: dict = {}     # component -> node name
    edges: list = []
    seen_edges: set = set()

    def node(comp: str) -> str:
        if comp in drawn:
            return drawn[comp]
        name = f"{sid}_{NODE_NAMES.get(comp, comp)}"
        drawn[comp] = name
        if comp == "block" and expanded and _block_units(sp):
            return name    # drawn unit by unit (below)
        before = split_node is not None and list(members).index(comp) < concat_at if comp in members else False
        label, fill, shape = _component_label(cfg, sp, i, comp, members.get(comp, []), before)
        extra = f", shape={shape}" if shape else ""
        out.append(f"    {name} [label={_q(label)}, fillcolor=\"{FILL.get(fill, 'white')}\"{extra}];")
        return name

    def color_into(comp: str) -> str:
        if comp in ("block", "partial_transition", "concat"):
            return C_PART2 if split_node else C_PLAIN
        if comp == "transition":
            return C_PART2 if split_node and list(members).index(comp) < concat_at else C_TRANS
        if comp == "post":
            return C_MERGE
        return ""

    def edge(a: str, b: str, label: str, color: str = "", extra: str = "") -> None:
        key = (a, b, "dashed" in extra)   # one solid and one dashed edge at most between two nodes
        if key in seen_edges:
            return
        seen_edges.add(key)
        attrs = [f"label={_q(label)}"] + ([f"color=\"{color}\""] if color else []) + ([extra] if extra else [])
        edges.append(f"  {a} -> {b} [{', '.join(attrs)}];")

    def source(read: tuple) -> str:
        comp = comp_of.get(read[0])
        return node_of.get(read[0], prev) if comp is None else node(comp)

    # a tap with no layer of its own: a concat of one part passes it on (split ratio 1: part 1 is empty)
    virtual = {}
    if "concat" in taps and "concat" not in members:
        virtual[_read_key(taps["concat"])] = "concat"
    block_readers = 0
    for op in ops:
        comp = op.group[2]
        if comp in EDGE_COMPONENTS:
            continue
        for read in op.reads:
            src_comp = comp_of.get(read[0])
            label = _shape(plan.read_shape(read))
            if src_comp in EDGE_COMPONENTS:   # part 1 through its own pool: one dashed edge, said on it
                inner = members[src_comp][0].reads[0]
                if inner == part1:
                    words = f"part 1: {_shape(plan.read_shape(inner))}{EDGE_COMPONENTS[src_comp]}"
                    edge(split_node, node(comp), words, C_PART1, f"fontcolor=\"{C_PART1}\", penwidth=1.6, style=dashed")
                continue
            if read == part1 and split_node:
                edge(split_node, node(comp), f"part 1: {label}", C_PART1,
                     f"fontcolor=\"{C_PART1}\", penwidth=1.6, style=dashed")
                continue
            if read == part2 and split_node and comp != "split":
                if "split" not in members:     # the split is a slice: its node comes after the writer
                    if "split" not in drawn:
                        whole = plan.source_shape(read[0])
                        edge(source(read), node("split"), _shape(whole))
                if comp == "block":
                    block_readers += 1
                    if block_readers > 1 and op.kind == "cat":   # C2f / ELAN: part 2 is one of the taps
                        edge(split_node, node(comp) + "", "part 2 also concatenated", C_PART2,
                             f"fontcolor=\"{C_PART2}\", style=dashed")
                        continue
                if comp == "concat" and len(op.reads) > 2:   # the one concat of every tap reads part 2 too
                    edge(split_node, node(comp), f"part 2: {label}", C_PART2,
                         f"fontcolor=\"{C_PART2}\", style=dashed")
                    continue
                edge(split_node, node(comp), label, color_into(comp),
                     "penwidth=1.6" if comp == "block" else "")
                continue
            if src_comp == comp:
                continue
            if read in virtual and comp != virtual[read]:
                via = node(virtual[read])
                edge(source(read), via, label, color_into(virtual[read]))
                edge(via, node(comp), label, color_into(comp))
                continue
            edge(source(read), node(comp), label, color_into(comp), "penwidth=1.6" if comp == "block" else "")
    if expanded and "block" in drawn:
        drawn["block"] = _expanded_block(out, edges, cfg, sp, i, sid, drawn["block"])
    # the node that writes the stage's output (a stage with no layers passes its input on)
    last = virtual.get(_read_key(taps["output"])) or comp_of.get(taps["output"].src)
    if last in virtual.values() and last not in drawn:   # the stage ends at the pass-through concat
        via = node(last)
        edge(drawn.get(comp_of.get(taps["output"].src), prev), via, _shape(taps["output"]), color_into(last))
    out.append("  }")
    lines.extend(out)
    lines.extend(edges)
    end = drawn.get(last, prev) if last is not None else prev
    for op in ops:   # where a later stage finds what this one wrote (its output: the node that ends the stage)
        node_of[op.path] = drawn.get(comp_of[op.path], prev)
    node_of[taps["output"].src] = end
    return end, taps["output"]


def _expanded_block(out: list, edges: list, cfg, sp: StagePlan, i: int, sid: str, name: str) -> str:
    """Replace the block's node ``name`` by its units (a dense layer, a bottleneck), long runs elided, and
    C2f / ELAN's concat of every tap; returns the node that now writes the block's output."""
    units = _block_units(sp)
    if not units:
        return name
    shown = units if len(units) <= MAX_EXPANDED_BLOCKS else units[:3] + [None] + units[-2:]
    color = C_PART2 if "part2" in sp.taps else C_PLAIN
    nodes, chain = [], []
    for k, u in enumerate(shown):
        n = f"{sid}_b{k}"
        if u is None:
            label = f"\u2026 {len(units) - 5} more blocks \u2026"
            nodes.append(f"    {n} [label={_q(label)}, fillcolor=\"{FILL['block']}\", shape=plaintext];")
        else:
            label = f"{_unit_label(cfg, i, u[0])}\n\u2192 {_shape(u[2])}"
            nodes.append(f"    {n} [label={_q(label)}, fillcolor=\"{FILL['block']}\"];")
        chain.append((n, u))
    all_taps = any(op.path == f"{sp.name}.block.cat" for op in sp.ops)
    if all_taps:
        n = f"{sid}_b{len(shown)}"
        label = f"concat of every tap\n\u2192 {_shape(sp.taps['block'])}"
        nodes.append(f"    {n} [label={_q(label)}, fillcolor=\"{FILL['concat']}\"];")
        chain.append((n, "cat"))
    out.extend(nodes)
    first, last = chain[0][0], chain[-1][0]
    # edges into the rolled-up node now enter its first unit, edges out of it leave its last
    for k, e in enumerate(edges):
        a, _, rest = e.strip().partition(" -> ")
        b, _, attrs = rest.partition(" [")
        if b == name and "also concatenated" not in attrs:
            edges[k] = f"  {a} -> {first} [{attrs}" if attrs else f"  {a} -> {first};"
        elif b == name:
            edges[k] = f"  {a} -> {last} [{attrs}"
        elif a == name:
            edges[k] = f"  {last} -> {b} [{attrs}" if attrs else f"  {last} -> {b};"
    for (a, ua), (b, ub) in zip(chain, chain[1:]):
        if ua is None:
            edges.append(f"  {a} -> {b} [style=dotted, color=\"{color}\"];")
        elif ub is None:
            edges.append(f"  {a} -> {b} [style=dotted, color=\"{color}\"];")
        else:
            edges.append(f"  {a} -> {b} [label={_q(_shape(ua[2]))}, color=\"{color}\"];")
    if all_taps:
        for a, u in chain[:-2]:
            if u is not None:
                edges.append(f"  {a} -> {last} [style=dashed, color=\"{C_PART2}\"];")
    concat = next((op for op in sp.ops if op.path == f"{sp.name}.concat"), None)
    if not all_taps and concat is not None and len(concat.reads) > 2:   # one concat reads every block's output
        for a, u in chain[:-1]:
            if u is not None:
                edges.append(f"  {a} -> {sid}_concat [label={_q(_shape(u[2]))}, style=dashed, "
                             f"color=\"{C_PART2}\"];")
    return last
