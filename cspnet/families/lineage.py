"""CSP's modern lineage: timm's CrossStage3, YOLOv5's C3, YOLOv8's C2f, YOLO11's C3k2 + C2PSA, RTMDet's
CSPNeXt, YOLOv7's ELAN and Scaled-YOLOv4's BottleneckCSP, as families of the one cross stage.

Every one of them is a stage of ``cspnet.families._crossstage`` (``CrossStage`` / ``plan_stage``) with
other choices, read from the config's lineage fields (``cspnet.config.LINEAGE``):

=================  ===========  ===========  =========  =============  ===========  ====================
source             block_type   split_convs  taps       post_concat    fusion       down-sampling
=================  ===========  ===========  =========  =============  ===========  ====================
timm CrossStage3   dark / edge  one         last       none           fusion_first 3x3 s2 in -> in
YOLOv5 C3          dark         two         last       none           fusion_first 3x3 s2 in -> width
YOLOv8 C2f         bottleneck   one         all        none           fusion_first 3x3 s2 in -> width
                   _3x3
YOLO11 C3k2/C2PSA  bottleneck   one         all / last none           fusion_first 3x3 s2 to down_widths
                   _3x3, c3k,
                   psa
RTMDet CSPNeXt     cspnext      two         last       attention      fusion_first 3x3 s2 in -> width, SPP
YOLOv7 ELAN        conv_pair    two         all        none           fusion_first max-pool + conv pair
Scaled-YOLOv4      dark         two_bare    last       bn_act         csp          3x3 s2 in -> width
BottleneckCSP
=================  ===========  ===========  =========  =============  ===========  ====================

In CSPNet terms each is the paper's *fusion first* stage (BottleneckCSP: *full CSP*, with a bare 1x1
partial transition and BN + activation after the concat); C2f, C3k2 and ELAN concatenate *every*
tap (part 2 and each block's output: dense aggregation), the others the last block's output only.
The fusion field applies to all of them: ``fusion_last`` puts a 1x1 partial transition on the block
path and drops the transition after the concat; ``none`` is the plain twin (the blocks on the
whole width, a 1x1 transition where the taps or the widths need one).

A family is a :class:`CrossStageStyle` with ``lineage=True`` (its scaling rule, stem, head and
down-sampling) and a preset table.  ``widths``, ``down_widths`` and ``repeats`` are the source's
*base* values; ``width_multiple``, ``depth_multiple`` and ``max_channels`` scale them with the
source's own rounding (:class:`Scaling`).  Stems are named in :data:`STEMS` (the ``stem_type`` field).

Reference constants (parameter counts of the reference implementations, built without weights) are
in the preset tables; ``benchmarks/reference_constants.py`` reproduces them where timm and
ultralytics are installed.  Pure Python; the modules are generated from
the plan (``cspnet.graph_model``).
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

from . import preset_table
from ._crossstage import CrossStageStyle, DetectStyle, Scaling, StemLayer, cross_stage_family

# --------------------------------------------------------------------------- scaling rules
TIMM = Scaling("timm", "timm: make_divisible(c x w, 8) (nearest multiple of 8, +8 if under 90 %), "
                       "repeats int(n x d)")
ULTRALYTICS = Scaling("ultralytics", "Ultralytics: ceil to 8 of min(c, max_channels) x w, repeats "
                                     "max(round(n x d), 1) where n > 1")
MMDET = Scaling("mmdet", "mmdet: int(c x w) (truncates), repeats max(round(n x d), 1)")
YOLOV7_SCALING = Scaling("yolov7", "YOLOv7's parse_model: ceil to 8 of c x w; its ELAN convs are listed one by one (no "
                                   "depth multiple)")


# --------------------------------------------------------------------------- stems
@dataclass(frozen=True)
class Stem:
    description: str
    layers: Callable      # f(cfg, scaling) -> tuple of StemLayer


def _convs(*specs):
    """A stem of convs ``(base channels, kernel, stride[, padding])``, channels scaled by the family's rule."""
    def layers(cfg, sc):
        return tuple(StemLayer("conv", sc.channels(c, cfg), k, s, *pad) for c, k, s, *pad in specs)
    return layers


def _yolov4_stem(cfg, sc):
    return (StemLayer("conv", sc.channels(32, cfg), 3, 1), StemLayer("conv", sc.channels(64, cfg), 3, 2),
            StemLayer("dark", sc.channels(64, cfg), mid=sc.channels(32, cfg)))


STEMS = {
    "two_3x3": Stem("3x3 s2 to 32w, 3x3 to 64w (timm cs3darknet)", _convs((32, 3, 2), (64, 3, 1))),
    "focus_6x6": Stem("one 6x6 s2 p2 conv to 64w (timm cs3darknet_focus, YOLOv5)", _convs((64, 6, 2, 2))),
    "conv_3x3": Stem("one 3x3 s2 conv to 64w (YOLOv8, YOLO11)", _convs((64, 3, 2))),
    "three_3x3": Stem("3x3 s2 to 32w, 3x3, 3x3 to 64w (RTMDet CSPNeXt)", _convs((32, 3, 2), (32, 3, 1), (64, 3, 1))),
    "yolov7": Stem("3x3 to 32, 3x3 s2 to 64, 3x3 to 64, 3x3 s2 to 128 (YOLOv7)",
                   _convs((32, 3, 1), (64, 3, 2), (64, 3, 1), (128, 3, 2))),
    "yolov4": Stem("3x3 to 32, 3x3 s2 to 64, one dark block (Scaled-YOLOv4 yolov4-csp)", _yolov4_stem),
}


def stem_of(cfg, sc):
    return STEMS[cfg.stem_type].layers(cfg, sc)


def _ref(name: str) -> int:
    return REFERENCE_PARAMS[name]


def _style(scaling: Scaling, down_growth: bool = True, head_conv: int = 0, down_kind: str = "conv",
           spp_last: bool = False, detect: DetectStyle | None = None) -> CrossStageStyle:
    return CrossStageStyle(block_type="dark", down_growth=down_growth, cross_linear=False, plain_down=True,
                           grouped=False, lineage=True, scaling=scaling, stem=stem_of, head_conv=head_conv,
                           down_kind=down_kind, spp_last=spp_last, detect=detect)


# --------------------------------------------------------------------------- presets
# reference params: sum(p.numel() for p in model.parameters()) of the reference model built without
# weights, 1000 classes (benchmarks/reference_constants.py, results in benchmarks/results/reference_constants.json)
_TIMM = "timm/models/cspnet.py model_cfgs (timm 1.0.31)"
_ULTRA = "ultralytics {yaml} (ultralytics 8.4, ClassificationModel, nc=1000)"
_YOLOV5 = ("yolov5 models/yolo.py ClassificationModel: yolov5{s}.yaml backbone layers 0-8 + Classify "
           "(built with ultralytics' Conv/C3/Classify)")
_MMDET = "mmdet configs/rtmdet/classification/cspnext-{s}_8xb256-rsb-a1-600e_in1k.py (timm 1.0.31 cspnext port)"
_YOLOV7 = "WongKinYiu/yolov7 cfg/training/yolov7.yaml backbone (layers 0-50) + pool + linear"
_YOLOV4 = "WongKinYiu/ScaledYOLOv4 models/yolov4-csp.yaml backbone (layers 0-10) + pool + linear"

# reference params (1000 classes), from benchmarks/results/reference_constants.json (timm 1.0.31, ultralytics
# 8.4.190, the yolov7 / ScaledYOLOv4 repos' own modules; benchmarks/reference_constants.py reproduces them)
REFERENCE_PARAMS = {
    "cs3darknet_s": 3_276_344, "cs3darknet_m": 9_310_240, "cs3darknet_l": 21_164_168,
    "cs3darknet_x": 35_046_320, "cs3darknet_focus_s": 3_274_728, "cs3darknet_focus_m": 9_304_360,
    "cs3darknet_focus_l": 21_151_720, "cs3darknet_focus_x": 35_025_000, "cs3sedarknet_l": 21_913_592,
    "cs3sedarknet_x": 35_397_904, "cs3edgenet_x": 47_821_120, "cs3se_edgenet_x": 50_721_584,
    "cspnext_tiny": 2_733_700, "cspnext_s": 4_891_320, "cspnext_m": 13_048_432,
    "cspnext_l": 27_163_912, "cspnext_x": 48_850_560, "yolov8n_cls": 2_719_288,
    "yolov8s_cls": 6_361_736, "yolov8m_cls": 17_053_336, "yolov8l_cls": 37_480_744,
    "yolov8x_cls": 57_422_840, "yolo11n_cls": 2_812_104, "yolo11s_cls": 6_724_008,
    "yolo11m_cls": 11_634_216, "yolo11l_cls": 14_115_624, "yolo11x_cls": 29_637_064,
    "yolov5n_cls": 2_493_000, "yolov5s_cls": 5_453_480, "yolov5m_cls": 12_957_640,
    "yolov5l_cls": 26_552_680, "yolov5x_cls": 48_097_160, "yolov7_backbone": 14_396_808,
    "yolov4_csp_backbone": 27_621_192,
    # detectors (DetectionModel, nc 80): the yolov8 / yolo11 rows are also printed in the YAMLs' comments
    "yolov5nu": 2_654_816, "yolov5su": 9_153_152, "yolov5mu": 25_111_456, "yolov5lu": 53_225_024,
    "yolov5xu": 97_276_448, "yolov8n": 3_157_200, "yolov8s": 11_166_560, "yolov8m": 25_902_640,
    "yolov8l": 43_691_520, "yolov8x": 68_229_648, "yolo11n": 2_624_080, "yolo11s": 9_458_752,
    "yolo11m": 20_114_688, "yolo11l": 25_372_160, "yolo11x": 56_966_176,
}
_ULTRA_DET = ("ultralytics {yaml} (ultralytics 8.4.190 DetectionModel, nc=80; benchmarks/reference_constants.py)")
# what a detector is used with (Ultralytics trains at 640 px on COCO's 80 classes): the detect presets and the Design
# page's task switch (explorer.design.form.task_switch_edits) read it
DETECT_DEFAULTS = dict(task="detect", input_size=640, num_classes=80)

_LINEAGE = dict(split_ratio=0.5, transition_ratio=1.0, strides=2, expand_ratio=1.0, bottle_ratio=1.0, taps="last",
                residual=True, split_convs="one", post_concat="none", se_ratio=0.0, down_widths=0,
                activation="silu", fusion="fusion_first")

CS3 = dict(_LINEAGE, family="cs3darknet", widths=(128, 256, 512, 1024), repeats=(3, 6, 9, 3), block_type="dark",
           stem_type="two_3x3", input_size=256)
CS3_SCALES = {"s": (0.5, 0.5), "m": (0.75, 0.67), "l": (1.0, 1.0), "x": (1.25, 1.33)}
CS3_PRESETS = preset_table(CS3, [
    # name, config overrides, reference, reference params, source, paper base
    *[(f"cs3darknet_{k}", dict(width_multiple=w, depth_multiple=d), f"timm cs3darknet_{k}", _ref(f"cs3darknet_{k}"),
       _TIMM, None)
      for k, (w, d) in CS3_SCALES.items()],
    *[(f"cs3darknet_focus_{k}", dict(width_multiple=w, depth_multiple=d, stem_type="focus_6x6"),
       f"timm cs3darknet_focus_{k}", _ref(f"cs3darknet_focus_{k}"), _TIMM, None) for k, (w, d) in CS3_SCALES.items()],
    ("cs3sedarknet_l", dict(se_ratio=0.25), "timm cs3sedarknet_l", _ref("cs3sedarknet_l"), _TIMM, None),
    ("cs3sedarknet_x", dict(width_multiple=1.25, depth_multiple=1.33, se_ratio=0.0625), "timm cs3sedarknet_x",
     _ref("cs3sedarknet_x"),
     _TIMM, None),
    ("cs3edgenet_x", dict(width_multiple=1.25, depth_multiple=1.33, block_type="edge", bottle_ratio=1.5),
     "timm cs3edgenet_x", _ref("cs3edgenet_x"), _TIMM, None),
    ("cs3se_edgenet_x", dict(width_multiple=1.25, depth_multiple=1.33, block_type="edge", bottle_ratio=1.5,
                             se_ratio=0.25), "timm cs3se_edgenet_x", _ref("cs3se_edgenet_x"),
     _TIMM, None),
])

YOLO_SCALES = {  # (depth, width) of the YOLOv5 and YOLOv8 scales
    "v5": {"n": (0.33, 0.25), "s": (0.33, 0.5), "m": (0.67, 0.75), "l": (1.0, 1.0), "x": (1.33, 1.25)},
    "v8": {"n": (0.33, 0.25), "s": (0.33, 0.5), "m": (0.67, 0.75), "l": (1.0, 1.0), "x": (1.0, 1.25)},
}
YOLOV5 = dict(_LINEAGE, family="yolov5", widths=(128, 256, 512, 1024), repeats=(3, 6, 9, 3), block_type="dark",
              split_convs="two", stem_type="focus_6x6", input_size=224)
YOLOV5_PRESETS = preset_table(YOLOV5, [
    (f"yolov5{k}_cls", dict(depth_multiple=d, width_multiple=w), f"yolov5 yolov5{k}-cls", _ref(f"yolov5{k}_cls"),
     _YOLOV5.format(s=k), None) for k, (d, w) in YOLO_SCALES["v5"].items()
])

YOLOV5U_PRESETS = preset_table(dict(YOLOV5, **DETECT_DEFAULTS, neck_repeats=3, neck_block_type="dark", neck_taps="last",
                                     neck_residual=False), [
    (f"yolov5{k}u", dict(depth_multiple=d, width_multiple=w), f"ultralytics yolov5{k}u", _ref(f"yolov5{k}u"),
     _ULTRA_DET.format(yaml="cfg/models/v5/yolov5.yaml"), None) for k, (d, w) in YOLO_SCALES["v5"].items()
])

YOLOV8 = dict(_LINEAGE, family="yolov8", widths=(128, 256, 512, 1024), repeats=(3, 6, 6, 3),
              block_type="bottleneck_3x3", taps="all", max_channels=1024, stem_type="conv_3x3", input_size=224)
YOLOV8_PRESETS = preset_table(YOLOV8, [
    (f"yolov8{k}_cls", dict(depth_multiple=d, width_multiple=w), f"ultralytics yolov8{k}-cls", _ref(f"yolov8{k}_cls"),
     _ULTRA.format(yaml="cfg/models/v8/yolov8-cls.yaml"), None) for k, (d, w) in YOLO_SCALES["v8"].items()
])

YOLOV8_DET_CAPS = {"n": 1024, "s": 1024, "m": 768, "l": 512, "x": 512}   # yolov8.yaml's max_channels per scale
YOLOV8_DET_PRESETS = preset_table(dict(YOLOV8, **DETECT_DEFAULTS, neck_repeats=3, neck_block_type="bottleneck_3x3",
                                       neck_taps="all", neck_residual=False), [
    (f"yolov8{k}", dict(depth_multiple=d, width_multiple=w, max_channels=YOLOV8_DET_CAPS[k]), f"ultralytics yolov8{k}",
     _ref(f"yolov8{k}"), _ULTRA_DET.format(yaml="cfg/models/v8/yolov8.yaml"), None)
    for k, (d, w) in YOLO_SCALES["v8"].items()
])

# YOLO11-cls: C3k2 stages (c3k forced on at scales m, l, x by Ultralytics' parse_model) and a C2PSA stage
YOLO11_SCALES = {"n": (0.5, 0.25, 1024), "s": (0.5, 0.5, 1024), "m": (0.5, 1.0, 512), "l": (1.0, 1.0, 512),
                 "x": (1.0, 1.5, 512)}
YOLO11 = dict(_LINEAGE, family="yolo11", widths=(256, 512, 512, 1024, 1024), down_widths=(128, 256, 512, 1024, 0),
              strides=(2, 2, 2, 2, 1), repeats=(2, 2, 2, 2, 2), expand_ratio=(0.5, 0.5, 1.0, 1.0, 1.0),
              bottle_ratio=0.5, taps=("all", "all", "all", "all", "last"),
              block_type=("bottleneck_3x3", "bottleneck_3x3", "c3k", "c3k", "psa"), stem_type="conv_3x3",
              input_size=224)
YOLO11_PRESETS = preset_table(YOLO11, [
    (f"yolo11{k}_cls", dict(depth_multiple=d, width_multiple=w, max_channels=cap,
                            **({"block_type": ("c3k",) * 4 + ("psa",)} if k in "mlx" else {})),
     f"ultralytics yolo11{k}-cls", _ref(f"yolo11{k}_cls"), _ULTRA.format(yaml="cfg/models/11/yolo11-cls.yaml"), None)
    for k, (d, w, cap) in YOLO11_SCALES.items()
])

# YOLO11 detectors: the neck's C3k2 keep Ultralytics' default shortcut (True); the last neck stage has C3k blocks,
# and at scales m, l, x every C3k2 does (parse_model forces c3k)
YOLO11_DET_PRESETS = preset_table(dict(YOLO11, **DETECT_DEFAULTS, neck_repeats=2, neck_taps="all", neck_residual=True,
                                       neck_block_type=("bottleneck_3x3",) * 3 + ("c3k",)), [
    (f"yolo11{k}", dict(depth_multiple=d, width_multiple=w, max_channels=cap,
                        **({"block_type": ("c3k",) * 4 + ("psa",), "neck_block_type": "c3k"} if k in "mlx" else {})),
     f"ultralytics yolo11{k}", _ref(f"yolo11{k}"), _ULTRA_DET.format(yaml="cfg/models/11/yolo11.yaml"), None)
    for k, (d, w, cap) in YOLO11_SCALES.items()
])

CSPNEXT = dict(_LINEAGE, family="cspnext", widths=(128, 256, 512, 1024), repeats=(3, 6, 6, 3), block_type="cspnext",
               split_convs="two", post_concat="attention", residual=(True, True, True, False),
               stem_type="three_3x3", input_size=224)
CSPNEXT_SCALES = {"tiny": (0.167, 0.375), "s": (0.33, 0.5), "m": (0.67, 0.75), "l": (1.0, 1.0), "x": (1.33, 1.25)}
CSPNEXT_PRESETS = preset_table(CSPNEXT, [
    (f"cspnext_{k}", dict(depth_multiple=d, width_multiple=w), f"mmdet cspnext-{k} (timm cspnext_{k})",
     _ref(f"cspnext_{k}"),
     _MMDET.format(s=k), None) for k, (d, w) in CSPNEXT_SCALES.items()
])

YOLOV7 = dict(_LINEAGE, family="yolov7", widths=(256, 512, 1024, 1024), strides=(1, 2, 2, 2), repeats=(2, 2, 2, 2),
              expand_ratio=0.5, block_type="conv_pair", taps="all", residual=False, split_convs="two",
              stem_type="yolov7", input_size=224)
YOLOV7_PRESETS = preset_table(YOLOV7, [
    ("yolov7_backbone", {}, "yolov7 backbone (ELAN)", _ref("yolov7_backbone"), _YOLOV7, None),
])

YOLOV4CSP = dict(_LINEAGE, family="yolov4csp", widths=(128, 256, 512, 1024), repeats=(2, 8, 8, 4), block_type="dark",
                 split_convs="two_bare", post_concat="bn_act", fusion="csp", activation="mish", stem_type="yolov4",
                 input_size=256)
YOLOV4CSP_PRESETS = preset_table(YOLOV4CSP, [
    ("yolov4_csp_backbone", {}, "yolov4-csp backbone (BottleneckCSP)", _ref("yolov4_csp_backbone"), _YOLOV4, None),
])

# --------------------------------------------------------------------------- the families
CS3DARKNET = cross_stage_family(
    "cs3darknet", "timm CrossStage3 (cs3darknet, cs3sedarknet, cs3edgenet): fusion first, dark or edge blocks.",
    _style(TIMM, down_growth=False), CS3_PRESETS, default_preset="cs3darknet_m")
YOLOV5_FAMILY = cross_stage_family(
    "yolov5", "YOLOv5 C3 (classification models and the anchor-free 'u' detectors): fusion first, two 1x1 split "
    "convs.", _style(ULTRALYTICS, head_conv=1280, detect=DetectStyle(reduce=True, legacy=True)),
    YOLOV5_PRESETS + YOLOV5U_PRESETS, default_preset="yolov5s_cls")
YOLOV8_FAMILY = cross_stage_family(
    "yolov8", "YOLOv8 C2f (classification models and detectors): fusion first, every tap concatenated.",
    _style(ULTRALYTICS, head_conv=1280, detect=DetectStyle(reduce=False, legacy=True)),
    YOLOV8_PRESETS + YOLOV8_DET_PRESETS, default_preset="yolov8n_cls")
YOLO11_FAMILY = cross_stage_family(
    "yolo11", "YOLO11 C3k2 + C2PSA (classification models and detectors): C2f with other blocks, an attention "
    "stage.", _style(ULTRALYTICS, head_conv=1280, detect=DetectStyle(reduce=False, legacy=False)),
    YOLO11_PRESETS + YOLO11_DET_PRESETS, default_preset="yolo11n_cls")
CSPNEXT_FAMILY = cross_stage_family(
    "cspnext", "RTMDet CSPNeXt (ImageNet backbones): fusion first, depthwise 5x5 blocks, channel attention, SPP.",
    _style(MMDET, spp_last=True), CSPNEXT_PRESETS, default_preset="cspnext_s")
YOLOV7_FAMILY = cross_stage_family(
    "yolov7", "YOLOv7 ELAN backbone: two split convs, plain 3x3 conv pairs, every pair tapped; max-pool down.",
    _style(YOLOV7_SCALING, down_kind="mp"), YOLOV7_PRESETS,
    default_preset="yolov7_backbone")
YOLOV4CSP_FAMILY = cross_stage_family(
    "yolov4csp", "Scaled-YOLOv4 BottleneckCSP backbone (yolov4-csp): full CSP, bare partial transition, BN + Mish "
    "after the concat.", _style(ULTRALYTICS), YOLOV4CSP_PRESETS, default_preset="yolov4_csp_backbone")


# --------------------------------------------------------------------------- scales
SCALE_FIELDS = ("depth_multiple", "width_multiple", "max_channels", "block_type", "neck_block_type")
SCALED_FAMILIES = ("yolov5", "yolov8", "yolo11")


def scale_preset(family: str, task: str, letter: str) -> str | None:
    """The preset of ``family`` at Ultralytics' scale ``letter`` (n, s, m, l, x) for ``task``: its scaling fields
    are what the scale means (the multiples, the channel cap, and C3k blocks where YOLO11's parse_model forces
    them at m, l, x); None where the family has no such preset."""
    if family not in SCALED_FAMILIES or letter not in "nsmlx" or len(letter) != 1:
        return None
    if task == "detect":
        return f"{family}{letter}u" if family == "yolov5" else f"{family}{letter}"
    return f"{family}{letter}_cls"
