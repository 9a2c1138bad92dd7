"""The lesson's six steps as content: each step's title, text, controls (the widgets' ranges and
defaults), the small design it shows and where it is in the paper; the design a step builds for the
learner's values (``step_design``).
"""
from __future__ import annotations

from dataclasses import dataclass, field

from cspnet import CSPConfig
from cspnet.config import FIELDS
from cspnet.fields import SPLIT_RATIO_DEFAULT
from explorer.lesson.designs import (
    FUSION_ORDER,
    FUSION_SETTINGS,
    LINEAGE_ORDER,
    ROOF_DEVICES,
    lesson_design,
    lineage_design,
)


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
class Step:
    key: str
    title: str
    intro: str                      # markdown shown above the controls
    controls: tuple
    design_text: str                # what the small design is, for the link and the diagram caption
    paper: str = ""                 # where in the paper this is
    extra: dict = field(default_factory=dict)


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


STEPS = (
    Step(
        "dense", "1. DenseNet's dense block and its duplicated gradients",
        "In a **dense block** every layer reads the concatenation of *all* earlier feature maps: "
        "layer *j* sees the block input x₀ plus x₁ … x₍ⱼ₋₁₎ and adds *k* (the growth rate) new "
        "channels.  That is good for feature reuse.  But it also means that during training the "
        "gradient flowing back into x₀ is the sum of contributions from **every** dense layer that "
        "read it, and those layers all saw the same features: the paper calls this a large amount of "
        "**duplicated gradient information**.  Why that is wasteful, in the paper's words: the same gradient "
        "is reused to update the weights of many dense layers, so 'different dense layers repeatedly learn "
        "copied gradient information' instead of each learning something of its own.  Predict first, then "
        "move the slider.",
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
        (Control("split_ratio", FIELDS["split_ratio"].label, "slider", SPLIT_RATIO_DEFAULT, 0.05, 1.0, 0.05,
                 FIELDS["split_ratio"].help + f" {SPLIT_RATIO_DEFAULT:g} is the paper's default: half the channels "
                 "enter the block."),),
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
                 help="Which of the two blocks the diagram and the link show."),
         Control("device", "Device for the roofline", "select", ROOF_DEVICES[0], options=ROOF_DEVICES,
                 help="The device whose roofline the prediction asks about; the figure shows all three.")),
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
        "56×56 input of steps 1-5 (a 3×3 stride-2 stem on a 3×112×112 image, drawn above the stage): 1×1 "
        "convs make part 1 and part 2, W/2 channels each (C2f one conv to W, split in two; C3 and ELAN one "
        "conv per part), and the transition brings the stage back to W.  (YOLOv7 itself splits narrower "
        "parts, W/4 each; here the parts are equal so that only the taps and the blocks differ.)",
        (Control("width", "Stage width W (channels)", "slider", 128, 32, 512, 32,
                 "The stage's output channels; the split gives part 1 and part 2 W/2 each."),
         Control("blocks", "Blocks n on part 2", "slider", 3, 1, 8, 1,
                 "Blocks in the stage (YOLOv8-L's C2f stages have 3, 6, 6 and 3)."),
         Control("design", "Design in the diagram", "select", "c2f", options=LINEAGE_ORDER,
                 help="Which of the three stages the diagram and the link show; the numbers cover all three.")),
        "one stage of each, at the same width W and with n blocks: a 3×3 stride-2 stem on a 3×112×112 input "
        "gives 64 channels at 56×56; 1×1 convs make two halves of W/2, n blocks on part 2, concat, 1×1 "
        "transition to W (no down-sampling), then the classifier head",
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
