"""The guided lesson on the CSPNet idea: text, per-step designs and live numbers (no Streamlit).

Six steps, each built around one small design (one DenseNet stage, by default DenseNet-121's
first dense block: 64 input channels at 56x56, 6 layers, growth rate 32; step 6: one stage of each of
three modern descendants, on the same 64-channel 56x56 input):

1. the dense block and its duplicated gradient information;
2. the split (part 1 bypasses, part 2 goes through the block; split ratio vs the paper's gamma);
3. the partial transition (truncating the gradient flow);
4. fusion first vs fusion last vs full CSP (paper Fig. 3 and Fig. 4);
5. memory traffic: the paper's CIO formula for a dense block and a partial dense block, beside the
   real stage's CIO with its transitions;
6. where CSP went: one stage of YOLOv5's C3, YOLOv8's C2f and YOLOv7's ELAN at the same width, each
   the paper's fusion first with other taps, and C2f's concat of every tap beside a dense block's output.

Every number shown is computed here from the engine (``cspnet.plan_network``,
``explorer.counts.analysis``, ``explorer.counts.conventions``) for the values the learner picked: nothing is a
stored result except the paper's own published numbers, read from the published data set through
``explorer.paper.reproduce.fusion_ablation`` (the same values, with the same status, as the Paper
page) and labelled as such.  The lesson's stage (one DenseNet-121 stage) and whole networks
(CSPPeleeNet against PeleeNet) are kept apart: they are different scales.  The growth rate is *k*
everywhere (as on the Design page; the paper's CIO formula writes it *d*).
The page (``pages/Learn.py``) only lays this out.
"""
from __future__ import annotations

import inspect
import math
from dataclasses import dataclass, field

from cspnet import ConfigError, CSPConfig, plan_network
from cspnet.config import FIELDS
from cspnet.plan import stage_part
from explorer.counts.analysis import compare_with_twin, summarize
from explorer.counts.conventions import cio
from explorer.counts.diagram import to_dot
from explorer.paper.published import APPROX_STATUSES
from explorer.paper.reproduce import fusion_ablation

STAGE = "stages.0"

# DenseNet-121's first dense block: c = 64 input channels at 56x56, m = 6 layers, growth rate k = 32.
BASE = dict(family="densenet", name="lesson", stem_channels=64, stem_kernel=7, stem_stride=2, stem_pool="max",
            repeats=(6,), growth_rate=32, bn_size=4, compression=0.5, transition_ratio=1.0,
            split_ratio=0.5, last_transition=True, fusion="none", input_size=224, num_classes=1000)

PAPER_SOURCE = ("CSPNet paper (Wang et al., CVPRW 2020), Fig. 4: CSPPeleeNet variants on ILSVRC2012, "
                "compute (BFLOPs) and top-1 relative to PeleeNet")
# the whole networks of the paper's Fig. 4 (gamma = 0.5), as this app's presets
PELEE_PRESETS = {"csp": "csppeleenet", "fusion_first": "csppeleenet_fusion_first",
                 "fusion_last": "csppeleenet_fusion_last"}
# how sure a published value is (explorer/paper/data/PUBLISHED.md, ``value_status``), in words
STATUS_WORDS = {"exact": "exact, as published", "approx_from_figure": "approximate, read off Fig. 4",
                "derived_from_text_pct": "approximate, from the text's rounded percentages"}
PLAIN = "the plain network"
SHORT_NAMES = {"none": "the plain network", "fusion_first": "fusion first", "fusion_last": "fusion last",
               "csp": "full CSP"}
FUSION_ORDER = ("none", "fusion_first", "fusion_last", "csp")
FUSION_NAMES = {"none": "plain DenseNet (Fig. 3a)", "fusion_first": "fusion first (Fig. 3c)",
                "fusion_last": "fusion last (Fig. 3d)", "csp": "full CSP, CSPDenseNet (Fig. 3b)"}
# the lesson's settings per fusion, as the CSPDenseNet presets use them
FUSION_SETTINGS = {"none": {}, "csp": {"transition_ratio": 1.0}, "fusion_first": {},
                   "fusion_last": {"transition_ratio": 0.5}}
MAX_DRAWN_LAYERS = 8
# the stage's modules after its dense block, as the arc figure names them
AFTER_BLOCK = {"partial_transition": ("ptrans", "partial transition"), "concat": ("join", "concat"),
               "transition": ("trans", "transition")}


# step 6: one stage of each modern descendant of the CSP stage, at the same width W.  All three get the
# input of steps 1-5's stage (a 3x3 stride-2 stem to 64 channels on a 112 px input: 64 channels at 56x56), no
# down-sampling, the same split into two halves of W/2 and a 1x1 transition back to W; what differs is
# what each source puts on part 2 and which of its outputs it concatenates
LINEAGE_ORDER = ("c3", "c2f", "elan")
LINEAGE_NAMES = {"c3": "C3 (YOLOv5)", "c2f": "C2f (YOLOv8)", "elan": "ELAN (YOLOv7)"}
LINEAGE_SHORT = {"c3": "C3", "c2f": "C2f", "elan": "ELAN"}
LINEAGE_CHOICES = {  # the config fields each source sets (cspnet/families/lineage.py has the full presets)
    "c3": dict(family="yolov5", block_type="dark", taps="last", residual=True, split_convs="two"),
    "c2f": dict(family="yolov8", block_type="bottleneck_3x3", taps="all", residual=True, split_convs="one"),
    "elan": dict(family="yolov7", block_type="conv_pair", taps="all", residual=False, split_convs="two"),
}
LINEAGE_BLOCK_WORDS = {"c3": "1×1 → 3×3, + input", "c2f": "3×3 → 3×3, + input", "elan": "3×3 → 3×3, no add"}
LINEAGE_BASE = dict(strides=(1,), down_widths=0, expand_ratio=1.0, split_ratio=0.5, transition_ratio=1.0,
                    bottle_ratio=1.0, width_multiple=1.0, depth_multiple=1.0, max_channels=0, stem_type="conv_3x3",
                    input_size=112, fusion="fusion_first", se_ratio=0.0, post_concat="none", activation="silu",
                    num_classes=1000)


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
    plan: layer j reads the first ``reads`` maps).  x0's count is how many dense layers send
    gradient back into the block input during training (the block's final concat, which reads
    every map once, is not a dense layer and is not counted)."""
    layers = dense_layers(cfg)
    m = len(layers)
    return [sum(1 for L in layers if L["reads"] > i) for i in range(m)]


def plan_cio_channels(cfg: CSPConfig) -> int:
    """The paper's CIO of the lesson's (partial) dense block, per pixel, from the plan: every dense
    layer counted as one conv reading all its input channels and writing its new ones."""
    return sum(L["in_channels"] + L["new_channels"] for L in dense_layers(cfg))


def block_cio_elements(cfg: CSPConfig) -> int:
    """The engine's CIO of the real block (every conv, the 1x1 bottlenecks included), in elements."""
    return stage_cio_parts(cfg)["block"]


def stage_cio_parts(cfg: CSPConfig) -> dict:
    """The engine's CIO of the lesson's stage, in elements, by the module it is spent in:
    ``block`` (every conv of the dense block), ``partial_transition``, ``transition`` (0 where the
    stage has none) and ``stage`` (all of them: the stage's CIO as the Design page counts it)."""
    sp = _stage(cfg)
    groups: dict = {"block": [], "partial_transition": [], "transition": []}
    for op in sp.ops:
        groups.setdefault(stage_part(STAGE, op.path), []).append(op)
    out = {k: cio(v) for k, v in groups.items()}
    out["stage"] = cio(sp.ops)
    return out


def cio_formula(c: int, m: int, k: int) -> dict:
    """The paper's formulas (which write the growth rate ``k`` as *d*): dense block
    ``c*m + (m^2+m)*k/2``; partial dense block (half of the ``c`` base channels enter)
    ``((c*m) + (m^2+m)*k)/2``."""
    dense = c * m + (m * m + m) * k / 2
    partial = ((c * m) + (m * m + m) * k) / 2
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


def lineage_design(key: str, width: int, blocks: int) -> CSPConfig:
    """Step 6's one-stage design of ``key`` (c3, c2f, elan) at stage width ``width`` with ``blocks``
    blocks on part 2.  Raises ConfigError."""
    return CSPConfig(**LINEAGE_BASE, **LINEAGE_CHOICES[key], widths=(int(width),), repeats=(int(blocks),),
                     name=f"lesson_{key}")


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
                             repeats=(int(v["m"]),), growth_rate=int(v["k"]), name="lesson_cio")
    if step_key == "lineage":
        return lineage_design(v["design"], v["width"], v["blocks"])
    raise KeyError(step_key)


def equal_width_ratio(values: dict | None = None) -> float | None:
    """The partial transition ratio at which the lesson's fusion-last stage outputs as many
    channels as the plain stage (its width is part 1 + floor(block x ratio), the others' the
    transition's): the shortest decimal that gives exactly that width, or None if none does."""
    plain = _stage(step_design("fusion", {**(values or {}), "fusion": "none"})).taps["output"][0]
    last = _stage(step_design("fusion", {**(values or {}), "fusion": "fusion_last"}))
    part1, block = last.taps.get("part1", (0,))[0], last.taps["block"][0]
    if plain <= part1:
        return None
    exact = (plain - part1) / block
    for digits in (2, 3, 4, 6):
        r = math.ceil(exact * 10 ** digits) / 10 ** digits
        if part1 + math.floor(block * r) == plain:
            return r
    return None


# --------------------------------------------------------------------------- steps
STEPS = (
    Step(
        "dense", "1. DenseNet's dense block and its duplicated gradients",
        "In a **dense block** every layer reads the concatenation of *all* earlier feature maps: "
        "layer *j* sees the block input x₀ plus x₁ … x₍ⱼ₋₁₎ and adds *k* (the growth rate) new "
        "channels.  That is good for feature reuse.  But it also means that during training the "
        "gradient flowing back into x₀ is the sum of contributions from **every** dense layer that "
        "read it, and those layers all saw the same features: the paper calls this a large amount of "
        "**duplicated gradient information**.  Move the slider: the number of reads grows with the "
        "square of the depth.",
        (Control("layers", "Layers m in the dense block", "slider", 6, 1, 16, 1,
                 "DenseNet-121's first block has 6, its third 24."),),
        "one DenseNet stage: 64 input channels at 56×56 (DenseNet-121's first block), growth rate k = 32, "
        "as in the plain network (no split, no bypass)",
        "Sec. 3.1, Eqs. 1-2 (DenseNet's forward pass and weight updates)",
    ),
    Step(
        "split", "2. The split: part 1 bypasses, part 2 goes through the block",
        "CSPNet splits the stage's base feature map by channel into two parts, x₀ = [x₀′, x₀″].  "
        "**Part 2** (x₀″) is the input of an ordinary dense block, the **partial dense block**; "
        "**part 1** (x₀′) skips the block and is concatenated back after the block path's partial "
        "transition.  Only part 2 is read by the dense layers, so only part 2 collects the "
        "duplicated gradients; part 1's gradient goes straight back to the stage input.  This app's "
        "**split ratio** is the share that goes *through* the block; the paper's partial ratio **γ** "
        "is the share that *bypasses* it, γ = 1 − split ratio (the paper does not say which side γ "
        "measures; its Table 1 numbers fit the bypass share).",
        # a narrower range than the field's (0, 1]: thinner splits leave part 2 almost no channels
        (Control("split_ratio", FIELDS["split_ratio"].label, "slider", 0.5, 0.05, 1.0, 0.05,
                 FIELDS["split_ratio"].help + " 0.5 is the paper's default: half the channels enter the block."),),
        "the same stage with full CSP, as in CSPDenseNet: a partial transition keeping the block's width "
        "(this app's assumption, see step 3), the concat, then the transition",
        "Sec. 3.1, Fig. 2b, Eqs. 3-4 (partial dense block: CSPDenseNet's forward pass and weight updates)",
    ),
    Step(
        "transition", "3. The partial transition: truncating the gradient flow",
        "After the partial dense block CSPNet puts a **transition layer on the block path only** "
        "(x_T = w_T ∗ [x₀″, x₁, …, x_k]) before concatenating with part 1 and applying a second "
        "transition (x_U = w_U ∗ [x₀′, x_T]).  The gradient that reaches the dense layers must now "
        "pass through that partial transition: the two paths' gradients are integrated separately, "
        "so neither side receives the other's duplicated gradient.  The **partial transition "
        "ratio** sets how many channels it keeps.  The paper gives no number for it, and no "
        "CSPDenseNet or CSPPeleeNet cfg was published: that 1.0 (keep the block's width) is what "
        "CSPDenseNet uses is **this app's assumption**, as the Paper page says.",
        # a narrower range than the field's (0, 4]: the ratios the lesson's stage shows well
        (Control("transition_ratio", FIELDS["transition_ratio"].label, "slider", 1.0, 0.25, 2.0, 0.25,
                 FIELDS["transition_ratio"].help),),
        "the full-CSP stage (split ratio 0.5) with a transition after the concat",
        "Sec. 3.1, Fig. 2b, Eqs. 3-4 (CSPDenseNet's forward pass, where x_T is the partial transition, "
        "and its weight updates)",
    ),
    Step(
        "fusion", "4. Fusion first, fusion last, or both: where the two parts meet",
        "Where the two parts meet changes how much gradient is reused.  **Fusion first** "
        "concatenates part 1 with the raw block output and then applies one transition: a large "
        "amount of gradient information is reused.  **Fusion last** puts the transition on the block "
        "path and concatenates afterwards, with nothing after the concat: the gradient flow is "
        "truncated, nothing is reused.  **Full CSP** (CSPDenseNet) does both: a partial transition, "
        "the concat, then a transition.  The paper measured all three on whole PeleeNet networks "
        "(Fig. 4); below, the lesson's one stage and those whole networks are shown apart.",
        (Control("fusion", FIELDS["fusion"].label, "select", "csp", options=FUSION_ORDER,
                 help=FIELDS["fusion"].help + " (a) plain, (b) CSP, (c) fusion first, (d) fusion last."),),
        "the lesson's stage with each fusion strategy (fusion last's transition halves the block "
        "path, like the cspdensenet*_fusion_last presets, so that stage outputs more channels than "
        "the others)",
        "Sec. 3.1, Fig. 3 (fusion strategies) and Fig. 4 (their effect on CSPPeleeNet)",
    ),
    Step(
        "cio", "5. Memory traffic: the paper's CIO formula",
        "The paper measures memory traffic as **CIO**, the sum of every conv layer's input and "
        "output sizes.  Counting each dense layer as one conv, a dense block with *c* base "
        "channels, growth rate *k* and *m* layers has CIO = **c·m + (m²+m)·k/2** (per pixel), "
        "while the partial dense block, into which only half of the base channels go, has "
        "**((c·m) + (m²+m)·k)/2** (the paper writes the growth rate as *d* here).  Only the c·m "
        "term is halved, so the saving is at most a half: large when the base layer is wide, small "
        "when the block is deep.  The formula counts the dense block only: the table below adds "
        "what the partial transition and the transition cost.",
        (Control("c", "Base channels c", "slider", 64, 16, 512, 16, "The stage input channels."),
         Control("m", "Layers m", "slider", 6, 1, 32, 1, "Dense layers in the block."),
         Control("k", "Growth rate k", "slider", 32, 8, 64, 4, "Channels each dense layer adds."),
         Control("partial", "Diagram: partial dense block (CSP)", "select", True, options=(True, False),
                 help="Which of the two blocks the diagram and the link show.")),
        "one stage with c input channels, m layers and growth rate k: plain, or full CSP with split ratio 0.5",
        "Sec. 3.1, memory traffic (CIO, after HarDNet)",
    ),
    Step(
        "lineage", "6. Where CSP went: C3, C2f and ELAN",
        "CSPNet's stage did not stay in DenseNet.  The backbones of YOLOv5, YOLOv8 and YOLOv7 are built from "
        "its descendants, and each is the paper's **fusion first** stage (Fig. 3c): split the channels in two, "
        "send part 2 through a run of blocks, **concatenate**, then **one 1×1 transition**.  They differ in "
        "what they concatenate, their **taps**.  **C3** (YOLOv5) concatenates part 1 with the *last* block's "
        "output only.  **C2f** (YOLOv8) concatenates *every* tap: part 1, part 2 and the output of each "
        "block, so its concat grows with the number of blocks, as a dense block's output does: DenseNet's "
        "dense connectivity, come back at the concat.  **ELAN** (YOLOv7) taps every pair of 3×3 convs in the "
        "same way, without residual adds.  Below, one stage of each at the same width W, on the 64-channel "
        "56×56 input of steps 1-5: part 1 and part 2 have W/2 channels each, and the transition brings the "
        "stage back to W.  (YOLOv7 itself splits narrower parts, W/4 each; here the parts are equal so that "
        "only the taps and the blocks differ.)",
        (Control("width", "Stage width W (channels)", "slider", 128, 32, 512, 32,
                 "The stage's output channels; the split gives part 1 and part 2 W/2 each."),
         Control("blocks", "Blocks n on part 2", "slider", 3, 1, 8, 1,
                 "Blocks in the stage (YOLOv8-L's C2f stages have 3, 6, 6 and 3)."),
         Control("design", "Design in the diagram", "select", "c2f", options=LINEAGE_ORDER,
                 help="Which of the three stages the diagram and the link show; the numbers cover all three.")),
        "one stage of each, at the same width W and with n blocks: 64 input channels at 56×56, split into "
        "two halves of W/2, n blocks on part 2, concat, 1×1 transition to W (no down-sampling)",
        "Sec. 3.1, Fig. 3c (fusion first: concat, then transition) and Fig. 2a (DenseNet's dense block); the "
        "sources: YOLOv5's C3, YOLOv8's C2f, YOLOv7's ELAN (Ultralytics, WongKinYiu/yolov7)",
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
            "fusion": _numbers_fusion, "cio": _numbers_cio, "lineage": _numbers_lineage}[step_key](cfg, v)


def _twin_stage(cfg):
    cmp = compare_with_twin(cfg)
    return _stage_summary(cmp["design"]), _stage_summary(cmp["twin"])


def _plural(n: int, word: str, plural: str | None = None) -> str:
    """'1 contribution', '6 contributions'."""
    return f"{n} {word if n == 1 else (plural or word + 's')}"


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
    return [
        Number("Part 1: bypass channels", part1, help=f"{c} - floor({c} x split ratio)."),
        Number("Part 2: block channels", part2, help=f"floor({c} x split ratio)."),
        Number("Paper's γ", round(1.0 - cfg.split_ratio, 4), help="γ = 1 − split ratio: the bypass share."),
        Number("Base channels read by the layers", part2 * m, delta_pct=_pct(part2 * m, c * m),
               help=f"part 2 x m layers; the plain block's layers read all {c} x {m}."),
        Number("Stage MACs", d["macs"], "MAC", delta_pct=_pct(d["macs"], t["macs"]),
               help=f"Change against the same stage without CSP ({PLAIN})."),
        Number("Stage parameters", d["params"], delta_pct=_pct(d["params"], t["params"]),
               help=f"Change against the same stage without CSP ({PLAIN})."),
    ]


def _numbers_transition(cfg, v):
    sp = _stage(cfg)
    d, t = _twin_stage(cfg)
    return [
        Number("Block output channels", sp.taps["block"][0], help="part 2 + m x growth rate k."),
        Number("Partial transition channels", sp.taps["partial_transition"][0],
               help="floor(block output x partial transition ratio)."),
        Number("Concat channels", sp.taps["concat"][0], help="part 1 + partial transition."),
        Number("Stage output channels", sp.taps["output"][0], help="floor(concat x compression 0.5)."),
        Number("Stage MACs", d["macs"], "MAC", delta_pct=_pct(d["macs"], t["macs"]),
               help=f"Change against the same stage without CSP ({PLAIN})."),
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


# --------------------------------------------------------------------------- step 4's tables
def fusion_rows(values: dict | None = None) -> list:
    """One row per fusion strategy: the lesson's stage (one DenseNet-121 stage) against the plain
    stage, computed.  Whole networks are :func:`network_rows`, kept apart.  The fusion-last row
    also carries ``equal_width``: the same stage with the partial transition ratio that gives it the
    plain stage's output width (None if no ratio does)."""
    rows = []
    for f in FUSION_ORDER:
        cfg = step_design("fusion", {"fusion": f})
        rows.append(_stage_row(f, FUSION_NAMES[f], cfg))
    ratio = equal_width_ratio()
    for r in rows:
        if r["fusion"] == "fusion_last":
            r["equal_width"] = None if ratio is None else _stage_row(
                "fusion_last", f"{FUSION_NAMES['fusion_last']}, equal width",
                lesson_design(fusion="fusion_last", transition_ratio=ratio, name="lesson_fusion_last_equal_width"))
    return rows


def _stage_row(fusion: str, name: str, cfg: CSPConfig) -> dict:
    d, t = _twin_stage(cfg)
    return {"fusion": fusion, "name": name, "transition_ratio": cfg.transition_ratio,
            "output_channels": _stage(cfg).taps["output"][0],
            "plain_output_channels": _stage(cfg.replace(fusion="none")).taps["output"][0],
            "stage_macs_pct": _pct(d["macs"], t["macs"]), "stage_params_pct": _pct(d["params"], t["params"]),
            "stage_cio_pct": _pct(d["cio"], t["cio"])}


def network_rows() -> list:
    """The paper's Fig. 4 on whole networks (CSPPeleeNet variants against PeleeNet, gamma = 0.5)
    beside this app's count of the same presets: what the Paper page shows
    (``explorer.paper.reproduce.fusion_ablation``), with each published value's status."""
    by_preset = {r["preset"]: r for r in fusion_ablation()["rows"]}
    out = []
    for f in ("fusion_first", "fusion_last", "csp"):
        r = by_preset[PELEE_PRESETS[f]]
        out.append({"fusion": f, "name": FUSION_NAMES[f], "preset": r["preset"],
                    "tool_pct": r["tool_delta_pct"], "paper_pct": r["paper_delta_pct"],
                    "paper_status": r["paper_status"], "approximate": r["paper_status"] in APPROX_STATUSES,
                    "status_words": STATUS_WORDS.get(r["paper_status"], r["paper_status"]),
                    "paper_top1_pts": r["paper_top1_delta"]})
    return out


# --------------------------------------------------------------------------- step 6's numbers
def lineage_stage(cfg: CSPConfig) -> dict:
    """One step-6 stage, read from the engine: its part widths, the concat (width and how many tensors
    it joins), the transition's input channels, the order of its modules, whether that order is the
    paper's fusion first (concat, then one transition, no partial transition), the channels each block
    reads, and the stage's params, MACs and CIO."""
    sp = _stage(cfg)
    s = _stage_summary(summarize(cfg))
    ops = {op.path: op for op in sp.ops}
    concat = ops[f"{STAGE}.concat"]
    inner = ops.get(f"{STAGE}.block.cat")           # the concat of every tap on the block path (taps all)
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
    return {"part1": sp.taps["part1"][0], "part2": sp.taps["part2"][0], "block_out": sp.taps["block"][0],
            "concat": concat.out_shape[0], "concat_inputs": (len(inner.in_shapes) if inner else 1) + 1,
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
               help=f"Multiply-accumulates of the C2f stage; change against C3 ({c3['macs']:,}).  Its 3×3 → 3×3 "
                    "blocks and its wider transition cost more than C3's 1×1 → 3×3 blocks."),
        Number("ELAN stage MACs", elan["macs"], "MAC", delta_pct=_pct(elan["macs"], c3["macs"]),
               help=f"Multiply-accumulates of the ELAN stage; change against C3 ({c3['macs']:,}).  At equal "
                    "parts its two 3×3 convs per block cost what C2f's do: they differ in the residual add and "
                    "in the split (two 1×1 convs, which read the input twice: more memory traffic)."),
    ]


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
    return (f"{LINEAGE_NAMES[key]} as the Diagram page draws it, expanded to its blocks: {taps}; then the "
            "transition (green box); edges carry C×H×W.")


def paper_number(fusion: str) -> dict | None:
    """The paper's whole-network numbers for ``fusion`` (a :func:`network_rows` row), or None."""
    return next((r for r in network_rows() if r["fusion"] == fusion), None)


def fusion_verdict(rows: list, network: list | None = None) -> str:
    """Plain words: the ordering on the lesson's stage (with the width caveat), then, apart, the
    whole networks: the paper's Fig. 4 against this app's count of the same presets."""
    r = {x["fusion"]: x for x in rows}
    fusions = ("fusion_first", "fusion_last", "csp")
    st_order = sorted(fusions, key=lambda f: r[f]["stage_macs_pct"])
    parts = ["On the lesson's stage (one DenseNet-121 stage, computed) the cheapest is " + ", then ".join(
        f"{SHORT_NAMES[f]} ({r[f]['stage_macs_pct']:+.1f} % MACs)" for f in st_order) + "."]
    last = r["fusion_last"]
    if last["output_channels"] != last["plain_output_channels"]:
        eq = last.get("equal_width")
        parts.append(f"Fusion last outputs {last['output_channels']} channels where the others output "
                     f"{last['plain_output_channels']}, so it is a wider design"
                     + (f"; at equal width (partial transition ratio {eq['transition_ratio']:g}, "
                        f"{eq['output_channels']} channels out) it changes the MACs by {eq['stage_macs_pct']:+.1f} %."
                        if eq else "."))
    net = network if network is not None else network_rows()
    if net:
        txt = [f"{SHORT_NAMES[x['fusion']]}: paper {x['paper_pct']:+.1f} % ({x['status_words']}), "
               f"this app {x['tool_pct']:+.1f} %" + ("" if (x["paper_pct"] < 0) == (x["tool_pct"] < 0)
                                                     else " (opposite sign)") for x in net]
        agree = all((x["paper_pct"] < 0) == (x["tool_pct"] < 0) for x in net)
        parts.append("Whole networks are another scale: for the CSPPeleeNet variants against PeleeNet "
                     "(compute, 224×224): " + "; ".join(txt) + ". "
                     + ("The signs agree with the paper." if agree else
                        "Where the signs differ, this app's reading of the unreleased CSPPeleeNet layout "
                        "does not reproduce the paper's saving (its cfg was never published; see the Paper page)."))
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
        m, n = len(reads), reads[0]
        who = {1: "its only dense layer", 2: "both dense layers"}.get(m, f"all {m} dense layers")
        grad = ("so its gradient gets 1 contribution from a dense layer" if n == 1 else
                f"so its gradient is a sum of {n} contributions from dense layers that saw the same features")
        return (f"With m = {_plural(m, 'layer')}, the block input x₀ is read by {who}, {grad} (the block's "
                f"concat reads it too); the block makes {_plural(sum(reads), 'feature-map read')} in all "
                "(m(m+1)/2).")
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
                "from the concat after the partial transition.")
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
        out = _stage(cfg).taps["output"][0]
        if f == "none":
            return (f"The plain stage: every channel goes through the dense block, then one transition "
                    f"({out} channels out).")
        width = _width_note(cfg)
        text = (f"{FUSION_NAMES[f]}: {_pct(d['macs'], t['macs']):+.1f} % MACs and {_pct(d['cio'], t['cio']):+.1f} % "
                "memory traffic on the lesson's stage (one DenseNet-121 stage"
                + (f"). {width}" if width else f", {out} channels out like the plain stage)."))
        p = paper_number(f)
        if p is not None:
            top1 = ("" if p["paper_top1_pts"] is None else
                    f" and {p['paper_top1_pts']:+.1f} percentage points of top-1 accuracy")
            text += (f" Whole networks are another scale: for CSPPeleeNet against PeleeNet the paper reports "
                     f"{p['paper_pct']:+.1f} % compute ({p['status_words']}){top1}; this app counts "
                     f"{p['tool_pct']:+.1f} % MACs for the same variant.")
        return text
    if step_key == "cio":
        c, m, k = int(v["c"]), int(v["m"]), int(v["k"])
        f = cio_formula(c, m, k)
        plain = stage_cio_parts(step_design("cio", {**v, "partial": False}))
        csp = stage_cio_parts(step_design("cio", {**v, "partial": True}))
        return (f"c = {c}, m = {m}, k = {k}: the partial block moves {f['saving_pct']:.1f} % less by the formula "
                "(the bound is 50 %, reached only when c·m dominates (m²+m)·k/2).  Built for real, the block "
                f"alone moves {_pct(csp['block'], plain['block']):+.1f} % (its 1×1 bottlenecks are counted too), "
                f"and the partial transition adds {csp['partial_transition']:,} elements that the plain stage "
                f"does not have, so the whole full-CSP stage, transitions included, moves "
                f"{_pct(csp['stage'], plain['stage']):+.1f} % against the plain stage.")
    if step_key == "lineage":
        return lineage_verdict(v)
    raise KeyError(step_key)


# --------------------------------------------------------------------------- diagrams
def stage_dot(step_key: str, values: dict) -> str:
    """The step's small design as the app draws designs (explorer.counts.diagram.to_dot), stage level,
    with its caption in plain words."""
    cfg = step_design(step_key, values)
    # step 6 shows its stage expanded: the taps are the point
    return to_dot(cfg, expand=("all",) if step_key == "lineage" else (), title=False, plain_words=True)


def diagram_caption(step_key: str, values: dict) -> str:
    """The caption under a step's diagram: what its colours mean for *this* design (the plain
    network has no bypass; split ratio 1 leaves part 1 empty; fusion last's transition is on the
    block path, with nothing after the concat)."""
    if step_key == "lineage":
        return lineage_caption(values)
    cfg = step_design(step_key, values)
    taps = _stage(cfg).taps
    head = "The small design as the Diagram page draws it"
    if cfg.fusion == "none":
        return (f"{head}: {PLAIN} has no split and no bypass, so every channel goes through the dense block "
                "and then the transition (green box); edges carry C×H×W.")
    bits = ["dashed blue is part 1 (the bypass)" if "part1" in taps else
            "part 1 is empty at split ratio 1, so there is no bypass (no dashed blue line)"]
    if cfg.fusion == "fusion_last":
        bits.append("orange the block path, with the transition (green box) on it before the concat and nothing "
                    "after the concat")
    elif cfg.fusion == "fusion_first":
        bits.append("orange the block path into the concat, green the transition after it")
    else:
        bits.append("orange the block path through the partial transition into the concat, green the transition "
                    "after it")
    return f"{head}: " + "; ".join(bits) + "; edges carry C×H×W."


def arcs_caption(graph: dict) -> str:
    """The caption under the arc figure, from its data."""
    text = ("Each dense layer reads every earlier feature map (orange arcs: the block input, read by every "
            "layer); the block's concat reads them all")
    steps = [a["label"] for a in graph.get("after") or []]
    if steps:
        text += "; then the rest of the stage, in the model's order: " + " → ".join(steps)
    if graph.get("part1_joins"):
        text += ("; dashed blue: part 1, which bypasses the block and joins at the concat"
                 + (" after the partial transition" if "partial transition" in steps else ""))
    elif graph.get("split"):
        text += "; part 1 is empty: nothing bypasses the block"
    return text + ". Hover an arc to see who reads what."


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


# --------------------------------------------------------------------------- source code
def stage_source(step_key: str | None = None) -> str:
    """The real source of the stage class the lesson's designs are built from, with its cspnet
    base classes (where the split, transitions and concat live), base class first: DenseNet's stage,
    or for step 6 the cross stage every lineage family is built from."""
    import os

    if step_key == "lineage":
        from cspnet.nn._crossstage import CrossStage as stage_cls
    else:
        from cspnet.nn.densenet import DenseStage as stage_cls

    root = os.path.dirname(os.path.dirname(inspect.getsourcefile(stage_cls)))
    parts = []
    for cls in reversed(stage_cls.__mro__):
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


# =========================================================================== teach, not just show
# (issue 10 part 2) predictions, checks of understanding, shareable URLs, the compute story, the
# gradient argument and speed.  Content as data; the page lays it out.
@dataclass(frozen=True)
class Option:
    text: str
    right: bool
    feedback: str                   # why this option is right or wrong


@dataclass(frozen=True)
class Question:
    key: str
    step: str
    text: str
    options: tuple
    explain: str = ""               # shown after the answer, whatever it was (predictions: the surprise)
    kind: str = "quiz"              # "quiz" (static) or "predict" (options judged from computed numbers)

    @property
    def right_index(self) -> int:
        return next(i for i, o in enumerate(self.options) if o.right)


def _bucket_options(value: float, buckets: list) -> tuple:
    """Options from ``[(text, test(value) -> bool, feedback)]``: exactly the first bucket whose test
    holds is right."""
    hit = next(i for i, (_, test, _) in enumerate(buckets) if test(value))
    return tuple(Option(t, i == hit, f) for i, (t, _, f) in enumerate(buckets))


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


def _story_sentence(cfg: CSPConfig) -> str:
    """Where the stage's MAC change comes from, component by component (computed)."""
    from explorer.fmt import si

    s = component_story(cfg)
    ch = s["change"]
    dense = ch["dense_1x1"] + ch["dense_3x3"]
    bits = [f"the dense layers {'save' if dense < 0 else 'add'} {si(abs(dense), 'MAC')} "
            f"(1×1 bottlenecks {ch['dense_1x1']:+,}, 3×3 convs {ch['dense_3x3']:+,}: only the bottlenecks read the "
            "base channels, so only they shrink)"]
    if ch["partial_transition"]:
        sp = _stage(cfg)
        bits.append(f"the partial transition adds {si(ch['partial_transition'], 'MAC')} (an extra 1×1 conv "
                    f"{sp.taps['block'][0]} → {sp.taps.get('partial_transition', sp.taps['block'])[0]} channels at "
                    f"the full {sp.taps['block'][1]}×{sp.taps['block'][2]} resolution, which the plain stage does "
                    "not have)")
    if ch["transition"]:
        bits.append(f"the transition changes by {ch['transition']:+,} MACs")
    net = s["total_design"] - s["total_twin"]
    text = "; ".join(bits)
    return (text[0].upper() + text[1:] + f": net {net:+,} MACs, {s['pct']:+.1f} % against the plain stage.")


def predictions(step_key: str, values: dict) -> tuple:
    """The step's 'predict, then reveal' questions for the learner's ``values`` (none for step 1):
    which option is right is computed from the engine's numbers, and so is the explanation."""
    v = {**defaults(step_key), **(values or {})}
    if step_key == "split":
        cfg = step_design("split", v)
        pct = _pct(*[x["macs"] for x in _twin_stage(cfg)])
        r = cfg.split_ratio
        return (Question("predict_split", "split",
                         f"At split ratio {r:g} only part 2 goes through the dense block. Will this full-CSP stage "
                         "need fewer MACs than the plain stage (no split)?",
                         _bucket_options(pct, [
                             ("Much cheaper: more than 10 % fewer MACs", lambda p: p < -10,
                              "Most of the stage's compute is in the dense layers, and fewer channels enter them."),
                             ("A little cheaper: up to 10 % fewer MACs", lambda p: p < 0,
                              "Only the dense layers' 1×1 bottlenecks read the base channels; the 3×3 convs are "
                              "unchanged."),
                             ("Not cheaper: the same or more MACs", lambda p: True,
                              "The split halves what the bottlenecks read, but the partial transition is a new "
                              "conv.")]),
                         f"This stage: {pct:+.1f} % MACs. " + _story_sentence(cfg), "predict"),)
    if step_key == "transition":
        cfg = step_design("transition", v)
        pct = _pct(*[x["macs"] for x in _twin_stage(cfg)])
        even = transition_break_even()
        return (Question("predict_transition", "transition",
                         f"With a partial transition ratio of {cfg.transition_ratio:g}, is the CSP stage cheaper "
                         "(fewer MACs) than the plain one?",
                         _bucket_options(pct, [
                             ("Yes, cheaper", lambda p: p < 0,
                              "The partial transition is small enough here to leave part of the split's saving."),
                             ("No, the same or more expensive", lambda p: True,
                              "The partial transition's extra conv at full resolution costs more than the split "
                              "saves.")]),
                         f"This stage: {pct:+.1f} % MACs. " + _story_sentence(cfg)
                         + (f" On this stage CSP is cheaper only for partial transition ratios up to {even:g}."
                            if even is not None else " No ratio on the slider makes it cheaper."), "predict"),)
    if step_key == "fusion":
        rows = {r["fusion"]: r for r in fusion_rows()}
        net = {r["fusion"]: r for r in network_rows()}
        three = ("fusion_first", "fusion_last", "csp")
        cheapest = min(three, key=lambda f: rows[f]["stage_macs_pct"])
        two = ("fusion_first", "fusion_last")
        tops = {f: net[f]["paper_top1_pts"] for f in two}
        best = max(two, key=lambda f: tops[f])
        q1 = Question(
            "predict_fusion_compute", "fusion",
            "On the lesson's stage (one DenseNet-121 stage, counted here), which layout needs the fewest MACs?",
            tuple(Option(FUSION_NAMES[f], f == cheapest,
                         f"{SHORT_NAMES[f]}: {rows[f]['stage_macs_pct']:+.1f} % MACs against the plain stage"
                         + (f", with {rows[f]['output_channels']} channels out instead of "
                            f"{rows[f]['plain_output_channels']}" if rows[f]["output_channels"] !=
                            rows[f]["plain_output_channels"] else "") + ".") for f in three),
            "Full CSP pays for a partial transition and a transition; fusion first and fusion last have one "
            "transition each. " + fusion_verdict(list(rows.values()), list(net.values())).split(". Whole")[0] + ".",
            "predict")
        q2 = Question(
            "predict_fusion_accuracy", "fusion",
            "In the paper (Fig. 4, CSPPeleeNet on ImageNet), which of the two fusions loses less top-1 accuracy?",
            tuple(Option(FUSION_NAMES[f], f == best,
                         f"The paper: {SHORT_NAMES[f]} {tops[f]:+.1f} percentage points of top-1 "
                         f"({net[f]['status_words']}).") for f in two),
            f"Fusion last {tops['fusion_last']:+.1f} points, fusion first {tops['fusion_first']:+.1f} points: in "
            "fusion first the single transition after the concat mixes part 1's gradient with the dense layers' "
            "(a large amount of gradient information is reused); in fusion last the gradient flow is truncated. "
            "The paper's conclusion: 'the goal is to maximize the difference of gradient combination'.", "predict")
        return (q1, q2)
    if step_key == "cio":
        c, m, k = int(v["c"]), int(v["m"]), int(v["k"])
        f = cio_formula(c, m, k)
        table = {r["part"]: r for r in cio_table(v)}
        whole = table["whole stage, transitions included"]["change_pct"]
        return (Question("predict_cio", "cio",
                         f"With c = {c}, m = {m}, k = {k}: does the partial dense block move less memory (CIO) than "
                         "the dense block?",
                         _bucket_options(f["saving_pct"], [
                             ("Yes, about half as much (it saves 40 % or more)", lambda s: s >= 40,
                              "Only when the c·m term dominates, that is a wide base layer and a shallow block."),
                             ("Yes, but it saves well under half (less than 40 %)", lambda s: s > 0,
                              "The growth term (m²+m)·k/2 is the same in both blocks; only c·m is halved."),
                             ("No, it moves as much or more", lambda s: True,
                              "By the formula the partial block never moves more: only c·m changes, and it halves.")]),
                         f"By the formula the partial block moves {f['saving_pct']:.1f} % less ({f['partial']:,.0f} "
                         f"instead of {f['dense']:,.0f} channels per pixel): only c·m is halved, the growth term "
                         f"stays. But the whole full-CSP stage, with its partial transition, moves {whole:+.1f} % "
                         "against the plain stage.", "predict"),)
    if step_key == "lineage":
        n, w = int(v["blocks"]), int(v["width"])
        now = {r["key"]: r for r in lineage_rows(v)}["c2f"]
        more = {r["key"]: r for r in lineage_rows({**v, "blocks": n + 1})}["c2f"]
        grow = more["concat"] - now["concat"]
        return (Question("predict_lineage", "lineage",
                         f"C2f at W = {w} with {_plural(n, 'block')}: how does its concat change when you add "
                         "one block?",
                         _bucket_options(grow, [
                             ("It stays the same, like C3's", lambda g: g == 0,
                              "C3 concatenates only the last block's output, so its concat never grows."),
                             (f"It grows by part 2's width, {now['part2']} channels: linearly with n", lambda g:
                              g == now["part2"], "Every block adds one tap of W/2 channels to the concat, as each "
                              "dense layer adds k channels to a dense block's output."),
                             ("It doubles", lambda g: True, "Each block's output has W/2 channels, whatever n is.")]),
                         f"With one more block C2f's concat goes from {now['concat']} to {more['concat']} channels "
                         f"(+{grow}), and its transition reads that many: the concat grows with n, C3's does not.",
                         "predict"),)
    return ()


def judge(question: Question, index: int | None) -> dict:
    """The feedback for the learner's choice: ``{"answered", "right", "text"}``."""
    if index is None or not 0 <= index < len(question.options):
        return {"answered": False, "right": False, "text": ""}
    o = question.options[index]
    right = question.options[question.right_index]
    head = "Right. " if o.right else f"Not quite: the answer is “{right.text}”. "
    # a prediction's options are judged from the numbers: the right option's reason explains them
    why = right.feedback if question.kind == "predict" else o.feedback
    return {"answered": True, "right": o.right, "text": head + why + (" " + question.explain if
                                                                       question.explain else "")}


# ----------------------------------------------------------------------------- checks of understanding
def _q(key, step, text, explain, *options) -> Question:
    return Question(key, step, text, tuple(Option(t, r, f) for t, r, f in options), explain)


QUIZ = (
    _q("dense_readers", "dense", "In a dense block with m = 6 layers, how many dense layers read the block input x₀?",
       "Every dense layer reads the concatenation of all earlier maps, x₀ included.",
       ("Only the first one", False, "The first reads only x₀, but every later layer reads x₀ too."),
       ("All 6", True, "Each dense layer reads [x₀, x₁, …, x₍ⱼ₋₁₎]: x₀ is in every one of them."),
       ("21", False, "21 = m(m+1)/2 is the number of all feature-map reads, not the readers of x₀.")),
    _q("dense_duplicated", "dense", "What does the paper call 'duplicated gradient information' (Eq. 2)?",
       "Eq. 2: w′ᵢ = f(wᵢ, g₀, g₁, …, g₍ᵢ₋₁₎).",
       ("Each layer's weight update reuses the gradients of all earlier layers' outputs g₀ … g₍ᵢ₋₁₎", True,
        "So many layers learn from copies of the same gradient information."),
       ("Gradients are computed twice in every training step", False,
        "The cost of backpropagation is not the point: it is what the updates are made of."),
       ("Each layer keeps two copies of its weights", False, "There is one set of weights per layer.")),
    _q("dense_growth", "dense", "How does the number of feature-map reads in a dense block grow with its depth m?",
       "Layer j reads j maps: 1 + 2 + … + m.",
       ("Linearly, m", False, "Each layer reads more maps than the one before it."),
       ("Quadratically, m(m+1)/2", True, "Step 1's slider shows it: 6 layers make 21 reads, 8 make 36."),
       ("It does not depend on m", False, "Each extra layer reads all earlier maps.")),
    _q("split_who", "split", "With split ratio 0.5, which channels collect the dense block's duplicated gradients?",
       "x₀ = [x₀′, x₀″]: part 2 (x₀″) enters the block.",
       ("Only part 2, the channels that go through the block", True,
        "Only the dense layers reuse gradients, and only part 2 is read by them."),
       ("Only part 1, the bypass", False, "Part 1 skips the block: it gets one gradient from the concat."),
       ("Both parts equally", False, "Part 1 is never read by a dense layer.")),
    _q("split_gamma", "split", "This app's split ratio is 0.75. What is the paper's partial ratio γ?",
       "γ = 1 − split ratio.",
       ("0.75", False, "The split ratio is the share that goes through the block; γ is the share that bypasses it."),
       ("0.25", True, "A quarter of the channels bypass the block."),
       ("1.33", False, "γ is a share of the channels, between 0 and 1.")),
    _q("split_cost", "split", "Which convs of the dense layers get cheaper when fewer channels enter the block?",
       "A dense layer is a 1×1 bottleneck (reads all earlier maps, writes bn_size·k) then a 3×3 conv (bn_size·k → k).",
       ("Only the 1×1 bottlenecks", True, "They read the base channels; the 3×3 convs read the bottleneck's "
        "bn_size·k channels, whatever the split."),
       ("Every conv, by the split ratio", False, "The 3×3 convs read bn_size·k = 128 channels, unchanged."),
       ("None: the split only changes the gradients", False,
        "The bottlenecks read fewer channels: see the compute story bars.")),
    _q("trans_where", "transition", "What does CSPDenseNet's partial transition (w_T) act on?",
       "x_T = w_T ∗ [x₀″, x₁, …, x_k], then x_U = w_U ∗ [x₀′, x_T].",
       ("The block path only, before the concat with part 1", True,
        "That is why its update sees only the block's gradients, not part 1's."),
       ("The concat of both parts", False, "That is the transition after the concat (w_U), or fusion first's."),
       ("Part 1 only", False, "Part 1 goes straight to the concat.")),
    _q("trans_cost", "transition", "Why can full CSP cost more MACs than the plain stage?",
       "The compute story bars on this step show it.",
       ("The partial transition is an extra 1×1 conv at the stage's full resolution", True,
        "At ratio 1 it keeps the block's width: here that outweighs the bottlenecks' saving."),
       ("It doubles the number of dense layers", False, "The block has the same m layers."),
       ("The split makes every conv wider", False, "The split makes the bottlenecks read fewer channels.")),
    _q("trans_eq4", "transition", "In Eq. 4, which gradients update w_U, the transition after the concat?",
       "w′_U = f(w_U, g_{x₀′}, g_{x_T}).",
       ("g_{x₀′} and g_{x_T}: part 1's and the partial transition's", True,
        "The dense layers' gradients reach w_U only through x_T: the flow is truncated."),
       ("g₀ … g_k of every dense layer", False, "That is DenseNet's transition, or fusion first's."),
       ("None: w_U is not trained", False, "Every conv is trained.")),
    _q("fusion_first_grad", "fusion", "In fusion first, does one weight update mix part 1's gradient with the dense "
       "layers' gradients?", "Fusion first: x_T = w_T ∗ [x₀′, x₀″, x₁, …, x_k].",
       ("Yes: the single transition after the concat reads both parts", True,
        "Its update uses g_{x₀′} together with g₀″, g₁ … g_k: a large amount of gradient is reused."),
       ("No: the transition acts on the block path only", False, "That is fusion last."),
       ("No: part 1 has no gradient", False, "Part 1 feeds the transition, so it gets a gradient.")),
    _q("fusion_paper", "fusion", "Why does fusion last keep accuracy better than fusion first, in the paper's words?",
       "Sec. 3.1: 'the goal is to maximize the difference of gradient combination'.",
       ("The gradient flow is truncated, so gradient information is not reused", True,
        "Fusion last: top-1 drops only 0.1 %; fusion first: it drops 1.5 %."),
       ("Fusion last has more parameters", False, "The paper credits the gradient flow, not the size."),
       ("Fusion last computes more", False, "Both save compute in the paper's Fig. 4.")),
    _q("fusion_width", "fusion", "In this app, why are fusion last's stage MACs not directly comparable with the "
       "others'?", "Step 4's caption gives the equal-width variant.",
       ("It outputs more channels: nothing after the concat sets its width", True,
        "The next stage would read more channels; the equal-width bars compare fairly."),
       ("It uses a different input size", False, "Every layout has the same 56×56 input."),
       ("It has no dense block", False, "All layouts have the same partial dense block.")),
    _q("cio_term", "cio", "Which term of the dense block's CIO, c·m + (m²+m)·k/2, does the partial block halve?",
       "Partial: (c·m + (m²+m)·k)/2 = c·m/2 + (m²+m)·k/2.",
       ("c·m", True, "Half of the base channels enter; the layers' own outputs are as many as before."),
       ("(m²+m)·k/2", False, "That growth term is the same in both blocks."),
       ("Both", False, "Then the saving would always be 50 %.")),
    _q("cio_bound", "cio", "At most, how much CIO can the partial dense block save by the formula?",
       "The saving is c·m/2 out of c·m + (m²+m)·k/2.",
       ("50 %", True, "Reached only when c·m dominates: a wide base layer and a shallow block."),
       ("100 %", False, "The dense layers still read and write their own features."),
       ("25 %", False, "With c large against m·k it approaches 50 %.")),
    _q("cio_latency", "cio", "Why do fewer MACs not always mean less time?",
       "See 'Why memory traffic matters' below.",
       ("On memory-bound hardware the time goes into moving feature maps, not multiply-adds", True,
        "That is why the paper counts CIO, and why a design can save MACs and not time."),
       ("MACs are always exactly proportional to time", False, "Only on compute-bound hardware, roughly."),
       ("Because BatchNorm dominates", False, "Norms are cheap; memory traffic is the usual limit.")),
    _q("lineage_fusion", "lineage", "In the paper's terms (Fig. 3), which fusion strategy are C3, C2f and ELAN?",
       "Each splits, runs blocks on part 2, concatenates, then applies one 1×1 transition.",
       ("Fusion first: concat, then one transition", True,
        "No partial transition on the block path; the only transition comes after the concat."),
       ("Fusion last: a transition on the block path, then concat", False,
        "Their block path goes straight into the concat; the transition comes after it."),
       ("Full CSP: partial transition, concat, transition", False,
        "That is CSPDarknet53's and Scaled-YOLOv4's BottleneckCSP, not C3, C2f or ELAN.")),
    _q("lineage_taps", "lineage", "What does C2f concatenate that C3 does not?",
       "C3's taps are 'last', C2f's 'all'.",
       ("Part 2 and every block's output, not only the last block's", True,
        "So its concat, and its transition's input, grow with the number of blocks."),
       ("Part 1", False, "Both concatenate part 1: that is the CSP bypass."),
       ("The stage input before the split", False, "Neither concatenates the unsplit input.")),
    _q("lineage_dense", "lineage", "C2f's concat of every tap is as wide as a dense block's output. Why does its "
       "compute still grow only linearly with the number of blocks?",
       "Compare the channels the last block reads with a dense layer's input.",
       ("Each block reads only the output before it; only the concat sees every tap", True,
        "A dense layer reads every earlier map, so its input grows; a C2f block's input stays W/2."),
       ("C2f has no 3×3 convs", False, "Its bottlenecks are 3×3 → 3×3."),
       ("The transition drops the extra channels before the concat", False,
        "The transition comes after the concat and reads all of it.")),
)


def quiz(step_key: str | None = None) -> tuple:
    return tuple(q for q in QUIZ if step_key is None or q.step == step_key)


def recap(answers: dict) -> dict:
    """The score from ``answers`` ({question key: chosen index}): ``{"right", "answered", "total",
    "revisit": [(step key, step title, question text)]}`` (wrong or unanswered, in lesson order)."""
    right = answered = 0
    revisit = []
    for q in QUIZ:
        res = judge(q, answers.get(q.key))
        answered += res["answered"]
        right += res["right"]
        if not res["right"]:
            revisit.append((q.step, get_step(q.step).title, q.text))
    return {"right": right, "answered": answered, "total": len(QUIZ), "revisit": revisit}


# ----------------------------------------------------------------------------- shareable URLs
URL_PREFIX = "l_"


def url_params(step_key: str, values: dict) -> dict:
    """The lesson's part of the address: ``l_step`` and the step's control values (``l_<name>``)."""
    out = {f"{URL_PREFIX}step": step_key}
    for c in get_step(step_key).controls:
        v = (values or {}).get(c.name, c.default)
        out[f"{URL_PREFIX}{c.name}"] = ("1" if v else "0") if isinstance(v, bool) else f"{v:g}" if isinstance(
            v, float) else str(v)
    return out


def parse_url_params(params: dict) -> tuple:
    """(step key, {control: value}) from an address's lesson params (``l_*``); unknown or out-of-range
    values are left out (the control keeps its default); (None, {}) without a valid ``l_step``."""
    p = {k: (v[-1] if isinstance(v, list) and v else v) for k, v in (params or {}).items()}
    key = p.get(f"{URL_PREFIX}step")
    if key not in STEP_KEYS:
        return None, {}
    values = {}
    for c in get_step(key).controls:
        raw = p.get(f"{URL_PREFIX}{c.name}")
        if raw is None:
            continue
        try:
            if c.options == (True, False):
                v = {"1": True, "true": True, "0": False, "false": False}[str(raw).lower()]
            elif c.kind == "select":
                if raw not in c.options:
                    continue
                v = raw
            else:
                num = float(raw)
                if not (c.min <= num <= c.max) or abs((num - c.min) / c.step - round((num - c.min) / c.step)) > 1e-6:
                    continue
                is_int = all(float(x).is_integer() for x in (c.min, c.max, c.step, c.default))
                v = int(num) if is_int else num
        except (KeyError, ValueError):
            continue
        values[c.name] = v
    return key, values


# ----------------------------------------------------------------------------- Fig. 4 as drawn
def fig4_points() -> list:
    """The paper's Fig. 4: compute (BFLOPs) against top-1 for PeleeNet and the CSPPeleeNet variants
    (published values, with their status), beside this app's BFLOPs for the same presets."""
    a = fusion_ablation()
    b = a["base"]
    out = [{"label": b["label"], "preset": b["preset"], "paper_bflops": b["paper_bflops"], "top1": b["paper_top1"],
            "tool_bflops": b["bflops"], "status": "exact", "approximate": False}]
    for r in a["rows"]:
        out.append({"label": r["label"], "preset": r["preset"], "paper_bflops": r["paper_bflops"],
                    "top1": r["paper_top1"], "tool_bflops": r["bflops"], "status": r["paper_status"],
                    "approximate": r["paper_status"] in APPROX_STATUSES})
    return out


# ----------------------------------------------------------------------------- the gradient argument
GRAD_COLORS = {"part1": "#1f77b4", "block": "#ff7f0e", "dense": "#2ca02c", "trans": "#9467bd"}
LAYOUT_WEIGHTS = {
    # weight -> the gradient terms its update uses (Eqs. 2 and 4, and the paper's Fig. 3 text), k = 3
    "none": {"w_1": ["g_0"], "w_2": ["g_0", "g_1"], "w_3": ["g_0", "g_1", "g_2"],
             "w_T": ["g_0", "g_1", "g_2", "g_3"]},
    "csp": {"w_1": ["g_0''"], "w_2": ["g_0''", "g_1"], "w_3": ["g_0''", "g_1", "g_2"],
            "w_T": ["g_0''", "g_1", "g_2", "g_3"], "w_U": ["g_0'", "g_T"]},
    "fusion_first": {"w_1": ["g_0''"], "w_2": ["g_0''", "g_1"], "w_3": ["g_0''", "g_1", "g_2"],
                     "w_T": ["g_0'", "g_0''", "g_1", "g_2", "g_3"]},
    "fusion_last": {"w_1": ["g_0''"], "w_2": ["g_0''", "g_1"], "w_3": ["g_0''", "g_1", "g_2"],
                    "w_T": ["g_0''", "g_1", "g_2", "g_3"]},
}
# the feature map each gradient belongs to, and its colour group
GRAD_MAPS = {"g_0": ("x0", "block"), "g_0''": ("x0''", "block"), "g_0'": ("x0'", "part1"), "g_1": ("x1", "dense"),
             "g_2": ("x2", "dense"), "g_3": ("x3", "dense"), "g_T": ("xT", "trans")}


def grad_color(term: str) -> str:
    return GRAD_COLORS[GRAD_MAPS[term][1]]


def _tex_term(term: str) -> str:
    sub = {"g_0": "0", "g_0''": "0''", "g_0'": "0'", "g_1": "1", "g_2": "2", "g_3": "k", "g_T": "T"}[term]
    return r"{\color{" + grad_color(term) + r"}g_{" + sub + "}}"


def update_equations() -> dict:
    """LaTeX of the paper's weight updates: DenseNet (Eq. 2) and CSPDenseNet (Eq. 4), each gradient
    term coloured by where it comes from (orange the block input, green the dense layers' outputs,
    blue part 1, purple the partial transition's output)."""
    i_terms = (r"{\color{" + GRAD_COLORS["dense"] + r"}g_1, \ldots, g_{i-1}}")
    dense = [r"w_i' = f\big(w_i,\ " + _tex_term("g_0") + ", " + i_terms + r"\big)",
             r"w_T' = f\big(w_T,\ " + _tex_term("g_0") + r", {\color{" + GRAD_COLORS["dense"] + r"}g_1, \ldots, g_k}"
             + r"\big)"]
    csp = [r"w_i' = f\big(w_i,\ " + _tex_term("g_0''") + ", " + i_terms + r"\big)",
           r"w_T' = f\big(w_T,\ " + _tex_term("g_0''") + r", {\color{" + GRAD_COLORS["dense"]
           + r"}g_1, \ldots, g_k}\big)",
           r"w_U' = f\big(w_U,\ " + _tex_term("g_0'") + ", " + _tex_term("g_T") + r"\big)"]
    return {"densenet": dense, "cspdensenet": csp}


def gradient_dot(layout: str, weight: str) -> str:
    """DOT: the forward graph of a k = 3 block in ``layout`` (Fig. 3), with the gradients that reach
    ``weight`` drawn as coloured backward edges (dashed) from their feature maps to the weight."""
    weights = LAYOUT_WEIGHTS[layout]
    if weight not in weights:
        weight = next(iter(weights))
    split = layout != "none"
    x0 = "x0''" if split else "x0"
    n = []
    n.append('digraph G { rankdir=LR; bgcolor="transparent"; node [fontname="Helvetica", fontsize=11, '
             'shape=box, style="rounded,filled", fillcolor="#ffffff"]; edge [color="#888888"];')

    def node(name, label, color="#ffffff", shape="box"):
        n.append(f'"{name}" [label="{label}", fillcolor="{color}", shape={shape}];')

    def edge(a, b, **kw):
        attrs = ", ".join(f'{k}="{v}"' for k, v in kw.items())
        n.append(f'"{a}" -> "{b}"' + (f" [{attrs}]" if attrs else "") + ";")

    if split:
        node("x0", "x0")
        node("x0'", "x0' (part 1)")
        node("x0''", "x0'' (part 2)")
        edge("x0", "x0'")
        edge("x0", "x0''")
    else:
        node("x0", "x0")
    maps = [x0, "x1", "x2", "x3"]
    for i in (1, 2, 3):
        node(f"w_{i}", f"w_{i}", "#fde9d9")
        node(f"x{i}", f"x{i}", shape="ellipse")
        for j in range(i):
            edge(maps[j], f"w_{i}")
        edge(f"w_{i}", f"x{i}")
    node("w_T", "w_T (transition)" if layout in ("none", "fusion_first") else "w_T (partial transition)", "#e5f5e0")
    node("xT", "x_T", shape="ellipse")
    if layout == "fusion_first":
        for m in ["x0'"] + maps:
            edge(m, "w_T")
    else:
        for m in maps:
            edge(m, "w_T")
    edge("w_T", "xT")
    if layout == "csp":
        node("cat", "concat", shape="circle")
        edge("x0'", "cat")
        edge("xT", "cat")
        node("w_U", "w_U (transition)", "#e5f5e0")
        edge("cat", "w_U")
    elif layout == "fusion_last":
        node("cat", "concat (output)", shape="circle")
        edge("x0'", "cat")
        edge("xT", "cat")
    for term in weights[weight]:
        src = GRAD_MAPS[term][0]
        edge(src, weight, color=grad_color(term), style="dashed", penwidth="2.2", constraint="false",
             label=term.replace("_", ""), fontcolor=grad_color(term), fontsize="10")
    n.append(f'"{weight}" [penwidth=3, color="#d62728"];')
    n.append("}")
    return "\n".join(n)


def gradient_caption(layout: str, weight: str) -> str:
    terms = LAYOUT_WEIGHTS[layout].get(weight) or next(iter(LAYOUT_WEIGHTS[layout].values()))
    names = ", ".join(t.replace("_", "") for t in terms)
    mixed = any(GRAD_MAPS[t][1] == "part1" for t in terms) and any(GRAD_MAPS[t][1] in ("dense", "block")
                                                                     for t in terms)
    return (f"{FUSION_NAMES[layout]}: the update of {weight} uses {names}."
            + (" Part 1's gradient is mixed with the dense layers' gradients in this one update: reused gradient "
               "information." if mixed else ""))


# ----------------------------------------------------------------------------- speed
def speed_points() -> list:
    """The lesson's stage in each layout of step 4: MACs, CIO (elements) and the arithmetic
    intensity MACs / CIO (multiply-adds per element moved), computed."""
    out = []
    for f in FUSION_ORDER:
        cfg = step_design("fusion", {"fusion": f})
        s = _stage_summary(summarize(cfg))
        out.append({"fusion": f, "name": FUSION_NAMES[f], "macs": s["macs"], "cio": s["cio"],
                    "intensity": s["macs"] / s["cio"] if s["cio"] else None})
    return out


SPEED_TEXT = (
    "**Why memory traffic matters.** A layer takes at least as long as its multiply-adds need on the "
    "compute units *and* as long as its feature maps need to move through memory, whichever is longer.  "
    "A 1×1 conv does few multiply-adds per element it reads and writes (its *arithmetic intensity* is "
    "low), so on hardware whose memory cannot feed the compute units fast enough, such as small GPUs, CPUs "
    "and edge devices, the time follows the memory traffic (CIO), not the MACs: that is why the paper "
    "reports CIO next to compute.  A design that saves MACs but adds a full-resolution 1×1 conv may save "
    "no time; one that cuts the traffic usually does.  The figure puts the lesson's stage in each layout "
    "on the two axes; measure real latencies on the Latency page.")


# the numbers a step's prediction is about: hidden until the learner reveals (by label)
KEY_NUMBERS = {
    "split": ("Stage MACs", "Stage parameters"),
    "transition": ("Stage MACs", "Stage parameters"),
    "fusion": ("Stage MACs", "Stage parameters", "Whole-stage CIO (elements)"),
    "cio": ("Partial block CIO (formula)", "Partial block CIO (counted)", "Real partial block CIO (elements)",
            "Whole CSP stage CIO (elements)"),
    "lineage": ("C2f concat channels", "ELAN concat channels", "Dense block output (k = W/2)"),
}


def is_key_number(step_key: str, label: str) -> bool:
    return label in KEY_NUMBERS.get(step_key, ())
