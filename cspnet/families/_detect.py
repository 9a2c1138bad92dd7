"""A YOLO detector's neck and head as plans: SPPF, the PAN neck of CSP stages, and the anchor-free Detect head.

Shared by the lineage families' detection designs (``task = "detect"``: :func:`plan_detector_parts`, called by
``cspnet.families._crossstage.CrossStageStyle.plan``) and by the importer of Ultralytics detection YAMLs
(``explorer.io.ultralytics_det``), so a preset and the YAML it reproduces are planned by the same code.

The neck is a PAN over the backbone's last three scales (P3, P4, P5), four CSP stages::

    top-down   neck.0: [1x1 reduce] -> upsample x2 -> concat backbone P4 -> CSP stage   (N4)
               neck.1: [1x1 reduce] -> upsample x2 -> concat backbone P3 -> CSP stage   (N3: output P3)
    bottom-up  neck.2: 3x3 s2 conv (same width) -> concat the tensor neck.1 upsampled -> CSP stage   (output P4)
               neck.3: 3x3 s2 conv (same width) -> concat the tensor neck.0 upsampled -> CSP stage   (output P5)

(YOLOv8 / YOLO11: no reduce conv, a bottom-up stage concatenates the top-down stage's input; YOLOv5: a 1x1
reduce conv to the stage's width before each upsampling, which the bottom-up path reads again.)  Each CSP stage
is a lineage stage of ``_crossstage.plan_stage`` (C2f, C3, C3k2 are its fusion-first stages with the family's
split convs and taps), so the neck's fusion, split ratio, repeats, widths, block types, taps and residuals are
the config's ``neck_*`` fields.  Its plain twin (``neck_fusion = "none"``) is a 1x1 conv from the concat to the
stage's width, the blocks on that width, and a 1x1 transition where the taps need one.

Detect (Ultralytics' anchor-free head with DFL): per scale a box branch (Conv 3x3, Conv 3x3, 1x1 conv to
4 x 16) and a class branch (Conv 3x3 x 2, or (DWConv 3x3, Conv 1x1) x 2 in YOLO11's head; 1x1 conv to nc);
then the inference path: the scales' maps as one (no, anchors) tensor, DFL (softmax over 16 bins, a frozen
1x1 conv 16 -> 1 whose weights are 0..15) on the box channels, sigmoid on the classes.  The model's output is
(4 + nc, anchors): the four DFL distances and the class scores; decoding the distances to boxes against the
anchor points (elementwise, no weights, counted by no convention here) is left out.  Pure Python.
"""
from __future__ import annotations

from ..plan import PlanBuilder

REG_MAX = 16        # Detect's DFL bins
NECK_STAGES = 4     # a PAN over P3-P5: two top-down and two bottom-up stages


def plan_sppf(b: PlanBuilder, path: str, s, out_ch: int, k: int = 5):
    """Ultralytics' SPPF: cv1 1x1 to c1 // 2, three chained k x k max pools (stride 1), concat of the four,
    cv2 1x1 to ``out_ch``; layer names ``cv1``, ``m`` (one pool module, run three times), ``cv2``."""
    y = [b.conv_bn_act(f"{path}.cv1", s, s[0] // 2, 1)]
    for j in range(3):
        y.append(b.maxpool(f"{path}.m.{j}" if j else f"{path}.m", y[-1], k, 1, k // 2))
    t = b.cat(f"{path}.cat", y)
    return b.conv_bn_act(f"{path}.cv2", t, out_ch, 1)


def detect_widths(ch0: int, nc: int) -> tuple:
    """(box branch width, class branch width, outputs per anchor) of Detect, from the first scale's channels."""
    return max(16, ch0 // 4, REG_MAX * 4), max(ch0, min(nc, 100)), nc + 4 * REG_MAX


def plan_detect(b: PlanBuilder, p: str, xs, nc: int, legacy: bool, one2one: bool = False):
    """Detect on the scales ``xs`` (see the module docstring); layer names as Ultralytics' (``cv2.0.0.conv``,
    ``cv3.0.2``, ``dfl.conv``).  Returns the output tensor (4 + nc, anchors, 1).

    ``one2one``: YOLOv10's ``v10Detect``: two heads of the same layers, the one-to-many branch (``cv2``,
    ``cv3``, trained with many positives per object) and the one-to-one branch (``one2one_cv2``,
    ``one2one_cv3``, one positive per object: NMS-free), both planned, counted and run, as Ultralytics builds
    and profiles them (its parameter count and get_flops include both).  The output is the one-to-one branch's
    (4 + nc, anchors) through DFL and the sigmoid, what v10Detect infers with when ``end2end`` is set (YOLOv10's
    NMS-free inference; its top-k selection, like box decoding, is left out); the one-to-many branch's per-scale
    maps are training outputs, read by no later layer (``Op.attrs["output"]``: "one2many")."""
    c2, c3, no = detect_widths(xs[0][0], nc)
    branches = [("cv2", "cv3", "cat")] + ([("one2one_cv2", "one2one_cv3", "one2one_cat")] if one2one else [])
    for box_name, cls_name, cat_name in branches:
        extra = one2one and cat_name == "cat"   # v10Detect's one-to-many maps: outputs of their own
        outs = []
        for j, x in enumerate(xs):
            b.component = f"p{j}"
            box = b.conv_bn_act(f"{p}.{box_name}.{j}.0", x, c2, 3)
            box = b.conv_bn_act(f"{p}.{box_name}.{j}.1", box, c2, 3)
            box = b.conv(f"{p}.{box_name}.{j}.2", box, 4 * REG_MAX, 1, bias=True)
            cb = f"{p}.{cls_name}.{j}"
            if legacy:
                cls = b.conv_bn_act(f"{cb}.0", x, c3, 3)
                cls = b.conv_bn_act(f"{cb}.1", cls, c3, 3)
            else:   # DWConv(x, x, 3) = a conv with groups gcd(x, x) = x
                cls = b.conv_bn_act(f"{cb}.0.0", x, x[0], 3, groups=x[0])
                cls = b.conv_bn_act(f"{cb}.0.1", cls, c3, 1)
                cls = b.conv_bn_act(f"{cb}.1.0", cls, c3, 3, groups=c3)
                cls = b.conv_bn_act(f"{cb}.1.1", cls, c3, 1)
            cls = b.conv(f"{cb}.2", cls, nc, 1, bias=True)
            outs.append(b.cat(f"{p}.{cat_name}.{j}", [box, cls], attrs={"output": "one2many"} if extra else None))
    b.component = "decode"
    anchors = sum(o[1] * o[2] for o in outs)
    flat = tuple(o.view((no, o[1] * o[2], 1)) for o in outs)   # each scale's map as (no, H x W)
    xcat = b.cat_dim(f"{p}.cat", flat, (no, anchors, 1), dim=2)
    bins = b.act(f"{p}.dfl.softmax", xcat.part(0, 4 * REG_MAX), "softmax", out_shape=(REG_MAX, 4, anchors),
                 attrs={"dfl": REG_MAX})
    dist = b.conv(f"{p}.dfl.conv", bins, 1, 1, attrs={"frozen": "arange"})
    cls = b.act(f"{p}.sigmoid", xcat.part(4 * REG_MAX, nc), "sigmoid")
    out = b.cat(f"{p}.out", [dist.view((4, anchors, 1)), cls])
    b.component = None
    return out


# --------------------------------------------------------------------------- the whole detector from a design
def plan_neck_stage(b: PlanBuilder, lay, x, lateral, mode: str, reduce_ch: int = 0):
    """One neck stage (see the module docstring): ``mode`` "up" (top-down) or "down" (bottom-up); ``lateral``
    the tensor concatenated; ``reduce_ch`` > 0: YOLOv5's 1x1 reduce conv before the upsampling.  Returns
    (the stage's output, the tensor a later bottom-up stage concatenates: the one this stage upsampled)."""
    from ._crossstage import plan_stage

    b.stage.repeats = lay.repeats
    b.tap("input", x)
    if mode == "up":
        if reduce_ch:
            x = b.tap("reduce", b.conv_bn_act("reduce", x, reduce_ch, 1))
        kept = x
        b.component = "upsample"
        t = b.tap("up", b.layer("upsample", "up", x, (x[0], 2 * x[1], 2 * x[2])))
        b.component = None
    else:
        kept = None
        t = b.tap("down", b.conv_bn_act("down", x, x[0], 3, 2))
    t = b.tap("lateral", b.cat("lateral", [t, lateral]))
    return plan_stage(b, lay, t), kept


def plan_detector_parts(layouts, backbone: list, nc: int, legacy: bool, reduce: bool) -> list:
    """The neck's four stages and the Detect head, as StagePlans, on the backbone's stage plans ``backbone``
    (stem, stages...; P3, P4, P5 = the outputs of the last three stages of strides 8, 16, 32), with the neck's
    stage ``layouts`` (``_crossstage.StageLayout``, in neck order)."""
    scales = _backbone_scales(backbone)
    p3, p4, p5 = scales[-3:]
    plans, kept = [], []
    x = p5
    for j, lateral in enumerate((p4, p3)):
        lay = layouts[j]
        b = PlanBuilder(f"neck.{j}", "stage", fusion=lay.fusion, part="neck")
        x, k = plan_neck_stage(b, lay, x, lateral, "up", lay.out_ch if reduce else 0)
        plans.append(b.stage)
        kept.append(k)
    outs = [x]
    for j, lateral in enumerate(reversed(kept)):
        lay = layouts[2 + j]
        b = PlanBuilder(f"neck.{2 + j}", "stage", fusion=lay.fusion, part="neck")
        x, _ = plan_neck_stage(b, lay, x, lateral, "down")
        plans.append(b.stage)
        outs.append(x)
    b = PlanBuilder("head", "head", part="head")
    b.tap("input", outs[0])
    for j, t in enumerate(outs):
        b.tap(f"p{j}", t)
    b.tap("output", plan_detect(b, "detect", outs, nc, legacy))
    plans.append(b.stage)
    return plans


def per_scale(items) -> list:
    """The last value at each stride, in order of stride: ``items`` are (stride, value) in forward order (a
    backbone's scales P1, P2, ...: the last stage at each resolution; stride 0: none)."""
    by_stride: dict = {}
    for stride, value in items:
        by_stride[stride] = value
    return [by_stride[s] for s in sorted(by_stride) if s]


def cumulative(strides) -> list:
    """Each stage's stride from the input (the running product of the stages' own strides)."""
    out, total = [], 1
    for s in strides:
        total *= s
        out.append(total)
    return out


def sppf_stage(strides) -> tuple:
    """(stage, "before" | "after"): where a detector's backbone has its SPPF, after the last strided stage, or
    before the stride-1 stage that follows it (YOLO11's C2PSA): the design's plan and the YAML writer read it."""
    k = max(i for i, s in enumerate(strides) if s != 1)
    return (k, "after") if k == len(strides) - 1 else (k + 1, "before")


def _backbone_scales(backbone: list) -> list:
    """The output of the last stage at each stride, in order of stride (the stem and the stages' outputs)."""
    size = backbone[0].taps["input"][1]
    outs = [sp.taps["output"] for sp in backbone]
    scales = per_scale((size // t[1] if t[1] else 0, t) for t in outs)
    if len(scales) < 3:
        raise ValueError("a detector needs a backbone with three scales (P3, P4, P5)")
    return scales


def neck_in_channels(out_widths: list, backbone_widths: tuple, reduce: bool) -> list:
    """The channels each neck stage's CSP part reads (its concat) given the neck stages' output widths
    ``out_widths`` and the backbone's (P3, P4, P5) widths: top-down: the upsampled tensor (the reduce conv's
    width, or the previous stage's output) plus P4 / P3; bottom-up: the strided conv (the previous output)
    plus the tensor the matching top-down stage upsampled."""
    c3, c4, c5 = backbone_widths
    up0 = out_widths[0] if reduce else c5
    up1 = out_widths[1] if reduce else out_widths[0]
    return [up0 + c4, up1 + c3, out_widths[1] + up1, out_widths[2] + up0]
