"""The lesson's small designs and what their plans say: the one-stage DenseNet design of steps 1-5
(``BASE``: DenseNet-121's first dense block) and step 6's lineage stages (C3, C2f, ELAN), the names of the
fusion strategies and lineage sources, and the readings every step shares (the lesson's stage in the
plan, its dense layers, the feature maps they read, its CIO by module, the design against its plain twin).
"""
from __future__ import annotations

from cspnet import CSPConfig, plan_network
from cspnet.fields import SPLIT_RATIO_DEFAULT
from cspnet.plan import stage_part
from explorer.counts.analysis import compare_with_twin
from explorer.counts.conventions import cio

STAGE = "stages.0"

# DenseNet-121's first dense block: c = 64 input channels at 56x56, m = 6 layers, growth rate k = 32.
BASE = dict(family="densenet", name="lesson", stem_channels=64, stem_kernel=7, stem_stride=2, stem_pool="max",
            repeats=(6,), growth_rate=32, bn_size=4, compression=0.5, transition_ratio=1.0,
            split_ratio=SPLIT_RATIO_DEFAULT, last_transition=True, fusion="none", input_size=224, num_classes=1000)
PLAIN = "the plain network"
SHORT_NAMES = {"none": "the plain network", "fusion_first": "fusion first", "fusion_last": "fusion last",
               "csp": "full CSP"}
FUSION_ORDER = ("none", "fusion_first", "fusion_last", "csp")
FUSION_NAMES = {"none": "plain DenseNet (Fig. 3a)", "fusion_first": "fusion first (Fig. 3c)",
                "fusion_last": "fusion last (Fig. 3d)", "csp": "full CSP, CSPDenseNet (Fig. 3b)"}
# the lesson's settings per fusion, as the CSPDenseNet presets use them
FUSION_SETTINGS = {"none": {}, "csp": {"transition_ratio": 1.0}, "fusion_first": {},
                   "fusion_last": {"transition_ratio": 0.5}}

# step 5's roofline: this machine's CPU (measured), an H100 and the smallest GPU of the device table
# (explorer/real/data/devices.csv: a T4, 70 W, 8.1 TFLOP/s fp32, 320 GB/s)
ROOF_CPU = "cpu"
ROOF_EDGE = "t4"
ROOF_DEVICES = (ROOF_CPU, "h100", ROOF_EDGE)
ROOF_DEVICE_NAMES = {ROOF_CPU: "this CPU (measured)", "h100": "an H100 (datasheet)",
                     ROOF_EDGE: "a T4, a small 70 W GPU (datasheet)"}

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
LINEAGE_BASE = dict(strides=(1,), down_widths=0, expand_ratio=1.0, split_ratio=SPLIT_RATIO_DEFAULT,
                    transition_ratio=1.0, bottle_ratio=1.0, width_multiple=1.0, depth_multiple=1.0, max_channels=0,
                    stem_type="conv_3x3", input_size=112, fusion="fusion_first", se_ratio=0.0, post_concat="none",
                    activation="silu", num_classes=1000)


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


def _pct(a, b):
    return 100.0 * (a - b) / b if b else None


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


def _twin_stage(cfg):
    cmp = compare_with_twin(cfg)
    return _stage_summary(cmp["design"]), _stage_summary(cmp["twin"])


def _plural(n: int, word: str, plural: str | None = None) -> str:
    """'1 contribution', '6 contributions'."""
    return f"{n} {word if n == 1 else (plural or word + 's')}"
