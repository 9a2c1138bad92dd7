"""Per-stage summary of a design and its comparisons, from the analytic plan: with its plain twin
(the same knobs without CSP) and with its paper base (the plain preset the CSPNet paper compares the
design's preset against, e.g. cspresnet50 -> resnet50, at the design's input size).

Everything here is computed from the config alone (no model build), fast enough for every rerun
of the app; the live trace (``explorer.real.trace``) checks these numbers against the real model.
"""
from __future__ import annotations

from cspnet import ConfigError, CSPConfig, family_fields, plan_network
from cspnet.config import FIELDS
from cspnet.plan import TAP_LABELS, TAP_ORDER
from cspnet.presets import base_config
from explorer.counts.conventions import (
    CONVENTIONS,
    all_activations,
    cio,
    conv_activations,
    count,
    group_counts,
    stage_counts,
)

DTYPE_BYTES = {"fp32": 4, "bf16": 2, "fp16": 2}

# Metrics compared against the plain twin and the paper base: key -> (label, unit)
METRICS = {
    "params": ("Parameters", ""),
    "macs": ("MACs (conv + linear)", "MAC"),
    "fvcore_macs": ("fvcore / timm MACs", "MAC"),
    "cio": ("Memory traffic (CIO)", "elements"),
    "activations": ("Activations (all layers)", "elements"),
}


def summarize(cfg: CSPConfig, batch: int = 1, fused: bool = False) -> dict:
    """A JSON-safe summary: totals in every convention, memory, and one row per stage.  ``fused``: of the
    network with each BatchNorm that follows a conv folded into it (``explorer.counts.fuse``), as
    Ultralytics' fused figures are counted."""
    plan = plan_network(cfg)
    if fused:
        from explorer.counts.fuse import fuse_plan

        plan = fuse_plan(plan)
    totals, stages = plan_summary(plan, batch, activation=getattr(cfg, "activation", None))
    detector = detector_outputs(plan, batch) if plan.has_detection_head else {}
    return {
        "name": cfg.name,
        "family": cfg.family,
        "fusion": cfg.fusion,
        "input_size": cfg.input_size,
        "config": cfg.to_dict(),
        "fused": fused,
        **totals,
        "output_shape": [batch, *plan.output_shape[:1]],   # a classifier's logits (a detector's: below)
        **detector,
        "stages": stages,
    }


# a detector's neck stages (cspnet/families/_detect.py: neck.0 .. neck.3), in the plan's order
NECK_ROLES = ("top-down to P4", "top-down to P3", "bottom-up to P4", "bottom-up to P5")


def has_detection_head(cfg) -> bool:
    """Whether design ``cfg`` is a detector, read from its plan: its head reads output scales (taps ``p0``...),
    whichever family planned it (a ``task=detect`` design, an opened detection YAML, a Darknet detector cfg)."""
    try:
        return plan_network(cfg).has_detection_head
    except ConfigError:
        return False


def detector_outputs(plan, batch: int = 1) -> dict:
    """A detector plan's output scales, as ``explorer.io.ultralytics_det.summarize_detector`` reports them:
    ``outputs`` the (C, H, W) of every scale Detect reads (its head's taps p0, p1, ... = P3, P4, P5; a Darknet
    cfg's: its ``[yolo]`` layers' inputs), ``strides`` the input size over each scale's height, ``scales`` their
    names (P3 = stride 8); ``output_shape`` what the model returns (the last scale's, where it returns one tensor
    per scale) and ``output_text`` what that is, in words:

    * Ultralytics' anchor-free Detect (its DFL in the plan): ``(batch, 4 + classes, anchor points)``;
    * YOLOv5's / YOLOv7's anchor-based Detect (one tensor, ``(anchors, outputs, 1)`` in the plan):
      ``(batch, anchors x cells, 5 + classes)``;
    * Darknet's ``[yolo]`` layers: one tensor per scale."""
    head = plan.stages[-1]
    outs = [list(head.taps[f"p{j}"]) for j in range(len(head.taps)) if f"p{j}" in head.taps]
    size = plan.input_shape[1]
    strides = [size // o[1] if o[1] else 0 for o in outs]
    cells = sum(o[1] * o[2] for o in outs)
    c, n, w = plan.output_shape
    if any("dfl" in (op.attrs or {}) for op in head.ops):
        shape = [batch, c, n]
        text = (f"{c} \u00d7 {n:,} (4 DFL box distances + {c - 4} class scores for each anchor point, one per "
                "cell of every scale)")
    elif w == 1 and cells and c % cells == 0:
        shape = [batch, c, n]
        text = (f"{c:,} \u00d7 {n} ({c // cells} anchors per cell of every scale, each with 4 box values, an "
                f"objectness and {n - 5} class scores)")
    else:
        shape = [batch, c, n, w]
        text = ("one tensor per scale (" + ", ".join("\u00d7".join(map(str, o)) for o in outs)
                + "), which Darknet's [yolo] layers decode")
    return {"outputs": outs, "strides": strides, "output_shape": shape, "output_text": text,
            "scales": [f"P{s.bit_length() - 1}" if s else f"p{j}" for j, s in enumerate(strides)]}


def stage_role(stage: dict, input_size: int) -> str:
    """What a stage does in a detector, in a few words: a backbone stage the scale it writes ("P4 (stride 16)"),
    a neck stage its path and scale (:data:`NECK_ROLES`), the head "Detect on P3, P4, P5"; '' otherwise.
    ``stage``: a row of a summary's ``stages``."""
    name, shapes = stage["name"], stage["shapes"]
    if stage["part"] == "neck" and name.startswith("neck."):
        j = int(name.split(".")[1])
        return NECK_ROLES[j] if j < len(NECK_ROLES) else ""
    if stage["kind"] == "head":
        scales = [shapes[k] for k in sorted(shapes) if k[:1] == "p" and k[1:].isdigit()]
        levels = [f"P{(input_size // s[1]).bit_length() - 1}" for s in scales if s[1]]
        return "Detect on " + ", ".join(levels) if levels else ""
    out = shapes.get("output")
    if out and len(out) == 3 and out[1]:
        stride = input_size // out[1]
        return f"P{stride.bit_length() - 1} (stride {stride})"
    return ""


def plan_summary(plan, batch: int = 1, conventions=CONVENTIONS, activation: str | None = None) -> tuple:
    """(totals, stage rows) of a plan: params, MACs and the other headline counts, memory at ``batch``,
    the value of every counting convention in ``conventions`` (label, unit, what it includes), and per
    stage its taps' shapes, counts and its value in every convention (``conventions``: key -> value, in
    the convention's unit; the stages' values add up to the total).  A design's summary
    (:func:`summarize`) and an imported network's (``explorer.io.darknet.summarize_net``) are both built
    on it.  ``training``: one training step's FLOPs and the activations it keeps for the backward pass
    (:mod:`explorer.counts.training`; ``activation``: the network's, which decides what an activation saves)."""
    from explorer.counts.training import training_summary

    macs = count(plan, "macs")
    acts = all_activations(plan)
    per_stage = {sp.name: stage_counts(sp) for sp in plan.stages}   # each stage's per-kind totals: no op loop
    train_totals, train_stages = training_summary(plan, batch, activation)
    stages = []
    for sp in plan.stages:
        c = per_stage[sp.name]
        stages.append({
            "name": sp.name,
            "kind": sp.kind,
            "part": sp.part_name,
            "fusion": sp.fusion,
            "repeats": sp.repeats,
            **({"module": sp.module} if sp.module else {}),   # (a file's stage: its module or block)
            "shapes": {tap: list(shape) for tap, shape in sp.taps.items()},
            **c,
            "macs_share": c["macs"] / max(macs, 1),
            "conventions": {k: conv.on_totals(sp.by_kind) for k, conv in conventions.items()},
            "training": {k: v for k, v in train_stages[sp.name].items() if k != "name"},
        })
    totals = {
        "params": plan.params,
        "macs": macs,
        "fvcore_macs": count(plan, "fvcore"),
        "flops": count(plan, "flops"),
        "cio": cio(plan),
        "activations": acts,
        "conv_activations": conv_activations(plan),
        "memory": memory(plan.params, acts, batch),
        "conventions": {k: {"label": c.label, "unit": c.unit, "includes": c.includes,
                            "value": count(plan, k)} for k, c in conventions.items()},
        "training": train_totals,
        "parts": part_summary(stages, conventions),
    }
    return totals, stages


PARTS = ("backbone", "neck", "head")   # a network's parts (``StagePlan.part_name``), in a detector's forward order


def part_summary(stages: list, conventions=CONVENTIONS) -> list:
    """One row per part of the network (backbone, neck, head: each stage's ``part``), in forward order
    (the order of each part's first stage): ``{name, params, macs, conventions: {key: value}, stages: [names]}``,
    summed from the stage rows of :func:`plan_summary` (each from its stage's per-kind totals: no op loop).
    Every stage is in exactly one part, so the parts add up to the totals in every convention."""
    parts: dict = {}
    for st in stages:
        p = parts.get(st["part"])
        if p is None:
            p = parts[st["part"]] = {"name": st["part"], "params": 0, "macs": 0,
                                     "conventions": dict.fromkeys(conventions, 0), "stages": []}
        p["params"] += st["params"]
        p["macs"] += st["macs"]
        for k in conventions:
            p["conventions"][k] += st["conventions"][k]
        p["stages"].append(st["name"])
    return list(parts.values())


def stage_span(names: list) -> str:
    """Stage names in a few words, runs of consecutive numbered stages joined: "stem, stages.0-3"."""
    runs: list = []   # [prefix, first, last] or [name, None, None]
    for name in names:
        prefix, _, num = name.rpartition(".")
        if prefix and num.isdigit():
            i = int(num)
            if runs and runs[-1][0] == prefix and runs[-1][2] == i - 1:
                runs[-1][2] = i
                continue
            runs.append([prefix, i, i])
        else:
            runs.append([name, None, None])
    return ", ".join(r[0] if r[1] is None else f"{r[0]}.{r[1]}" + (f"-{r[2]}" if r[2] != r[1] else "")
                     for r in runs)


PART_SHARE_COLUMN = "share"
PART_METRICS = ("params", "macs")   # compared part by part (MACs: conv + linear, as the totals' "macs")


def _delta(a, b) -> dict:
    return {"delta": None if a is None or b is None else a - b,
            "delta_pct": (100.0 * (a - b) / b) if a is not None and b else None}


def part_deltas(design: dict, reference: dict | None, ref_key: str = "twin") -> list:
    """Each part of ``design`` (a :func:`summarize` summary) against the same part of ``reference`` (its plain
    twin or paper base; None: no reference): ``[{name, params: {design, <ref_key>, reference, delta, delta_pct},
    macs: {...}}]`` in the design's part order, then any part only the reference has (design None).  A part
    the other side lacks has None for it and no delta.  Generic: any design with parts (a classifier has
    backbone and head; a detector backbone, neck and head)."""
    mine = {p["name"]: p for p in design["parts"]}
    theirs = {} if reference is None else {p["name"]: p for p in reference["parts"]}
    out = []
    for name in list(mine) + [n for n in theirs if n not in mine]:
        row: dict = {"name": name}
        for key in PART_METRICS:
            a = mine[name][key] if name in mine else None
            b = theirs[name][key] if name in theirs else None
            row[key] = {"design": a, ref_key: b, "reference": b, **_delta(a, b)}
        out.append(row)
    return out


def part_table(summary: dict, convention: str = "macs", reference: dict | None = None,
               ref_name: str = "twin") -> list:
    """The parts of a summary as table rows: part, its stages in a few words, params, its count in
    ``convention`` (the column named by the convention's label) and its share of that count's total.
    ``reference`` (a summary: the plain twin, the paper base): two more columns, ``params vs <ref_name> %`` and
    ``<short> vs <ref_name> %``, each part's change against the reference's same part (None where it has none)."""
    if convention not in CONVENTIONS:
        raise ConfigError("convention", f"{convention!r} is not a counting convention; allowed: "
                          + ", ".join(CONVENTIONS))
    c = CONVENTIONS[convention]
    total = summary["conventions"][convention]["value"]
    theirs = {} if reference is None else {p["name"]: p for p in reference["parts"]}
    rows = []
    for p in summary["parts"]:
        row = {"part": p["name"], "stages": stage_span(p["stages"]), "params": p["params"],
               c.label: p["conventions"][convention],
               PART_SHARE_COLUMN: round(p["conventions"][convention] / total, 4) if total else 0.0}
        if reference is not None:
            r = theirs.get(p["name"])
            row[f"params vs {ref_name} %"] = _delta(p["params"], r and r["params"])["delta_pct"]
            row[f"{c.short} vs {ref_name} %"] = _delta(p["conventions"][convention],
                                                       r and r["conventions"][convention])["delta_pct"]
        rows.append(row)
    return rows


def memory(params: int, activations: int, batch: int) -> dict:
    return {
        "batch": batch,
        "param_bytes": {k: params * b for k, b in DTYPE_BYTES.items() if k != "fp16"},
        "activation_bytes": {k: activations * batch * b for k, b in DTYPE_BYTES.items() if k != "fp16"},
        "note": "activation bytes = elements written by every layer in one forward pass x batch x "
                "bytes per element (inference needs less; what a training step keeps for its backward pass is "
                "the summary's training figure)",
    }


def deltas(design: dict, reference: dict, ref_key: str) -> dict:
    """key -> {label, unit, design, <ref_key>, reference, delta, delta_pct}: the design's METRICS
    against a reference summary; ``ref_key`` ("twin" or "base") names the reference's value, which
    ``reference`` repeats so that one renderer reads both comparisons."""
    out = {}
    for key, (label, unit) in METRICS.items():
        a, b = design[key], reference[key]
        out[key] = {"label": label, "unit": unit, "design": a, ref_key: b, "reference": b, "delta": a - b,
                    "delta_pct": (100.0 * (a - b) / b) if b else None}
    return out


def compare_with_twin(cfg: CSPConfig, batch: int = 1, fused: bool = False) -> dict:
    """The design, its plain twin (same config, fusion='none') and the deltas, absolute and in %, in total
    (``deltas``) and part by part (``part_deltas``: backbone, neck, head; :func:`part_deltas`) (``fused``: both
    counted with each conv's BatchNorm folded into it, :func:`summarize`).

    A valid design whose plain twin is no valid network (a lineage block that needs channel counts
    the whole width does not give, e.g. attention heads) gets :func:`compare_without_twin`."""
    design = summarize(cfg, batch, fused)
    try:
        twin_cfg = cfg.twin()
    except ConfigError as exc:
        return compare_without_twin(cfg, str(exc), batch, fused)
    twin = design if twin_cfg == cfg else summarize(twin_cfg, batch, fused)
    return {"design": design, "twin": twin, "deltas": deltas(design, twin, "twin"),
            "part_deltas": part_deltas(design, twin, "twin"), "twin_config": twin_cfg.to_dict()}


def compare_without_twin(cfg: CSPConfig, reason: str, batch: int = 1, fused: bool = False) -> dict:
    """:func:`compare_with_twin`'s structure for a design whose plain twin is no valid network (a lineage
    block that needs channel counts the whole width does not give, e.g. attention heads): the design
    alone, ``twin`` None, every delta None, and ``twin_error`` (why the twin is invalid)."""
    design = summarize(cfg, batch, fused)
    out = {key: {"label": label, "unit": unit, "design": design[key], "twin": None, "reference": None,
                 "delta": None, "delta_pct": None} for key, (label, unit) in METRICS.items()}
    return {"design": design, "twin": None, "deltas": out, "part_deltas": part_deltas(design, None, "twin"),
            "twin_config": None, "twin_error": reason}


def compare_with_base(cfg: CSPConfig, base_name: str | None, batch: int = 1, fused: bool = False) -> dict | None:
    """The design against its paper base: preset ``base_name`` (``cspnet.presets.paper_base`` of the
    preset the design started from) at the design's input size.  The same delta structure as
    :func:`compare_with_twin` (each delta's reference value under ``"base"``); None when there is no
    base.  ``twin_differs_in`` lists the fields a plain network reads where the twin and the base
    disagree (what makes the two comparisons differ); ``same_as_twin`` is True when there are none:
    the twin *is* the base network.  ``fused``: both counted with each conv's BatchNorm folded into it."""
    if not base_name:
        return None
    base_cfg = base_config(base_name, cfg.input_size)
    design = summarize(cfg, batch, fused)
    base = summarize(base_cfg, batch, fused)
    twin = cfg.twin()
    if base_cfg.family != cfg.family:
        differs = ["family"]
    else:  # the fields a plain network reads, where the twin and the base disagree
        differs = [f for f in family_fields(cfg.family)
                   if f not in ("family", "name", "fusion") and not FIELDS[f].csp_only
                   and getattr(twin, f) != getattr(base_cfg, f)]
    return {"design": design, "base": base, "base_name": base_name, "input_size": cfg.input_size,
            "deltas": deltas(design, base, "base"), "part_deltas": part_deltas(design, base, "base"),
            "base_config": base_cfg.to_dict(),
            "twin_differs_in": differs, "same_as_twin": not differs}


def stage_table(summary: dict, convention: str = "macs") -> list:
    """Flat rows (one per stage) for tables and CSV: shapes as 'CxHxW' per tap point, and the stage's count
    in ``convention`` (any key of :data:`~explorer.counts.conventions.REGISTRY`; the column is named by the
    convention's label, its values in the convention's unit, and they add up to the summary's total).

    Tap columns follow the forward order (``cspnet.plan.TAP_ORDER``); a tap a stage lacks is '',
    and so are the fusion and the repeats of the stem and the head (no None, which tables show as
    "None" or NaN; :func:`stage_frame` makes the repeats a nullable integer column for display).
    """
    if convention not in CONVENTIONS:
        raise ConfigError("convention", f"{convention!r} is not a counting convention; allowed: "
                          + ", ".join(CONVENTIONS))
    column = CONVENTIONS[convention].label
    present = {tap for stage in summary["stages"] for tap in stage["shapes"]}
    taps = [t for t in TAP_ORDER if t in present] + sorted(present - set(TAP_ORDER))
    blocks = _stage_blocks(summary)
    roles = "outputs" in summary   # a detector: each stage's role (the scale it writes, the neck's path)
    modules = any(stage.get("module") for stage in summary["stages"])   # a file's: each stage's module
    rows = []
    for stage in summary["stages"]:
        row = {"stage": stage["name"], **({"module": stage.get("module", "")} if modules else {}),
               "fusion": stage["fusion"] if stage["kind"] == "stage" else "",
               "repeats": stage["repeats"] if stage["kind"] == "stage" and stage["repeats"] else "",
               "part": stage["part"]}
        if roles:
            row[ROLE_COLUMN] = stage_role(stage, summary["input_size"])
        if blocks:
            row[BLOCK_COLUMN] = blocks.get(stage["name"], "")
        for tap in taps:
            shape = stage["shapes"].get(tap)
            row[TAP_LABELS.get(tap, tap)] = "x".join(str(d) for d in shape) if shape else ""
        row["params"] = stage["params"]
        row[column] = stage["conventions"][convention]
        row["CIO (elements)"] = stage["cio"]
        row["activations (elements)"] = stage["activations"]
        if "training" in stage:
            row[TRAIN_FLOPS_COLUMN] = stage["training"]["step_flops"]
            row[TRAIN_SAVED_COLUMN] = stage["training"]["saved_elements"]
        row["share of MACs"] = round(stage["macs_share"], 4)
        rows.append(row)
    return rows


BLOCK_COLUMN = "block (taps)"
ROLE_COLUMN = "role"
TRAIN_FLOPS_COLUMN = "training step FLOPs (fwd+bwd, per image)"
TRAIN_SAVED_COLUMN = "kept for backward (elements per image)"


def _stage_blocks(summary: dict) -> dict:
    """Stage name -> its block type and taps ("bottleneck_3x3 (all taps)", "psa (last tap)"), for the
    families that choose them per stage (the lineage: ``block_type`` and ``taps``); {} for the others."""
    cfg = summary.get("config") or {}
    if not (FIELDS["block_type"].reads(summary["family"]) and cfg.get("block_type") and cfg.get("taps")):
        return {}
    words = {"all": "all taps", "last": "last tap"}
    out = {f"stages.{i}": f"{b} ({words.get(t, t)})" for i, (b, t) in enumerate(zip(cfg["block_type"], cfg["taps"]))}
    if "outputs" in summary and cfg.get("neck_block_type"):   # a detector's neck stages: the neck_ fields
        out.update((f"neck.{j}", f"{b} ({words.get(t, t)})")
                   for j, (b, t) in enumerate(zip(cfg["neck_block_type"], cfg["neck_taps"])))
    return out


def stage_frame(rows: list):
    """The rows of :func:`stage_table` as a DataFrame for display: ``repeats`` a nullable integer
    column (pandas ``Int64``), blank for the stem and the head rather than "None" or NaN."""
    import pandas as pd

    df = pd.DataFrame(rows)
    if "repeats" in df.columns:
        df["repeats"] = pd.array([None if v in ("", None) else int(v) for v in df["repeats"]], dtype="Int64")
    return df


BLOCK_METRICS = ("layers", "params", "macs", "fvcore_macs", "cio", "activations")


def block_rows(cfg: CSPConfig, stage: str) -> list:
    """Per-block rows of one stage (on demand): each block unit's input/output shape and counts.

    Layers outside the repeated blocks (split, transitions, concat) are grouped under their own
    submodule name, so the rows add up to the stage's totals.
    """
    plan = plan_network(cfg)
    names = [sp.name for sp in plan.stages]
    if stage not in names:
        raise ConfigError("stage", f"{stage!r} is not a stage of this design; allowed: {', '.join(names)}")
    sp = plan.stage(stage)
    prefix = f"{sp.name}."

    def unit(op) -> str:
        rest = op.path[len(prefix):] if op.path.startswith(prefix) else op.path
        parts = rest.split(".")
        return ".".join(parts[:2]) if parts[0] == "block" and len(parts) > 1 else parts[0]

    counts = group_counts(sp.ops, by=unit, metrics=BLOCK_METRICS)
    ends: dict = {}  # unit -> [input shape, output shape]
    for op in sp.ops:
        u = unit(op)
        if u not in ends:  # a dense layer starts with the concat of its inputs: its input is that output
            ends[u] = [op.out_shape if (op.kind == "cat" and u.startswith("block.")) else op.in_shape, None]
        ends[u][1] = op.out_shape
    rows = []
    for u, c in counts.items():
        rows.append({"unit": u, "input": "x".join(map(str, ends[u][0])), "output": "x".join(map(str, ends[u][1])),
                     **c})
    return rows


# --------------------------------------------------------------------------- the Design page's views
STAGE_VIEWS = {"counts": "Counts per stage", "shapes": "Shapes at each tap point (C x H x W)"}
SHARE_COLUMN = "share of MACs"


def stage_view(rows: list, view: str = "counts", convention: str = "macs") -> tuple:
    """(DataFrame, blocks) of :func:`stage_table`'s rows as one view of the stage table shows them.

    Columns that are blank on every row are dropped; text columns mixing '' and numbers become text.
    ``"shapes"``: the stage, its block type and taps (the lineage), its part and the tap shapes.  ``"counts"``:
    the stage, fusion, repeats, part (backbone, neck, head), the stage's output shape and the counts, the
    share of MACs right after the ``convention``'s column.  ``blocks``: each row's block text
    (:data:`BLOCK_COLUMN`), [] where the family chooses no block per stage."""
    import pandas as pd

    if view not in STAGE_VIEWS:
        raise ConfigError("view", f"{view!r} is not a stage table view; allowed: {', '.join(STAGE_VIEWS)}")
    df = stage_frame(rows)  # repeats: nullable integers, blank for the stem and the head
    df = df[[col for col in df.columns if not (df[col].astype(str) == "").all()]]
    for col in df.columns:  # text columns mixing '' and numbers
        if not pd.api.types.is_numeric_dtype(df[col]):
            df[col] = df[col].astype(str)
    shape_cols = [col for col in df.columns if not pd.api.types.is_numeric_dtype(df[col])
                  and col not in ("stage", "fusion", "repeats", "part", ROLE_COLUMN, BLOCK_COLUMN)]
    blocks = df[BLOCK_COLUMN].tolist() if BLOCK_COLUMN in df.columns else []
    if view == "shapes":  # the lineage's block types beside the shapes (the counts view has no room for them)
        return df[["stage"] + ([BLOCK_COLUMN] if blocks else []) + (["part"] if "part" in df.columns else [])
                  + ([ROLE_COLUMN] if ROLE_COLUMN in df.columns else []) + shape_cols], blocks
    df = df[[col for col in df.columns if (col not in shape_cols or col == "stage output") and col != BLOCK_COLUMN]]
    share = [col for col in df.columns if col == SHARE_COLUMN]
    rest = [col for col in df.columns if col not in share]
    label = CONVENTIONS[convention].label
    at = rest.index(label) + 1 if label in rest else len(rest)
    return df[rest[:at] + share + rest[at:]], blocks  # stage..the count, then the share, then CIO, activations


def blocks_caption(stages: list, blocks: list) -> str:
    """The lineage's block type and taps per stage in one line, runs of equal stages together:
    "Blocks: stages.0-1 bottleneck_3x3 (all taps); stages.2-3 c3k (all taps); stages.4 psa (last tap)"."""
    runs: list = []  # [first stage index, last stage index, block text, "stages" or "neck"]
    for name, b in zip(stages, blocks):
        prefix, _, idx = name.partition(".")
        if not b or prefix not in ("stages", "neck") or not idx.isdigit():
            continue
        i = int(idx)
        if runs and runs[-1][2] == b and runs[-1][1] == i - 1 and runs[-1][3] == prefix:
            runs[-1][1] = i
        else:
            runs.append([i, i, b, prefix])
    parts = [f"{p}.{a}" + (f"-{z}" if z != a else "") + f" {b}" for a, z, b, p in runs]
    return ("Blocks on part 2 (block type, and which outputs the concat takes): " + "; ".join(parts)
            + ". The Shapes view lists them per stage; the Diagram page draws them.")


def delta_tone(delta_pct) -> str:
    """How a delta in % reads: "green" lower (less compute or memory is better), "red" higher, "gray" for
    about no change (under 0.05 %) or no delta at all (None)."""
    if delta_pct is None or abs(delta_pct) < 0.05:
        return "gray"
    return "green" if delta_pct < 0 else "red"


def field_text(cfg_dict: dict, name: str) -> str:
    """A config field as one short text: a per-stage list as 'a-b-c', or its one value when all are equal."""
    v = cfg_dict.get(name)
    if isinstance(v, (list, tuple)):
        return "-".join(str(x) for x in v) if len(set(v)) > 1 else str(v[0])
    return str(v)


def why_they_differ(cfg: CSPConfig, bcmp: dict, preset_name: str | None) -> str:
    """One sentence: why the paper-base deltas (``bcmp``: :func:`compare_with_base`) differ from the
    plain-twin deltas, naming up to three fields where the twin and the base disagree (or that they agree)."""
    base = bcmp["base_name"]
    started = preset_name if preset_name and preset_name != cfg.name else cfg.name
    if bcmp["same_as_twin"]:
        return (f"Here the plain twin *is* {base} (the same knobs without CSP give the paper's base network), "
                "so the two comparisons agree.")
    fields = bcmp["twin_differs_in"]
    shown = [f for f in fields if f != "activation"][:3] or fields[:3]
    twin_cfg, base_cfg = cfg.twin().to_dict(), bcmp["base_config"]
    twin_txt = ", ".join(f"{f} {field_text(twin_cfg, f)}" for f in shown)
    base_txt = ", ".join(f"{f} {field_text(base_cfg, f)}" for f in shown)
    return (f"They differ because the twin keeps {started}'s own knobs ({twin_txt}), while the paper's base is "
            f"the {base} that {started} replaces ({base_txt}); the paper's claim is the second comparison.")


def no_base_text(cfg: CSPConfig, preset_name: str | None) -> str:
    """For a CSP design started from a preset with no paper base: why it is compared with its twin only
    ('' for a plain design or one not started from a preset)."""
    from cspnet import all_presets

    presets = all_presets()
    if not cfg.is_csp or preset_name not in presets:
        return ""
    p = presets[preset_name]
    if FIELDS["taps"].reads(p.config.get("family", cfg.family)):  # the lineage: after the CSPNet paper
        return (f"**No published plain counterpart**: {preset_name} ({p.reference}) was published as a CSP design "
                "after the CSPNet paper, with no plain version beside it, so the paper base does not apply: it is "
                "compared with its **plain twin** only (the same knobs without CSP: its blocks on the whole width, "
                "no split, a 1×1 transition where the widths need one).")
    return (f"**No paper base**: the CSPNet paper compares no plain preset with {preset_name}, so it is compared "
            "with its **plain twin** only (the same knobs without CSP).")
