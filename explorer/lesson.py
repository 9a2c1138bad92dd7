"""The guided lesson on the CSPNet idea: text, per-step designs and live numbers (no Streamlit).

Five steps, each built around one small design (one DenseNet stage, by default DenseNet-121's
first dense block: 64 input channels at 56x56, 6 layers, growth rate 32):

1. the dense block and its duplicated gradient information;
2. the split (part 1 bypasses, part 2 goes through the block; split ratio vs the paper's gamma);
3. the partial transition (truncating the gradient flow);
4. fusion first vs fusion last vs full CSP (paper Fig. 3 and Fig. 4);
5. memory traffic: the paper's CIO formula for a dense block and a partial dense block.

Every number shown is computed here from the engine (``cspnet.plan_network``,
``explorer.counts.analysis``, ``explorer.counts.conventions``) for the values the learner picked: nothing is a
stored result except the paper's own published numbers (``PAPER_FIG4``), which are labelled as such.
The page (``pages/Learn.py``) only lays this out.
"""
from __future__ import annotations

import inspect
from dataclasses import dataclass, field
from types import SimpleNamespace

from cspnet import ConfigError, CSPConfig, all_presets, get_preset, plan_network
from cspnet.config import FIELDS
from explorer.counts.analysis import compare_with_twin, summarize
from explorer.counts.conventions import cio
from explorer.counts.diagram import to_dot

STAGE = "stages.0"

# DenseNet-121's first dense block: c = 64 input channels at 56x56, m = 6 layers, growth d = 32.
BASE = dict(family="densenet", name="lesson", stem_channels=64, stem_kernel=7, stem_stride=2, stem_pool="max",
            repeats=(6,), growth_rate=32, bn_size=4, compression=0.5, transition_ratio=1.0,
            split_ratio=0.5, last_transition=True, fusion="none", input_size=224, num_classes=1000)

# What the paper reports (Fig. 4, CSPPeleeNet on ILSVRC2012; compute change vs PeleeNet and top-1
# change). Published values, not computed here: see shared reference published.md section 3.
PAPER_FIG4 = {
    "fusion_first": {"compute_pct": -26.0, "top1_pts": -1.5, "figure": "Fig. 3c"},
    "fusion_last": {"compute_pct": -21.0, "top1_pts": -0.1, "figure": "Fig. 3d"},
    "csp": {"compute_pct": -13.0, "top1_pts": +0.2, "figure": "Fig. 3b"},
}
PAPER_SOURCE = ("CSPNet paper (Wang et al., CVPRW 2020), Fig. 4: CSPPeleeNet variants on ILSVRC2012, "
                "compute (BFLOPs) and top-1 relative to PeleeNet")
PELEE_PRESETS = {"csp": "csppeleenet", "fusion_first": "csppeleenet_fusion_first",
                 "fusion_last": "csppeleenet_fusion_last"}
FUSION_ORDER = ("none", "fusion_first", "fusion_last", "csp")
FUSION_NAMES = {"none": "plain DenseNet (Fig. 3a)", "fusion_first": "fusion first (Fig. 3c)",
                "fusion_last": "fusion last (Fig. 3d)", "csp": "full CSP, CSPDenseNet (Fig. 3b)"}
# the lesson's settings per fusion, as the CSPDenseNet presets use them
FUSION_SETTINGS = {"none": {}, "csp": {"transition_ratio": 1.0}, "fusion_first": {},
                   "fusion_last": {"transition_ratio": 0.5}}
MAX_DRAWN_LAYERS = 8


# --------------------------------------------------------------------------- data types
@dataclass(frozen=True)
class Control:
    """One widget of a step. ``name`` is the value's key (and, where it is one, the config field)."""

    name: str
    label: str
    kind: str                       # "slider" (numbers) or "select" (options)
    default: object
    min: float | None = None
    max: float | None = None
    step: float | None = None
    options: tuple = ()
    help: str = ""


@dataclass(frozen=True)
class Number:
    """One live number: ``value`` in ``unit`` ('' for a count), an optional % change vs a reference."""

    label: str
    value: float
    unit: str = ""
    delta_pct: float | None = None
    help: str = ""
    lower_is_better: bool = True


@dataclass(frozen=True)
class Step:
    key: str
    title: str
    intro: str                      # markdown shown above the controls
    controls: tuple
    design_text: str                # what the small design is, for the link and the diagram caption
    paper: str = ""                 # where in the paper this is
    extra: dict = field(default_factory=dict)


# --------------------------------------------------------------------------- helpers on the plan
def _stage(cfg: CSPConfig):
    return next(s for s in plan_network(cfg).stages if s.name == STAGE)


def _stage_summary(summary: dict) -> dict:
    return next(s for s in summary["stages"] if s["name"] == STAGE)


def dense_layers(cfg: CSPConfig) -> list:
    """Per dense layer of the lesson's stage: how many earlier feature maps it reads, its input
    channels and the channels it adds, read from the analytic plan (not from a formula)."""
    sp = _stage(cfg)
    layers: dict = {}
    for op in sp.ops:
        parts = op.path.split(".")
        if len(parts) < 4 or parts[2] != "block" or not parts[3].startswith("denselayer"):
            continue
        j = int(parts[3][len("denselayer"):])
        d = layers.setdefault(j, {"layer": j, "reads": 1, "in_channels": None, "new_channels": None})
        if op.kind == "cat":
            d["reads"] = len(op.in_shapes)
            d["in_channels"] = op.out_shape[0]
        elif op.kind == "conv" and d["in_channels"] is None:
            d["in_channels"] = op.in_shape[0]  # the first layer reads the block input directly
        if op.kind == "conv":
            d["new_channels"] = op.out_shape[0]
    return [layers[j] for j in sorted(layers)]


def feature_reads(cfg: CSPConfig) -> list:
    """How many dense layers read each feature map x0, x1, ..., x_{m-1} of the block (from the
    plan: layer j reads the first ``reads`` maps).  x0's count is how many layers send gradient
    back into the block input during training."""
    layers = dense_layers(cfg)
    m = len(layers)
    return [sum(1 for L in layers if L["reads"] > i) for i in range(m)]


def plan_cio_channels(cfg: CSPConfig) -> int:
    """The paper's CIO of the lesson's (partial) dense block, per pixel, from the plan: every dense
    layer counted as one conv reading all its input channels and writing its new ones."""
    return sum(L["in_channels"] + L["new_channels"] for L in dense_layers(cfg))


def block_cio_elements(cfg: CSPConfig) -> int:
    """The engine's CIO of the real block (every conv, the 1x1 bottlenecks included), in elements."""
    sp = _stage(cfg)
    ops = [op for op in sp.ops if op.path.startswith(f"{STAGE}.block.")]
    return cio(SimpleNamespace(ops=ops))


def cio_formula(c: int, m: int, d: int) -> dict:
    """The paper's formulas: dense block ``c*m + (m^2+m)*d/2``; partial dense block (half of the
    ``c`` base channels enter) ``((c*m) + (m^2+m)*d)/2``."""
    dense = c * m + (m * m + m) * d / 2
    partial = ((c * m) + (m * m + m) * d) / 2
    return {"dense": dense, "partial": partial, "saving_pct": 100.0 * (dense - partial) / dense if dense else 0.0,
            "bound_pct": 50.0}


def _pct(a, b):
    return 100.0 * (a - b) / b if b else None


# --------------------------------------------------------------------------- designs
def lesson_design(**changes) -> CSPConfig:
    """The lesson's one-stage design with ``changes`` (config fields). Raises ConfigError."""
    data = dict(BASE)
    data.update(changes)
    return CSPConfig(**data)


def step_design(step_key: str, values: dict) -> CSPConfig:
    """The small design a step shows for the learner's ``values``."""
    v = {**defaults(step_key), **(values or {})}
    if step_key == "dense":
        return lesson_design(repeats=(int(v["layers"]),), name="lesson_dense_block")
    if step_key == "split":
        return lesson_design(fusion="csp", split_ratio=float(v["split_ratio"]), name="lesson_split")
    if step_key == "transition":
        return lesson_design(fusion="csp", transition_ratio=float(v["transition_ratio"]),
                             name="lesson_partial_transition")
    if step_key == "fusion":
        f = v["fusion"]
        return lesson_design(fusion=f, name=f"lesson_{f}", **FUSION_SETTINGS.get(f, {}))
    if step_key == "cio":
        return lesson_design(fusion="csp" if v["partial"] else "none", stem_channels=int(v["c"]),
                             repeats=(int(v["m"]),), growth_rate=int(v["d"]), name="lesson_cio")
    raise KeyError(step_key)


# --------------------------------------------------------------------------- steps
STEPS = (
    Step(
        "dense", "1. DenseNet's dense block and its duplicated gradients",
        "In a **dense block** every layer reads the concatenation of *all* earlier feature maps: "
        "layer *j* sees the block input x₀ plus x₁ … x₍ⱼ₋₁₎ and adds *d* (the growth rate) new "
        "channels.  That is good for feature reuse.  But it also means that during training the "
        "gradient flowing back into x₀ is the sum of contributions from **every** layer that read "
        "it, and those layers all saw the same features: the paper calls this a large amount of "
        "**duplicated gradient information**.  Move the slider: the number of reads grows with the "
        "square of the depth.",
        (Control("layers", "Layers m in the dense block", "slider", 6, 1, 16, 1,
                 "DenseNet-121's first block has 6, its third 24."),),
        "one DenseNet stage: 64 input channels at 56×56 (DenseNet-121's first block), growth rate 32, "
        "plain (fusion 'none')",
        "Sec. 3.1, Eqs. 1-2 (DenseNet's forward and weight-update equations)",
    ),
    Step(
        "split", "2. The split: part 1 bypasses, part 2 goes through the block",
        "CSPNet splits the stage's base feature map by channel into two parts, x₀ = [x₀′, x₀″].  "
        "**Part 2** (x₀″) is the input of an ordinary dense block, the **partial dense block**; "
        "**part 1** (x₀′) skips the block and is concatenated back at the end.  Only part 2 is "
        "read by the dense layers, so only part 2 collects the duplicated gradients; part 1's "
        "gradient goes straight back to the stage input.  This app's **split ratio** is the share "
        "that goes *through* the block; the paper's partial ratio **γ** is the share that "
        "*bypasses* it, γ = 1 − split ratio (the paper does not say which side γ measures; its "
        "Table 1 numbers fit the bypass share).",
        # a narrower range than the field's (0, 1]: thinner splits leave part 2 almost no channels
        (Control("split_ratio", FIELDS["split_ratio"].label, "slider", 0.5, 0.05, 1.0, 0.05,
                 FIELDS["split_ratio"].help + " 0.5 is the paper's default: half the channels enter the block."),),
        "the same stage as CSPDenseNet (fusion 'csp', partial transition keeping its width)",
        "Sec. 3.1, Fig. 2b, Eqs. 3-4 (partial dense block)",
    ),
    Step(
        "transition", "3. The partial transition: truncating the gradient flow",
        "After the partial dense block CSPNet puts a **transition layer on the block path only** "
        "(x_T = w_T ∗ [x₀″, x₁, …, x_k]) before concatenating with part 1 and applying a second "
        "transition (x_U = w_U ∗ [x₀′, x_T]).  The gradient that reaches the dense layers must now "
        "pass through that partial transition: the two paths' gradients are integrated separately, "
        "so neither side receives the other's duplicated gradient.  The **partial transition "
        "ratio** sets how many channels it keeps (1.0 keeps the block's width, as CSPDenseNet does).",
        # a narrower range than the field's (0, 4]: the ratios the lesson's stage shows well
        (Control("transition_ratio", FIELDS["transition_ratio"].label, "slider", 1.0, 0.25, 2.0, 0.25,
                 FIELDS["transition_ratio"].help),),
        "the CSPDenseNet stage (fusion 'csp', split ratio 0.5) with a transition after the concat",
        "Sec. 3.1, Fig. 2b, Eqs. 5-6 (partial transition layer)",
    ),
    Step(
        "fusion", "4. Fusion first, fusion last, or both: where the two parts meet",
        "Where the two parts meet changes how much gradient is reused.  **Fusion first** "
        "concatenates part 1 with the raw block output and then applies one transition: a large "
        "amount of gradient information is reused.  **Fusion last** puts the transition on the block "
        "path and concatenates afterwards, with nothing after the concat: the gradient flow is "
        "truncated, nothing is reused.  **Full CSP** (CSPDenseNet) does both: a partial transition, "
        "the concat, then a transition.  The paper measured all three on PeleeNet (Fig. 4).",
        (Control("fusion", FIELDS["fusion"].label, "select", "csp", options=FUSION_ORDER,
                 help=FIELDS["fusion"].help + " (a) plain, (b) CSP, (c) fusion first, (d) fusion last."),),
        "the lesson's stage with each fusion strategy (fusion last's transition halves the block "
        "path, like the cspdensenet*_fusion_last presets)",
        "Sec. 3.1, Fig. 3 (fusion strategies) and Fig. 4 (their effect on CSPPeleeNet)",
    ),
    Step(
        "cio", "5. Memory traffic: the paper's CIO formula",
        "The paper measures memory traffic as **CIO**, the sum of every conv layer's input and "
        "output sizes.  Counting each dense layer as one conv, a dense block with *c* base "
        "channels, growth rate *d* and *m* layers has CIO = **c·m + (m²+m)·d/2** (per pixel), "
        "while the partial dense block, into which only half of the base channels go, has "
        "**((c·m) + (m²+m)·d)/2**.  Only the c·m term is halved, so the saving is at most a half: "
        "large when the base layer is wide, small when the block is deep.",
        (Control("c", "Base channels c", "slider", 64, 16, 512, 16, "The stage input channels."),
         Control("m", "Layers m", "slider", 6, 1, 32, 1, "Dense layers in the block."),
         Control("d", "Growth rate d", "slider", 32, 8, 64, 4, "Channels each layer adds."),
         Control("partial", "Diagram: partial dense block (CSP)", "select", True, options=(True, False),
                 help="Which of the two blocks the diagram and the link show.")),
        "one stage with c input channels, m layers and growth d: plain, or CSP with split ratio 0.5",
        "Sec. 3.1, memory traffic (CIO, after HarDNet)",
    ),
)
STEP_KEYS = tuple(s.key for s in STEPS)


def get_step(key: str) -> Step:
    for s in STEPS:
        if s.key == key:
            return s
    raise KeyError(key)


def defaults(step_key: str) -> dict:
    return {c.name: c.default for c in get_step(step_key).controls}


# --------------------------------------------------------------------------- numbers
def step_numbers(step_key: str, values: dict) -> list:
    """The live numbers of a step, computed from the engine for ``values``."""
    v = {**defaults(step_key), **(values or {})}
    cfg = step_design(step_key, v)
    return {"dense": _numbers_dense, "split": _numbers_split, "transition": _numbers_transition,
            "fusion": _numbers_fusion, "cio": _numbers_cio}[step_key](cfg, v)


def _twin_stage(cfg):
    cmp = compare_with_twin(cfg)
    return _stage_summary(cmp["design"]), _stage_summary(cmp["twin"])


def _numbers_dense(cfg, v):
    layers = dense_layers(cfg)
    reads = feature_reads(cfg)
    stage = _stage_summary(summarize(cfg))
    m = len(layers)
    return [
        Number("Layers that read x₀", reads[0], help="Every dense layer reads the block input, so its "
               "gradient is the sum of this many contributions."),
        Number("Feature-map reads in the block", sum(L["reads"] for L in layers),
               help="Layer j reads j earlier feature maps: m(m+1)/2 reads in all (counted from the plan)."),
        Number("Input channels of the last layer", layers[-1]["in_channels"] if m else 0,
               help="c + (m-1)·d: each layer reads every earlier feature map."),
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
    return [
        Number("Part 1: bypass channels", part1, help=f"{c} - floor({c} x split ratio)."),
        Number("Part 2: block channels", part2, help=f"floor({c} x split ratio)."),
        Number("Paper's γ", round(1.0 - cfg.split_ratio, 4), help="γ = 1 − split ratio: the bypass share."),
        Number("Base channels read by the layers", part2 * m, delta_pct=_pct(part2 * m, c * m),
               help=f"part 2 x m layers; the plain block's layers read all {c} x {m}."),
        Number("Stage MACs", d["macs"], "MAC", delta_pct=_pct(d["macs"], t["macs"]),
               help="Change against the same stage without CSP (fusion 'none')."),
        Number("Stage parameters", d["params"], delta_pct=_pct(d["params"], t["params"]),
               help="Change against the same stage without CSP (fusion 'none')."),
    ]


def _numbers_transition(cfg, v):
    sp = _stage(cfg)
    d, t = _twin_stage(cfg)
    return [
        Number("Block output channels", sp.taps["block"][0], help="part 2 + m x growth."),
        Number("Partial transition channels", sp.taps["partial_transition"][0],
               help="floor(block output x partial transition ratio)."),
        Number("Concat channels", sp.taps["concat"][0], help="part 1 + partial transition."),
        Number("Stage output channels", sp.taps["output"][0], help="floor(concat x compression 0.5)."),
        Number("Stage MACs", d["macs"], "MAC", delta_pct=_pct(d["macs"], t["macs"]),
               help="Change against the same stage without CSP (fusion 'none')."),
        Number("Stage parameters", d["params"], delta_pct=_pct(d["params"], t["params"]),
               help="Change against the same stage without CSP (fusion 'none')."),
    ]


def _numbers_fusion(cfg, v):
    d, t = _twin_stage(cfg)
    return [
        Number("Stage MACs", d["macs"], "MAC", delta_pct=_pct(d["macs"], t["macs"]),
               help="Change against the plain stage (fusion 'none')."),
        Number("Stage parameters", d["params"], delta_pct=_pct(d["params"], t["params"]),
               help="Change against the plain stage (fusion 'none')."),
        Number("Stage memory traffic (CIO)", d["cio"], "el", delta_pct=_pct(d["cio"], t["cio"]),
               help="Input + output elements of every conv of the stage; change against the plain stage."),
        Number("Stage output channels", _stage(cfg).taps["output"][0], lower_is_better=False,
               help="What the next stage receives."),
    ]


def _numbers_cio(cfg, v):
    c, m, d = int(v["c"]), int(v["m"]), int(v["d"])
    f = cio_formula(c, m, d)
    dense_cfg = step_design("cio", {**v, "partial": False})
    part_cfg = step_design("cio", {**v, "partial": True})
    plan_dense, plan_part = plan_cio_channels(dense_cfg), plan_cio_channels(part_cfg)
    real_dense, real_part = block_cio_elements(dense_cfg), block_cio_elements(part_cfg)
    return [
        Number("Dense block CIO (formula)", f["dense"], "ch", help="c·m + (m²+m)·d/2, per pixel."),
        Number("Partial block CIO (formula)", f["partial"], "ch", delta_pct=-f["saving_pct"],
               help="((c·m) + (m²+m)·d)/2, per pixel; change against the dense block."),
        Number("Partial block CIO (from the plan)", plan_part, "ch", delta_pct=_pct(plan_part, plan_dense),
               help="The same count read off the analytic plan's layers (floor(c/2) channels enter); "
                    f"the dense block's plan count is {plan_dense}."),
        Number("Real partial block CIO", real_part, "el", delta_pct=_pct(real_part, real_dense),
               help="The engine's CIO of the real block at its feature-map size: every conv, the 1x1 "
                    f"bottlenecks included; the plain block has {real_dense:,} elements."),
    ]


# --------------------------------------------------------------------------- step 4's table
def fusion_rows(values: dict | None = None) -> list:
    """One row per fusion strategy: the lesson stage's computed changes against the plain stage,
    the paper's Fig. 4 numbers, and this app's count for its CSPPeleeNet preset (when it exists)."""
    presets = all_presets()
    pelee_plain = None
    if "peleenet" in presets:
        pelee_plain = summarize(get_preset("peleenet"))
    rows = []
    for f in FUSION_ORDER:
        cfg = step_design("fusion", {"fusion": f})
        d, t = _twin_stage(cfg)
        row = {"fusion": f, "name": FUSION_NAMES[f],
               "stage_macs_pct": _pct(d["macs"], t["macs"]), "stage_params_pct": _pct(d["params"], t["params"]),
               "stage_cio_pct": _pct(d["cio"], t["cio"]),
               "paper_compute_pct": PAPER_FIG4.get(f, {}).get("compute_pct"),
               "paper_top1_pts": PAPER_FIG4.get(f, {}).get("top1_pts"),
               "pelee_preset": PELEE_PRESETS.get(f), "pelee_macs_pct": None}
        p = PELEE_PRESETS.get(f)
        if pelee_plain is not None and p in presets:
            s = summarize(get_preset(p))
            row["pelee_macs_pct"] = _pct(s["bflops"], pelee_plain["bflops"])
        rows.append(row)
    return rows


def fusion_verdict(rows: list) -> str:
    """Plain words comparing the paper's Fig. 4 ordering with what this app counts."""
    r = {x["fusion"]: x for x in rows}
    paper = [f for f in ("fusion_first", "fusion_last", "csp")]
    ours = [f for f in paper if r[f]["pelee_macs_pct"] is not None]
    parts = []
    st_order = sorted(("fusion_first", "fusion_last", "csp"), key=lambda f: r[f]["stage_macs_pct"])
    parts.append("On the lesson's stage the cheapest is " + ", then ".join(
        f"{f.replace('_', ' ')} ({r[f]['stage_macs_pct']:+.1f} %)" for f in st_order) + ".")
    if len(ours) == 3:
        txt = []
        for f in paper:
            a, b = r[f]["paper_compute_pct"], r[f]["pelee_macs_pct"]
            same_sign = (a < 0) == (b < 0)
            txt.append(f"{f.replace('_', ' ')}: paper {a:+.0f} %, this app {b:+.1f} %"
                       + ("" if same_sign else " (opposite sign)"))
        agree = all((r[f]["paper_compute_pct"] < 0) == (r[f]["pelee_macs_pct"] < 0) for f in paper)
        parts.append("For the whole CSPPeleeNet presets against PeleeNet (BFLOPs): " + "; ".join(txt) + ". "
                     + ("The signs agree with the paper." if agree else
                        "Where the signs differ, this app's reading of the unreleased CSPPeleeNet layout "
                        "does not reproduce the paper's saving (its cfg was never published)."))
    return " ".join(parts)


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


# --------------------------------------------------------------------------- sentences
def takeaway(step_key: str, values: dict) -> str:
    """One sentence with the step's live numbers."""
    v = {**defaults(step_key), **(values or {})}
    cfg = step_design(step_key, v)
    if step_key == "dense":
        reads = feature_reads(cfg)
        m = len(reads)
        return (f"With m = {m} layer{'s' if m != 1 else ''}, the block input x₀ is read by all {reads[0]} "
                f"of them, so its gradient is a sum of {reads[0]} contributions from layers that saw the same "
                f"features; the block makes {sum(reads)} feature-map reads in all (m(m+1)/2).")
    if step_key == "split":
        sp = _stage(cfg)
        p2 = sp.taps["part2"][0]
        p1 = sp.taps["part1"][0] if "part1" in sp.taps else 0
        c = sp.taps["input"][0]
        if p1 == 0:
            return (f"With split ratio {cfg.split_ratio:g} all {c} channels go through the block: no bypass, "
                    "so every channel still collects the duplicated gradients (γ = 0).")
        return (f"Split ratio {cfg.split_ratio:g} (γ = {1 - cfg.split_ratio:g}): {p2} of {c} channels go "
                f"through the block and collect its gradients; {p1} bypass it and get one clean gradient "
                "from the concat.")
    if step_key == "transition":
        sp = _stage(cfg)
        d, t = _twin_stage(cfg)
        even = transition_break_even()
        tail = (f" On this stage CSP saves MACs for partial transition ratios up to {even:g}."
                if even is not None else " No ratio on the slider makes this stage cheaper than the plain one.")
        return (f"The partial transition turns the {sp.taps['block'][0]}-channel block output into "
                f"{sp.taps['partial_transition'][0]} channels before the concat; the stage costs "
                f"{_pct(d['macs'], t['macs']):+.1f} % MACs against the plain stage." + tail)
    if step_key == "fusion":
        d, t = _twin_stage(cfg)
        f = v["fusion"]
        if f == "none":
            return "The plain stage: every channel goes through the dense block, then one transition."
        p = PAPER_FIG4[f]
        return (f"{FUSION_NAMES[f]}: {_pct(d['macs'], t['macs']):+.1f} % MACs on the lesson's stage; the paper "
                f"reports {p['compute_pct']:+.0f} % compute and {p['top1_pts']:+.1f} top-1 for CSPPeleeNet.")
    if step_key == "cio":
        f = cio_formula(int(v["c"]), int(v["m"]), int(v["d"]))
        return (f"c = {int(v['c'])}, m = {int(v['m'])}, d = {int(v['d'])}: the partial block moves "
                f"{f['saving_pct']:.1f} % less (the bound is 50 %, reached only when c·m dominates (m²+m)·d/2).")
    raise KeyError(step_key)


# --------------------------------------------------------------------------- diagrams
def stage_dot(step_key: str, values: dict) -> str:
    """The step's small design as the app draws designs (explorer.diagram.to_dot), stage level."""
    return to_dot(step_design(step_key, values), title=False)


def dense_graph(cfg: CSPConfig, max_layers: int = MAX_DRAWN_LAYERS) -> dict:
    """The dense connectivity of the lesson's stage as plain data, read from the plan: nodes (the
    block input, the first ``max_layers`` dense layers, the concat) and one edge per read; in a CSP
    stage, part 1's channels bypass the block into the concat."""
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
    return {"nodes": nodes, "edges": edges, "hidden_layers": len(layers) - len(shown),
            "part1": part1[0] if part1 else None}


# --------------------------------------------------------------------------- source code
def stage_source() -> str:
    """The real source of the stage class the lesson's designs are built from, with its cspnet
    base classes (where the split, transitions and concat live), base class first."""
    import os

    from cspnet.nn.densenet import DenseStage

    root = os.path.dirname(os.path.dirname(inspect.getsourcefile(DenseStage)))
    parts = []
    for cls in reversed(DenseStage.__mro__):
        if not cls.__module__.startswith("cspnet"):
            continue
        path = os.path.relpath(inspect.getsourcefile(cls), os.path.dirname(root))
        parts.append(f"# {path}\n" + inspect.getsource(cls))
    return "\n\n".join(parts)


def safe_step(step_key: str, values: dict):
    """(numbers, takeaway, error): a ConfigError becomes its message (the sliders' ranges keep
    every value valid; this guards custom values)."""
    try:
        return step_numbers(step_key, values), takeaway(step_key, values), None
    except ConfigError as exc:
        return [], "", str(exc)
