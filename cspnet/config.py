"""The design of a network as one frozen, validated, JSON-serialisable dataclass.

Every knob the app and the CLI expose is a field of :class:`CSPConfig`; its field names are the
names accepted by ``--set key=value`` and by the app's URL.  Per-stage fields accept a single value
(filling every stage) or one value per stage; after construction they are always tuples of length
``len(repeats)``.  A per-stage field the family does not read (``widths`` of a DenseNet) follows the
stage count silently (``FieldSpec.follow_stages``): it cannot make a design invalid by its length.

Channel arithmetic floors everywhere (as torchvision's ``num_features // 2``):

* ``split_ratio`` is the fraction of a stage's channels ``C`` sent *through* the block (part 2):
  ``part2 = floor(C * split_ratio)``, ``part1 = C - part2`` bypasses the block.  The CSPNet paper's
  partial ratio gamma is the bypass share, ``gamma = 1 - split_ratio``.
* ``transition_ratio``: the partial transition on the block path outputs
  ``floor(block_out * transition_ratio)`` channels.
* ``compression``: the transition after the concat outputs ``floor(C_concat * compression)``
  channels (DenseNet's transition; the DenseNet family only).

Construction validates the fields *and* the whole design (spatial sizes, zero-width branches, size
bounds) through the family's analytic plan, so a ``CSPConfig`` that exists can be built.
"""
from __future__ import annotations

import dataclasses
import json
from dataclasses import dataclass, fields

from .errors import ConfigError
from .families import FAMILIES, get_family
from .families._detect import NECK_STAGES
from .fields import SPLIT_RATIO_DEFAULT, knob, specs_of
from .plan import plan_network

CONFIG_VERSION = 1

FUSIONS = ("none", "fusion_first", "fusion_last", "csp")
FUSION_LABELS = {
    "none": "none (plain base network, paper Fig. 3a)",
    "csp": "full CSP: partial transition -> concat -> transition (Fig. 3b)",
    "fusion_first": "fusion first: concat -> transition (Fig. 3c)",
    "fusion_last": "fusion last: transition on block path -> concat (Fig. 3d)",
}
FUSION_SHORT = {"none": "none: plain network (Fig. 3a)", "csp": "csp: full CSP (Fig. 3b)",
                "fusion_first": "fusion first (Fig. 3c)", "fusion_last": "fusion last (Fig. 3d)"}
ACTIVATIONS = ("relu", "leaky_relu", "silu", "mish")
STEM_POOLS = ("max", "none")

# Who reads what (the families that read a field; None in a declaration: every family).
DENSE = ("densenet", "peleenet")
CROSS = ("resnet", "resnext", "darknet")
# CSP's modern lineage (cspnet/families/lineage.py): timm CrossStage3, YOLOv5 C3, YOLOv8 C2f, YOLO11 C3k2,
# RTMDet CSPNeXt, YOLOv7 ELAN, Scaled-YOLOv4 BottleneckCSP
LINEAGE = ("cs3darknet", "yolov5", "yolov8", "yolo11", "cspnext", "yolov7", "yolov4csp")
STAGED = CROSS + LINEAGE          # families whose stages have explicit widths and strides
PAPER = DENSE + CROSS             # families with a stem set by the stem_* fields (the lineage's is the source's)
DETECT = ("yolov5", "yolov8", "yolo11")   # families that build a detector (task = "detect")
TASKS = ("classify", "detect")
TASK_LABELS = {"classify": "classify (backbone + pooled classifier)",
               "detect": "detect (backbone, PAN neck, anchor-free Detect head)"}
TAPS = ("last", "all")
SPLIT_CONVS = ("one", "two", "two_bare", "slice", "shared")
POST_CONCAT = ("none", "bn_act", "attention")


def _lineage_blocks() -> tuple:
    from .families._blocks import lineage_blocks
    return lineage_blocks()   # read at each check: a block type registered later is offered too

# Safety bounds: designs beyond these are refused before anything is allocated.
MAX_STAGES = 8
MAX_REPEATS = 64
MAX_PARAMS = 400_000_000
MAX_ACTIVATION_BYTES = 4 * 1024**3  # fp32 activations of one image (batch 1)
INPUT_SIZE_RANGE = (16, 1024)
MAX_NETWORK_CHARS = 256 * 1024      # an imported network's text (explorer.io.darknet.MAX_CFG_CHARS)


def _repeats_sweep(cfg) -> str:
    r = cfg.repeats
    half = ",".join(str(max(1, x // 2)) for x in r)
    more = ",".join(str(min(MAX_REPEATS, x + max(1, x // 2))) for x in r)
    return f"{half}; {','.join(map(str, r))}; {more}"


def _widths_sweep(cfg) -> str:
    w = max(cfg.widths) if any(cfg.widths) else 256
    return f"{max(8, w // 4)}:{w}:{max(8, w // 4)}"


@dataclass(frozen=True)
class CSPConfig:
    """A network design: every field is declared once here, with its metadata (``cspnet.fields``)."""

    # identity
    family: str = knob(
        "densenet", "choice", "Family", "Switching family starts from that family's default design.",
        choices=lambda: tuple(FAMILIES), group="identity")
    name: str = knob("custom", "text", "Name", "The design's name.", max_len=80, group="identity")

    task: str = knob(
        "classify", "choice", "Task",
        "classify: the backbone with a pooled classifier (an ImageNet model); detect: a YOLO detector, the "
        "backbone (with SPPF) followed by a PAN neck of CSP stages (the neck_* fields) and Ultralytics' "
        "anchor-free Detect head (num_classes classes, DFL boxes).",
        families=DETECT, choices=TASKS, choice_labels=TASK_LABELS)

    # main knobs, in the order the Design page shows them
    fusion: str = knob(
        "none", "choice", "Fusion strategy",
        "Where the two parts meet again (CSPNet paper Fig. 3): none = the plain base network (3a); "
        "csp = partial transition, concat, transition (3b); fusion_first = concat, transition (3c); "
        "fusion_last = transition on the block path, concat (3d).",
        choices=FUSIONS, choice_labels=FUSION_SHORT, sweep="none,fusion_first,fusion_last,csp")
    split_ratio: float = knob(
        SPLIT_RATIO_DEFAULT, "float", "Split ratio (share through the block)",
        "Share of a stage's channels C sent through the block: part 2 = floor(C x split ratio) goes "
        "through, part 1 = C - part 2 bypasses it. The paper's partial ratio gamma = 1 - split ratio is "
        "the bypass share.",
        lo=0.0, hi=1.0, low_open=True, step=0.05, csp_only=True, sweep="0.1:1.0:0.1")
    growth_rate: tuple = knob(
        32, "int", "Growth rate k", "Channels each dense layer adds. One value, or one per stage.",
        families=DENSE, per_stage=True, lo=1, hi=1024, sweep="8:64:8")
    bn_size: tuple = knob(
        4, "int", "Bottleneck size (x k)",
        "DenseNet: a dense layer's 1x1 bottleneck width = bn_size x growth rate (torchvision: 4). "
        "PeleeNet: its bottleneck-width factor (1,2,4,4).",
        families=DENSE, per_stage=True, lo=1, hi=16, sweep="1:8:1")
    repeats: tuple = knob(
        (6, 12, 24, 16), "int", "Repeats per stage",
        "Blocks (dense layers, bottlenecks) in each stage, comma separated: 6,12,24,16 is DenseNet-121. "
        "The number of values is the number of stages. Lineage families: the source's base repeats, "
        "before the depth multiple (the stage table shows the built ones).",
        lo=1, hi=MAX_REPEATS, stages=True, sweep=_repeats_sweep)
    widths: tuple = knob(
        0, "int", "Stage widths (output channels)",
        "Output channels of each stage, one per stage (e.g. 256,512,1024,2048). Lineage families: the "
        "source's base widths, before the width multiple.",
        families=STAGED, per_stage=True, lo=0, hi=8192, sweep=_widths_sweep)
    strides: tuple = knob(
        2, "int", "Stage strides", "Stride of each stage's first block (1 or 2), one value or one per stage.",
        families=STAGED, per_stage=True, lo=1, hi=2)
    bottle_ratio: tuple = knob(
        0.25, "float", "Bottleneck ratio",
        "Bottleneck width = block width x ratio (torchvision ResNet-50: 0.25). One value or one per stage.",
        families=("resnet", "darknet") + LINEAGE, per_stage=True, lo=0.0, hi=4.0, low_open=True,
        sweep="0.125:1.0:0.125")
    groups: tuple = knob(
        1, "int", "Groups (3x3 conv)", "ResNeXt cardinality. One value or one per stage.",
        families=("resnext",), per_stage=True, lo=1, hi=1024, sweep="1,2,4,8,16,32,64")
    width_per_group: tuple = knob(
        4, "int", "Width per group", "ResNeXt bottleneck width = groups x width per group.",
        families=("resnext",), per_stage=True, lo=1, hi=1024, sweep="1,2,4,8,16")
    expand_ratio: tuple = knob(
        1.0, "float", "Expand ratio (CSP)",
        "A CSP stage splits C = round(width x ratio) channels (timm); C3/C2f's hidden ratio e is ratio / 2.",
        families=STAGED, per_stage=True, lo=0.0, hi=4.0, low_open=True, csp_only=True, sweep="0.5:2.0:0.25")
    transition_ratio: float = knob(
        1.0, "float", "Partial transition ratio",
        "The partial transition on the block path outputs floor(block output x ratio) channels (in "
        "fusion last it is the stage's only transition).",
        lo=0.0, hi=4.0, low_open=True, step=0.05, csp_only=True, sweep="0.25:2.0:0.25")
    compression: float = knob(
        0.5, "float", "Compression (DenseNet transition)",
        "The transition after the concat keeps floor(channels x compression) channels (DenseNet: 0.5, "
        "PeleeNet: 1.0).",
        families=DENSE, lo=0.0, hi=1.0, low_open=True, step=0.05, sweep="0.25:1.0:0.25")
    last_transition: bool = knob(
        False, "bool", "Transition after the last stage",
        "Keep a (non-pooling) transition after the last stage. DenseNet has none; PeleeNet has one.",
        families=DENSE)
    width_multiple: float = knob(
        1.0, "float", "Width multiple",
        "Scales every base width (stem, stages) with the source's rounding: timm make-divisible to 8, "
        "Ultralytics (and the YOLOv5-style parse_model of YOLOv7 and Scaled-YOLOv4) ceil to 8 of "
        "min(c, channel cap) x w, mmdet int(c x w). YOLOv8n: 0.25.",
        families=LINEAGE, lo=0.0, hi=4.0, low_open=True, step=0.25, sweep="0.25:1.5:0.25")
    depth_multiple: float = knob(
        1.0, "float", "Depth multiple",
        "Scales every stage's base repeats with the source's rounding: timm int(n x d), Ultralytics, "
        "Scaled-YOLOv4 and mmdet max(round(n x d), 1). YOLOv8n: 0.33. (YOLOv7 writes its ELAN convs one "
        "by one: no depth multiple.)",
        families=tuple(f for f in LINEAGE if f != "yolov7"), lo=0.0, hi=4.0, low_open=True, step=0.33,
        sweep="0.33,0.67,1.0,1.33")
    max_channels: int = knob(
        0, "int", "Channel cap (0 = none)",
        "Ultralytics' max_channels: a base width is capped at this before the width multiple (YOLO11m: 512).",
        families=("yolov5", "yolov8", "yolo11"), lo=0, hi=8192, step=64, group="advanced")
    down_widths: tuple = knob(
        0, "int", "Down-sampling widths (0 = stage width)",
        "Output channels of each stage's strided down-sampling conv, before the width multiple; 0: the "
        "family's rule (the stage width, or the input width in timm's CrossStage3). YOLO11: 128,256,512,1024.",
        families=LINEAGE, per_stage=True, lo=0, hi=8192, group="advanced")
    block_type: tuple = knob(
        "dark", "choice", "Block type",
        "The block each stage repeats on part 2 (one, or one per stage): dark (1x1 -> 3x3 + x: C3, "
        "CrossStage3, BottleneckCSP), edge (3x3 -> 1x1 + x), bottleneck_3x3 (3x3 -> 3x3 + x: C2f, C3k2), "
        "c3k (a nested C3k), cspnext (3x3, depthwise 5x5, 1x1 + x), conv_pair / conv (ELAN's plain 3x3 "
        "convs), psa (YOLO11's attention block).",
        families=LINEAGE, per_stage=True, choices=_lineage_blocks, sweep="dark,bottleneck_3x3,cspnext,conv_pair")
    taps: tuple = knob(
        "last", "choice", "Concatenated taps",
        "Which outputs of a stage's block path are concatenated: last (the last block, as C3 and "
        "CrossStage3) or all (part 2 and every block output, as C2f, C3k2 and ELAN: dense aggregation).",
        families=LINEAGE, per_stage=True, choices=TAPS, sweep="last,all")
    residual: tuple = knob(
        True, "bool", "Residual blocks",
        "Each block adds its input to its output (Ultralytics' shortcut, mmdet's add_identity).",
        families=LINEAGE, per_stage=True, sweep="true,false")
    split_convs: str = knob(
        "one", "choice", "Split convs",
        "How a CSP stage makes its two parts: one 1x1 conv chunked in two (C2f, CrossStage3), two 1x1 "
        "convs (C3, CSPNeXt, ELAN), two with a bare conv on the cross path and BN + activation after the "
        "concat (BottleneckCSP), a plain channel slice of the stage's input, no conv (CSPDenseNet's split; "
        "expand_ratio is then not read), or both parts from one tensor: a 1x1 conv makes part 2 and a bare 1x1 "
        "conv of part 2 makes part 1 (Scaled-YOLOv4's BottleneckCSP2).",
        families=LINEAGE, choices=SPLIT_CONVS, csp_only=True)
    post_concat: str = knob(
        "none", "choice", "After the concat",
        "What follows a CSP stage's concat: nothing, BN + activation (BottleneckCSP) or channel attention "
        "(CSPNeXt: global pool, 1x1 conv, hard sigmoid, scale).",
        families=LINEAGE, choices=POST_CONCAT, csp_only=True)
    stem_type: str = knob(
        "conv_3x3", "choice", "Stem",
        "The lineage stem (widths scaled by the width multiple): two_3x3 (timm cs3darknet), focus_6x6 "
        "(cs3darknet_focus, YOLOv5), conv_3x3 (YOLOv8, YOLO11), three_3x3 (CSPNeXt), yolov7, yolov4.",
        families=LINEAGE, choices=lambda: tuple(__import__("cspnet.families.lineage", fromlist=["STEMS"]).STEMS),
        group="advanced")
    se_ratio: float = knob(
        0.0, "float", "SE ratio in blocks (0 = none)",
        "Squeeze-and-excitation inside dark and edge blocks (timm cs3sedarknet: 0.25 or 1/16); 0: no SE.",
        families=LINEAGE, lo=0.0, hi=1.0, step=0.0625, group="advanced")
    # a detector's neck (task = "detect"; cspnet/families/_detect.py): four CSP stages of a PAN over P3-P5
    neck_fusion: str = knob(
        "fusion_first", "choice", "Neck fusion",
        "The fusion of the neck's CSP stages (as the fusion field for the backbone): fusion_first = C2f, C3 and "
        "C3k2 as Ultralytics builds them; none = the plain neck (a 1x1 conv from the concat to the stage's "
        "width, the blocks on that width).",
        families=DETECT, choices=FUSIONS, choice_labels=FUSION_SHORT, sweep="none,fusion_first,fusion_last,csp")
    neck_split_ratio: float = knob(
        SPLIT_RATIO_DEFAULT, "float", "Neck split ratio (share through the block)",
        "Share of a neck stage's channels sent through its blocks (as split_ratio for the backbone).",
        families=DETECT, lo=0.0, hi=1.0, low_open=True, step=0.05, sweep="0.1:1.0:0.1")
    neck_repeats: tuple = knob(
        3, "int", "Neck repeats",
        "Blocks in each neck stage (top-down P4, top-down P3, bottom-up P4, bottom-up P5), before the depth "
        "multiple: YOLOv8 and YOLOv5 3, YOLO11 2.",
        families=DETECT, per_stage=True, axis="neck", lo=1, hi=MAX_REPEATS, sweep="1,2,3,4,6")
    neck_widths: tuple = knob(
        (512, 256, 512, 1024), "int", "Neck widths (output channels)",
        "Output channels of each neck stage, before the width multiple and channel cap (YOLO: 512,256,512,1024).",
        families=DETECT, per_stage=True, axis="neck", lo=1, hi=8192, group="advanced")
    neck_block_type: tuple = knob(
        "bottleneck_3x3", "choice", "Neck block type",
        "The block each neck stage repeats (as block_type for the backbone): bottleneck_3x3 (C2f, C3k2), dark "
        "(C3), c3k (YOLO11's last neck stage, and every one at scales m/l/x).",
        families=DETECT, per_stage=True, axis="neck", choices=_lineage_blocks,
        sweep="dark,bottleneck_3x3,c3k")
    neck_taps: tuple = knob(
        "all", "choice", "Neck concatenated taps",
        "Which outputs of a neck stage's blocks are concatenated: all (C2f, C3k2) or last (C3).",
        families=DETECT, per_stage=True, axis="neck", choices=TAPS, group="advanced", sweep="last,all")
    neck_residual: tuple = knob(
        False, "bool", "Neck residual blocks",
        "Each neck block adds its input to its output (Ultralytics' shortcut: False in YOLOv8's and YOLOv5's "
        "necks, True in YOLO11's C3k2).",
        families=DETECT, per_stage=True, axis="neck", group="advanced", sweep="true,false")

    input_size: int = knob(
        224, "int", "Input size (pixels)", "Square input resolution. Compute scales with its square.",
        lo=INPUT_SIZE_RANGE[0], hi=INPUT_SIZE_RANGE[1], step=32, sweep="128:384:32")

    # stem, head, activation, classes (the Design page's advanced group)
    stem_channels: int = knob(
        64, "int", "Stem channels", "Output channels of the stem convolution.",
        families=PAPER, lo=1, hi=4096, step=8, group="advanced", sweep="16:128:16")
    stem_kernel: int = knob(
        7, "int", "Stem kernel", "Kernel size of the stem convolution.", families=PAPER, lo=1, hi=11, step=2,
        group="advanced")
    stem_stride: int = knob(
        2, "int", "Stem stride", "Stride of the stem convolution.", families=PAPER, lo=1, hi=4, step=1,
        group="advanced")
    stem_pool: str = knob(
        "max", "choice", "Stem pooling", "3x3 max pool after the stem, or none.",
        families=PAPER, choices=STEM_POOLS, group="advanced")
    stem_norm: bool = knob(
        True, "bool", "BatchNorm after the stem conv", "BatchNorm + activation after the stem conv (torchvision: yes).",
        families=("densenet",), group="advanced")
    head_norm: bool = knob(
        True, "bool", "BatchNorm before the head",
        "BatchNorm + activation before the pooling head (torchvision's norm5).", families=DENSE, group="advanced")
    activation: str = knob(
        "relu", "choice", "Activation", "The activation of every conv unit (timm's CSP models: leaky_relu).",
        choices=ACTIVATIONS, group="advanced")
    num_classes: int = knob(
        1000, "int", "Classes", "Outputs of the classifier.", lo=1, hi=100_000, step=1, group="advanced")

    # an imported network (the darknet_cfg family, cspnet.families.PLUGINS): its file's text, parsed, never run
    network: str = knob(
        "", "text", "Network file (Darknet cfg)",
        "The text of an imported Darknet .cfg (darknet_cfg only): parsed, never executed; its layers fix the "
        "stages, classes and activations, so of the other fields only input_size is read.",
        families=("darknet_cfg",), max_len=MAX_NETWORK_CHARS, group="hidden")

    # ------------------------------------------------------------------ validation
    def __post_init__(self):
        specs = FIELDS
        # the family first (it decides what else is read), then the stage count, then the rest
        specs["family"].check_value(self.family)
        n = len(specs["repeats"].check(self.repeats, MAX_STAGES))
        for name, spec in specs.items():
            v = getattr(self, name)
            count = MAX_STAGES if spec.stages else NECK_STAGES if spec.axis == "neck" else n
            if spec.per_stage and not spec.reads(self.family):  # unread: follows the stage count silently
                v = spec.follow_stages(v, count)
            object.__setattr__(self, name, _checked(spec, v, count))
        get_family(self.family).validate(self)
        _check_size(self)

    # ------------------------------------------------------------------ conveniences
    @property
    def num_stages(self) -> int:
        return len(self.repeats)

    @property
    def gamma(self) -> float:
        """The CSPNet paper's partial ratio: the share of channels that bypasses the block."""
        return 1.0 - self.split_ratio

    @property
    def is_csp(self) -> bool:
        return self.fusion != "none"

    def replace(self, **changes) -> "CSPConfig":
        return dataclasses.replace(self, **changes)

    def stage_value(self, name: str, index: int):
        """Per-stage field ``name`` at stage ``index`` of the plan's order: the backbone's stages, then a
        detector's neck stages, whose values are the ``neck_`` field's (``neck_block_type``...)."""
        if index < self.num_stages:
            return getattr(self, name)[index]
        return getattr(self, "neck_" + name)[index - self.num_stages]

    @property
    def is_detector(self) -> bool:
        return self.task == "detect" and FIELDS["task"].reads(self.family)

    def twin(self) -> "CSPConfig":
        """The same design without CSP (``fusion='none'``; a detector's neck too: ``neck_fusion='none'``)."""
        name = f"{self.name} (plain twin)" if self.is_csp or self.is_detector and self.neck_fusion != "none" \
            else self.name
        if self.is_detector:
            return self.replace(fusion="none", neck_fusion="none", name=name)
        return self.replace(fusion="none", name=name)

    def to_dict(self) -> dict:
        out = {}
        for f in fields(self):
            v = getattr(self, f.name)
            out[f.name] = list(v) if isinstance(v, tuple) else v
        return out

    def key(self) -> str:
        """A canonical string for caching and comparison (computed once per config)."""
        k = self.__dict__.get("_key")
        if k is None:
            k = json.dumps(self.to_dict(), sort_keys=True, separators=(",", ":"))
            self.__dict__["_key"] = k  # a frozen dataclass: cache beside the fields, not through __setattr__
        return k

    def plan_key(self) -> tuple:
        """What the analytic plan depends on: every field but the name (hashable)."""
        return tuple(getattr(self, n) for n in PLAN_FIELDS)

    def to_json(self, indent: int | None = 2) -> str:
        return json.dumps({"version": CONFIG_VERSION, "config": self.to_dict()}, indent=indent)

    @classmethod
    def from_dict(cls, data: dict) -> "CSPConfig":
        if not isinstance(data, dict):
            raise ConfigError("json", f"config must be a JSON object, got {type(data).__name__}")
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(data) - known)
        if unknown:
            raise ConfigError("json", f"unknown field(s) {', '.join(map(str, unknown[:5]))}; "
                              f"allowed: {', '.join(sorted(known))}")
        clean = {}
        for k, v in data.items():
            clean[k] = tuple(v) if isinstance(v, list) else v
        try:
            return cls(**clean)
        except ConfigError:
            raise
        except (TypeError, ValueError, OverflowError) as exc:  # defensive: never leak other errors
            raise ConfigError("json", f"invalid value: {exc}") from None

    @classmethod
    def from_json(cls, text: str | bytes) -> "CSPConfig":
        if isinstance(text, bytes):
            try:
                text = text.decode("utf-8")
            except UnicodeDecodeError:
                raise ConfigError("json", "not UTF-8 text") from None
        if len(text) > MAX_JSON_CHARS:
            raise ConfigError("json", f"{len(text)} characters; allowed at most {MAX_JSON_CHARS}")
        try:
            doc = json.loads(text, parse_constant=_reject_constant)
        except RecursionError:
            raise ConfigError("json", "nested too deeply") from None
        except ValueError as exc:
            raise ConfigError("json", f"malformed JSON: {exc}") from None
        if not isinstance(doc, dict):
            raise ConfigError("json", f"expected an object with 'version' and 'config', got {type(doc).__name__}")
        version = doc.get("version")
        if version != CONFIG_VERSION:
            raise ConfigError("json", f"version {version!r} is not supported; this tool reads version {CONFIG_VERSION}")
        extra = sorted(set(doc) - {"version", "config"})
        if extra:
            raise ConfigError("json", f"unknown top-level key(s) {', '.join(map(str, extra[:5]))}; "
                              "allowed: version, config")
        return cls.from_dict(doc.get("config"))


# A field's checked value, memoized by (field, value, stage count): a sweep builds 1,000s of configs that
# share most of their values.  Values whose check raises are not memoized (the error is raised each time);
# unhashable values (lists from JSON) are checked without the memo.  Bounded: cleared when full.
_CHECKED: dict = {}
_MAX_CHECKED = 4096


def _checked(spec, v, n: int):
    try:
        key = (spec.name, tuple(map(type, v)) if isinstance(v, tuple) else type(v), v, n)  # 1, 1.0, True differ
        hit = _CHECKED.get(key, _CHECKED)
    except TypeError:
        return spec.check(v, n)
    if hit is not _CHECKED:
        return hit
    out = spec.check(v, n)
    if len(_CHECKED) >= _MAX_CHECKED:
        _CHECKED.clear()
    _CHECKED[key] = out
    return out


MAX_JSON_CHARS = 320 * 1024   # a design carrying an imported network (MAX_NETWORK_CHARS) fits, with room to escape it


def _reject_constant(name):
    raise ValueError(f"{name} is not allowed")


def _check_size(cfg):
    """Whole-design checks via the analytic plan: spatial sizes, zero-width branches, size bounds."""
    plan = plan_network(cfg)  # memoized: the plan every later caller of this design reuses
    for stage in plan.stages:
        for tap, (c, h, w) in stage.taps.items():
            if h < 1 or w < 1:
                raise ConfigError("input_size", f"{cfg.input_size} is too small: {stage.name} {tap} would be "
                                  f"{h}x{w}; smallest allowed for this design is {min_input_size(cfg)}")
            if c < 1:
                raise ConfigError(_channel_field(tap), f"{stage.name} {tap} would have {c} channels; "
                                  "channel arithmetic must leave at least 1 channel on every branch")
    if plan.params > MAX_PARAMS:
        raise ConfigError("design", f"{plan.params / 1e6:.1f}M parameters; the bound is {MAX_PARAMS / 1e6:.0f}M")
    act = plan.activation_elements * 4
    if act > MAX_ACTIVATION_BYTES:
        raise ConfigError("design", f"{act / 2**30:.2f} GiB of fp32 activations at batch 1; "
                          f"the bound is {MAX_ACTIVATION_BYTES / 2**30:.0f} GiB (lower input_size or width)")


def _channel_field(tap: str) -> str:
    return {"part1": "split_ratio", "part2": "split_ratio", "partial_transition": "transition_ratio",
            "transition": "compression"}.get(tap, "design")


def min_input_size(cfg: CSPConfig) -> int:
    """The smallest input size for which every tap point keeps a spatial size of at least 1."""
    def ok(size):
        p = plan_network(cfg, input_size=size, memo=False)
        return all(h >= 1 and w >= 1 for s in p.stages for (_, h, w) in s.taps.values())

    lo, hi = 1, INPUT_SIZE_RANGE[1]
    if not ok(hi):
        return hi + 1
    while lo < hi:
        mid = (lo + hi) // 2
        if ok(mid):
            hi = mid
        else:
            lo = mid + 1
    return max(lo, INPUT_SIZE_RANGE[0])


FIELDS = specs_of(CSPConfig)       # name -> FieldSpec, in declaration order
STAGE_FIELDS = tuple(n for n, f in FIELDS.items() if f.per_stage)
PLAN_FIELDS = tuple(n for n in FIELDS if n != "name")


def family_fields(family: str) -> tuple:
    """The names of the fields ``family`` reads (``FIELDS[name].reads(family)``), in declaration order.

    Every family reads the identity fields (``family``, ``name``) and the fields declared for all."""
    return tuple(n for n, spec in FIELDS.items() if spec.reads(family))
