"""Published ImageNet accuracy / compute numbers for CSPNet and its base networks, with sources.

The data set is ``explorer/paper/data/published.csv`` (146 rows, one source per row: the 121 rows of the
vetted reference copy, then 25 rows of CSP's modern lineage; described in ``explorer/paper/data/PUBLISHED.md``).
This module loads it with typed columns and adds derived ones:

* ``gmacs``: the published ``compute`` normalised to giga multiply-accumulates by :func:`to_gmacs`
  (``compute`` and ``compute_unit`` are left exactly as the source gives them);
* ``gmacs_note``: why ``gmacs`` is missing where it is;
* ``res``: the integer input resolution at which the *compute* applies, parsed from ``input_res``;
* ``is_csp`` (bool), ``is_exact`` and ``approximate`` (from ``value_status``);
* ``source_group``: a short label for the source (``timm``, ``torchvision``, ...), so that only
  like is plotted with like;
* ``preset`` / ``preset_note``: this project's preset that builds the same network, or None;
* ``csp_design``: which CSP design a row's model uses, with its year (``CSP_DESIGNS``), so that 2019-2024
  designs can be told apart on one chart ("no CSP" for the plain networks).

Pure Python + pandas: no Streamlit, no torch.
"""
from __future__ import annotations

import math
import re
from functools import lru_cache
from pathlib import Path
from typing import Iterable

import pandas as pd

from explorer.fmt import json_safe

DATA_PATH = Path(__file__).resolve().parent / "data" / "published.csv"

COLUMNS = (
    "model", "family", "is_csp", "variant", "params_M", "compute", "compute_unit",
    "compute_meaning", "gmacs_equiv", "input_res", "top1", "top5", "value_status", "eval_notes",
    "source", "source_locator", "notes",
)
FLOAT_COLUMNS = ("params_M", "compute", "gmacs_equiv", "top1", "top5")

# --------------------------------------------------------------------------- units
# Every compute_unit string found in the data, and the factor that turns a value in that unit into
# GMACs (1e9 multiply-accumulates). ``None`` would mark a unit that is known but whose convention
# cannot be verified (to_gmacs returns None for it). A string not listed here raises ValueError,
# so a new row with a new unit cannot be silently mis-normalised.
UNIT_TO_GMACS: dict[str, float | None] = {
    # Darknet / CSPNet paper + README: 2 FLOPs per multiply-accumulate (src/convolutional_layer.c
    # l.bflops = 2 * nweights * out_h * out_w / 1e9), so GMACs = BFLOPs / 2.
    "BFLOPs": 0.5,
    # timm results/benchmark-*.csv infer_gmacs: deepspeed/fvcore profiler, 1 per MAC.
    "GMACs": 1.0,
    # torchvision Weights meta `_ops` ("GFLOPS"): numerically GMACs (ResNet-50 4.089, not ~8.2).
    "GFLOPS (torchvision)": 1.0,
    # mmpretrain metafile "Flops(G)": mmcv counter, 1 per MAC (computed at 224).
    "GFLOPs (mmcv; really GMACs)": 1.0,
    # tomotana14/CSPPeleeNet.pytorch: thop MACs, in millions.
    "MMACs (thop)": 1e-3,
    # Robert-JunWang/PeleeNet README "FLOPs" 508 M: multiply-accumulates (Pelee#73), in millions.
    "MFLOPs (Pelee README; MACs)": 1e-3,
    # Ultralytics "FLOPs (B)": 2 x thop MACs / 1e9.  Which model and size they were counted on (fused or not,
    # at 32 px and scaled) is part of the unit because it changes the number; explorer.paper.reproduce
    # reproduces both.  Scaling from 32 px multiplies the head's 1x1 terms too, so value / 2 overstates the
    # MACs of the small models (YOLOv8n-cls: 0.5 -> 0.25 GMACs, counted at 224: 0.205).
    "GFLOPs (Ultralytics; fused model, 32 px x (R/32)^2)": 0.5,
    "GFLOPs (Ultralytics; 32 px x (R/32)^2)": 0.5,
    # mmdetection "Flops(G)": mmengine's analysis (modified from fvcore), 1 per MAC, BatchNorm included.
    "GFLOPs (mmdet; really GMACs)": 1.0,
}

UNIT_MEANING = {
    "BFLOPs": "Darknet billions of FLOPs, 2 per multiply-accumulate -> GMACs = value / 2",
    "GMACs": "timm infer_gmacs, 1 per multiply-accumulate -> GMACs = value",
    "GFLOPS (torchvision)": "torchvision _ops, really multiply-accumulates -> GMACs = value",
    "GFLOPs (mmcv; really GMACs)": "mmcv 'FLOPs', 1 per multiply-accumulate -> GMACs = value",
    "MMACs (thop)": "thop millions of multiply-accumulates -> GMACs = value / 1000",
    "MFLOPs (Pelee README; MACs)": "PeleeNet README 'FLOPs' in millions, really MACs -> GMACs = value / 1000",
    "GFLOPs (Ultralytics; fused model, 32 px x (R/32)^2)": (
        "Ultralytics 'FLOPs (B)', 2 x thop MACs of the fused model counted at 32 px and scaled by (R/32)^2 -> "
        "GMACs = value / 2 (an overstatement for small models: the head is scaled too)"),
    "GFLOPs (Ultralytics; 32 px x (R/32)^2)": (
        "Ultralytics 'FLOPs (B)', 2 x thop MACs counted at 32 px and scaled by (R/32)^2 -> GMACs = value / 2 "
        "(an overstatement for small models: the head is scaled too)"),
    "GFLOPs (mmdet; really GMACs)": "mmdetection 'Flops(G)', 1 per multiply-accumulate -> GMACs = value",
}

# Rows whose unit is known but whose counting convention could not be verified for that row:
# model -> reason. Their ``gmacs`` is left empty (as the reference's gmacs_equiv is).
UNVERIFIED_COMPUTE = {
    "HarDNet-138s": "13.4 was copied from the HarDNet paper into the CSPNet README's BFLOPs column; "
                    "whether it is 2 x MAC (Darknet style) or MACs was not verified",
}
# Rows whose compute was counted at another resolution than the one their accuracy was measured at, far
# enough apart that one point would misplace them on an accuracy-compute chart: model -> reason.  Their
# ``gmacs`` is left empty (so is the data set's gmacs_equiv); explorer.paper.reproduce still reconciles them.
OTHER_RESOLUTION_COMPUTE = {
    f"YOLOv8{k}-cls (first release)": "the FLOPs are at 640 px and the accuracy at 224 px (Ultralytics' first "
                                      "YOLOv8-cls table): not one point on an accuracy-compute chart"
    for k in "nsmlx"
}

# --------------------------------------------------------------------------- statuses
VALUE_STATUSES = {
    "exact": "copied verbatim from the cited source (error rates converted as 100 - err)",
    "compute_from_base_row": "training-recipe variant: the source gives accuracy only; params and "
                             "BFLOPs copied from the base model's row (same layer topology)",
    "approx_from_figure": "read off the plot in CSPNet paper Figure 4 (approximate)",
    "derived_from_text_pct": "computed from rounded percentages in the CSPNet paper text about "
                             "Table 1, relative to PeleeNet 1.017 BFLOPs / 70.7 % (approximate)",
}
APPROX_STATUSES = frozenset({"approx_from_figure", "derived_from_text_pct"})

# --------------------------------------------------------------------------- sources
# (prefix of the `source` text, short group label). First match wins; unknown raises.
SOURCE_GROUPS = (
    ("CSPNet paper", "CSPNet paper/README"),
    ("WongKinYiu/CrossStagePartialNetworks", "CSPNet paper/README"),
    ("huggingface/pytorch-image-models", "timm"),
    ("pytorch/vision", "torchvision"),
    ("open-mmlab/mmpretrain", "mmpretrain"),
    ("DenseNet paper", "DenseNet paper"),
    ("liuzhuang13/DenseNet", "DenseNet README (official Torch models)"),
    ("Robert-JunWang/PeleeNet", "PeleeNet README (official)"),
    ("ResNeXt paper", "ResNeXt paper"),
    ("tomotana14/CSPPeleeNet.pytorch", "tomotana14 CSPPeleeNet.pytorch (unofficial)"),
    ("ultralytics/", "Ultralytics"),
    ("open-mmlab/mmdetection", "mmdetection"),
)

# --------------------------------------------------------------------------- CSP designs
# family -> (the CSP design its CSP rows use, year the design was published).  The CSPNet paper's own
# designs (CSPNet: arXiv Nov 2019) cover the families of its tables; the lineage families are one design each.
CSP_DESIGNS: dict[str, tuple[str, int]] = {
    **{f: ("CSPNet", 2019)
       for f in ("PeleeNet", "Darknet", "ResNet", "ResNeXt", "DenseNet", "MobileNetV2")},
    "YOLOv5-cls (C3)": ("YOLOv5 C3", 2020),                 # ultralytics/yolov5, June 2020
    "CS3-Darknet (timm)": ("timm CrossStage3", 2022),      # timm 0.6 (2022)
    "CS3-EdgeNet (timm)": ("timm CrossStage3", 2022),
    "CSPNeXt (RTMDet)": ("RTMDet CSPNeXt", 2022),          # arXiv 2212.07784, Dec 2022
    "YOLOv8-cls (C2f)": ("YOLOv8 C2f", 2023),              # ultralytics 8.0, Jan 2023
    "YOLO11-cls (C3k2)": ("YOLO11 C3k2 + C2PSA", 2024),    # ultralytics 8.3, Sep 2024
}
NO_CSP = "no CSP"


def csp_design(family: str, is_csp: bool) -> str:
    """'YOLOv8 C2f (2023)': the CSP design of a published row, 'no CSP' for a plain network."""
    if not is_csp:
        return NO_CSP
    design = CSP_DESIGNS.get(family)
    if design is None:
        raise ValueError(f"CSP row of family {family!r} has no design: add it to CSP_DESIGNS")
    return f"{design[0]} ({design[1]})"


def csp_design_order(labels) -> list:
    """The labels of :func:`csp_design` in time order ('no CSP' last), e.g. for a chart legend."""
    years = {f"{d} ({y})": y for d, y in CSP_DESIGNS.values()}
    return sorted(dict.fromkeys(labels), key=lambda s: (s == NO_CSP, years.get(s, 9999), s))

# --------------------------------------------------------------------------- presets
# Published model name -> (preset, note). A preset is given only where it builds the same network
# (layer topology: depths, widths, block type, CSP fusion). Training recipe, evaluation protocol and
# the activation function are not part of the match; the note says where they differ.
_DARKNET_RETRAIN = "same topology; trained by the CSPNet authors in Darknet (LReLU, 1-GPU recipe)"
_CSP_DARKNET_CFG = ("Darknet cfg from the CSPNet authors; timm's port of the same design has "
                    "slightly different params ({})")
_RECIPE = "training-recipe variant of {} (same architecture; params/BFLOPs copied from the base row)"

PRESET_MAP: dict[str, tuple[str | None, str]] = {
    # ---- PeleeNet family, CSPNet paper / README (Darknet retrains)
    "PeleeNet": ("peleenet", _DARKNET_RETRAIN + " (official PeleeNet uses ReLU)"),
    "CSPPeleeNet": ("csppeleenet", _DARKNET_RETRAIN + "; the authors' cfg was never released"),
    "CSP (fusion last) PeleeNet": ("csppeleenet_fusion_last", _DARKNET_RETRAIN + "; numbers approximate (Fig. 4)"),
    "CSP (fusion first) PeleeNet": ("csppeleenet_fusion_first", _DARKNET_RETRAIN + "; numbers approximate (Fig. 4)"),
    "PeleeNet-swish": ("peleenet", "activation differs: swish (activation='silu')"),
    "PeleeNet-mish": ("peleenet", "activation differs: Mish (activation='mish')"),
    "CSPPeleeNet-swish": ("csppeleenet", "activation differs: swish (activation='silu')"),
    "CSPPeleeNet-mish": ("csppeleenet", "activation differs: Mish (activation='mish')"),
    "PeleeNet-swish-SE": (None, "adds SE modules: not built by peleenet"),
    "CSPPeleeNet-swish-SE": (None, "adds SE modules: not built by csppeleenet"),
    "SparsePeleeNet (SPeleeNet)": (None, "SparseNet-style connections: no preset"),
    "PeleeNeXt": (None, "group-conv PeleeNet: no preset"),
    "CSP (fusion last) PeleeNet, gamma=0.25": (
        "csppeleenet_fusion_last_gamma025", "partial ratio gamma=0.25, read as the bypass share (an inference, "
        "see PUBLISHED.md): split_ratio=0.75"),
    "CSPPeleeNet, gamma=0.25": (
        "csppeleenet_gamma025", "partial ratio gamma=0.25, read as the bypass share (an inference, see "
        "PUBLISHED.md): split_ratio=0.75"),
    "CSPPeleeNet Ref.": (None, "CSP PeleeNet reference backbone, no cfg published"),
    "CSPPeleeNetb Ref.": (None, "CSP PeleeNet reference backbone (b), no cfg published"),
    "PeleeNet (official)": ("peleenet", "official PeleeNet"),
    "PeleeNet (tomotana14 reimpl.)": (
        None, "unofficial reimplementation (2.802M params, 513.9M MACs vs official 2.8M / 508M); "
              "not verified to be the same network as the peleenet preset"),
    "CSPPeleeNet gamma=0.5 (tomotana14 reimpl.)": (
        None, "unofficial CSPPeleeNet with a different architecture from the paper's "
              "(more MACs than PeleeNet); not the csppeleenet preset"),
    "CSPPeleeNetLight gamma=0.5 (tomotana14 reimpl.)": (None, "unofficial variant: no preset"),
    # ---- Darknet family
    "DarkNet-53": ("darknet53", "pjreddie darknet53.cfg, the original Darknet-53 (41.57M params; "
                                "timm port 41.61M); trained by the CSPNet authors in Darknet"),
    "CSPDarkNet-53": ("cspdarknet53", _CSP_DARKNET_CFG.format("27.61M vs timm 27.64M")),
    "CSPDarkNet-53 [CutMix+Mosaic+LabelSmoothing (csdarknet53-gamma.cfg)]": (
        "cspdarknet53", _RECIPE.format("CSPDarkNet-53")),
    "CSPDarkNet-53 [CutMix+Mosaic+LabelSmoothing+Mish (csdarknet53-omega.cfg)]": (
        "cspdarknet53", _RECIPE.format("CSPDarkNet-53") + "; activation differs: Mish (activation='mish')"),
    "CSPDarkNet-53-Elastic": (None, "ELASTIC scale policy: no preset"),
    "Darknet Ref.": (None, "Darknet reference model: no preset"),
    "darknet53.c2ns_in1k": ("darknet53", "timm Darknet-53"),
    "darknetaa53.c2ns_in1k": (None, "anti-aliased downsampling: not built by darknet53"),
    "cspdarknet53.ra_in1k": ("cspdarknet53", "timm cspdarknet53"),
    "cspdarknet50_3rdparty_8xb32_in1k (=timm cspdarknet53)": ("cspdarknet53", "timm cspdarknet53 weights"),
    # ---- ResNet family
    "ResNet-50 (Darknet)": (
        None, "pjreddie resnet50.cfg (22.73M params), NOT torchvision ResNet-50 (25.56M): "
              "a different network, so not the resnet50 preset"),
    "ResNet-10 (Darknet)": (None, "Darknet resnet10.cfg: no preset"),
    "CSPResNet-10": (None, "CSP version of Darknet ResNet-10: no preset"),
    "ResNet-152": (None, "literature row: no resnet152 preset"),
    "CSPResNet-50": ("cspresnet50", _CSP_DARKNET_CFG.format("21.57M vs timm 21.62M")
                     + "; depths 3-3-5-2"),
    "CSPResNet-50 [CutMix+Mosaic+LabelSmoothing (csresnet50-gamma.cfg)]": (
        "cspresnet50", _RECIPE.format("CSPResNet-50")),
    "CSPResNet-50 [CutMix+Mosaic+LabelSmoothing+Mish (csresnet50-omega.cfg)]": (
        "cspresnet50", _RECIPE.format("CSPResNet-50") + "; activation differs: Mish (activation='mish')"),
    "CSPResNet-50-Elastic": (None, "ELASTIC scale policy: no preset"),
    "cspresnet50.ra_in1k": ("cspresnet50", "timm cspresnet50"),
    "cspresnet50_3rdparty_8xb32_in1k (=timm cspresnet50)": ("cspresnet50", "timm cspresnet50 weights"),
    "resnet50.tv_in1k": ("resnet50", "torchvision ResNet-50 V1 weights evaluated by timm"),
    "resnet50.tv2_in1k": ("resnet50", "torchvision ResNet-50 V2 weights evaluated by timm"),
    "resnet50 (torchvision IMAGENET1K_V1)": ("resnet50", "torchvision ResNet-50"),
    "resnet50 (torchvision IMAGENET1K_V2)": ("resnet50", "torchvision ResNet-50, 2022 recipe"),
    "ResNet-50 (ResNeXt paper baseline)": (
        "resnet50", "fb.resnet.torch ResNet-50 (stride in the 3x3, 25.5M params / 4.1 GFLOPs per the "
                    "ResNeXt paper), the same layer layout as torchvision's; not a Darknet model"),
    # ---- ResNeXt family
    "ResNeXt-50 (Darknet)": (
        None, "pjreddie resnext50.cfg (22.19M params), NOT torchvision resnext50_32x4d (25.03M): "
              "a different network, so not the resnext50_32x4d preset"),
    "CSPResNeXt-50": ("cspresnext50", _CSP_DARKNET_CFG.format("20.50M vs timm 20.57M")
                      + "; depths 3-3-5-2"),
    "CSPResNeXt-50 [MixUp]": ("cspresnext50", _RECIPE.format("CSPResNeXt-50")),
    "CSPResNeXt-50 [CutMix]": ("cspresnext50", _RECIPE.format("CSPResNeXt-50")),
    "CSPResNeXt-50 [CutMix+MixUp]": ("cspresnext50", _RECIPE.format("CSPResNeXt-50")),
    "CSPResNeXt-50 [Mosaic]": ("cspresnext50", _RECIPE.format("CSPResNeXt-50")),
    "CSPResNeXt-50 [Blurring]": ("cspresnext50", _RECIPE.format("CSPResNeXt-50")),
    "CSPResNeXt-50 [Label smoothing]": ("cspresnext50", _RECIPE.format("CSPResNeXt-50")),
    "CSPResNeXt-50 [Swish activation]": (
        "cspresnext50", _RECIPE.format("CSPResNeXt-50") + "; activation differs: swish (activation='silu')"),
    "CSPResNeXt-50 [Mish activation]": (
        "cspresnext50", _RECIPE.format("CSPResNeXt-50") + "; activation differs: Mish (activation='mish')"),
    "CSPResNeXt-50 [CutMix+Mosaic+LabelSmoothing (csresnext50-gamma.cfg)]": (
        "cspresnext50", _RECIPE.format("CSPResNeXt-50")),
    "CSPResNeXt-50 [CutMix+Mosaic+LabelSmoothing+Mish (csresnext50-omega.cfg)]": (
        "cspresnext50", _RECIPE.format("CSPResNeXt-50") + "; activation differs: Mish (activation='mish')"),
    "CSPResNeXt-50-Elastic": (None, "ELASTIC scale policy: no preset"),
    "CSPResNeXt-50+Elastic": (None, "ELASTIC variant, no cfg published: no preset"),
    "cspresnext50.ra_in1k": ("cspresnext50", "timm cspresnext50"),
    "cspresnext50 (timm, old eval @224)": ("cspresnext50", "timm cspresnext50, evaluated at 224"),
    "cspresnext50_3rdparty_8xb32_in1k (=timm cspresnext50)": ("cspresnext50", "timm cspresnext50 weights"),
    "resnext50_32x4d.tv_in1k": ("resnext50_32x4d", "torchvision V1 weights evaluated by timm"),
    "resnext50_32x4d.tv2_in1k": ("resnext50_32x4d", "torchvision V2 weights evaluated by timm"),
    "resnext50_32x4d (torchvision IMAGENET1K_V1)": ("resnext50_32x4d", "torchvision ResNeXt-50 32x4d"),
    "resnext50_32x4d (torchvision IMAGENET1K_V2)": ("resnext50_32x4d", "torchvision ResNeXt-50 32x4d, 2022 recipe"),
    "ResNeXt-50 32x4d (paper)": ("resnext50_32x4d", "the ResNeXt paper's model, which torchvision implements"),
    # ---- DenseNet family
    "densenet121 (torchvision IMAGENET1K_V1)": ("densenet121", "torchvision DenseNet-121"),
    "densenet169 (torchvision IMAGENET1K_V1)": ("densenet169", "torchvision DenseNet-169"),
    "densenet201 (torchvision IMAGENET1K_V1)": ("densenet201", "torchvision DenseNet-201"),
    "densenet161 (torchvision IMAGENET1K_V1)": ("densenet161", "torchvision DenseNet-161"),
    "densenet121.tv_in1k": ("densenet121", "torchvision weights evaluated by timm"),
    "densenet169.tv_in1k": ("densenet169", "torchvision weights evaluated by timm"),
    "densenet201.tv_in1k": ("densenet201", "torchvision weights evaluated by timm"),
    "densenet161.tv_in1k": ("densenet161", "torchvision weights evaluated by timm"),
    "DenseNet-121 (paper, single-crop)": ("densenet121", "DenseNet-BC k=32"),
    "DenseNet-121 (paper, 10-crop)": ("densenet121", "DenseNet-BC k=32; 10-crop accuracy"),
    "DenseNet-169 (paper, single-crop)": ("densenet169", "DenseNet-BC k=32"),
    "DenseNet-169 (paper, 10-crop)": ("densenet169", "DenseNet-BC k=32; 10-crop accuracy"),
    "DenseNet-201 (paper, single-crop)": ("densenet201", "DenseNet-BC k=32"),
    "DenseNet-201 (paper, 10-crop)": ("densenet201", "DenseNet-BC k=32; 10-crop accuracy"),
    "DenseNet-264 (paper, single-crop)": (None, "no densenet264 preset"),
    "DenseNet-264 (paper, 10-crop)": (None, "no densenet264 preset"),
    "DenseNet-264-32": (None, "literature row: no densenet264 preset"),
    "DenseNet-121 (official Torch model)": ("densenet121", "official LuaTorch model (torchvision ported it)"),
    "DenseNet-169 (official Torch model)": ("densenet169", "official LuaTorch model (torchvision ported it)"),
    "DenseNet-201 (official Torch model)": ("densenet201", "official LuaTorch model (torchvision ported it)"),
    "DenseNet-161 (k=48) (official Torch model)": ("densenet161", "official LuaTorch model (torchvision ported it)"),
    "DenseNet-201+Elastic": (None, "ELASTIC variant: no preset"),
    "CSPDenseNet-201+Elastic": (None, "CSP + ELASTIC variant, no cfg published: no preset"),
    "CSPDenseNet Ref.": (None, "CSP DenseNet reference backbone, no cfg published"),
    "CSPDenseNetb Ref.": (None, "CSP DenseNet reference backbone (b), no cfg published"),
    # ---- CSP's modern lineage (cspnet/families/lineage.py): timm CrossStage3 (cs3*), YOLOv5 C3, YOLOv8 C2f,
    # YOLO11 C3k2 + C2PSA, RTMDet CSPNeXt; each preset builds its reference exactly (params, MACs)
    **{m: (m.split(".")[0], f"timm {m.split('.')[0]} (CrossStage3: fusion first)") for m in (
        "cs3darknet_focus_s.ra4_e3600_r256_in1k", "cs3darknet_m.c2ns_in1k",
        "cs3darknet_focus_m.c2ns_in1k", "cs3darknet_l.c2ns_in1k", "cs3darknet_focus_l.c2ns_in1k",
        "cs3sedarknet_l.c2ns_in1k", "cs3darknet_x.c2ns_in1k", "cs3sedarknet_x.c2ns_in1k",
        "cs3edgenet_x.c2_in1k", "cs3se_edgenet_x.c2ns_in1k")},
    **{f"YOLOv5{k}-cls": (f"yolov5{k}_cls", f"YOLOv5 yolov5{k}-cls (yolov5{k}.yaml backbone + Classify)")
       for k in "nsmlx"},
    **{f"YOLOv8{k}-cls (first release)": (f"yolov8{k}_cls", f"Ultralytics yolov8{k}-cls, first weights (same "
                                                            "architecture)") for k in "nsmlx"},
    **{f"YOLOv8{k}-cls": (f"yolov8{k}_cls", f"Ultralytics yolov8{k}-cls") for k in "nsmlx"},
    **{f"YOLO11{k}-cls": (f"yolo11{k}_cls", f"Ultralytics yolo11{k}-cls (1000 classes; the published params are "
                                            "of an 80-class build)") for k in "nsmlx"},
    **{f"CSPNeXt-{k}": (f"cspnext_{k}", f"mmdetection CSPNeXt-{k} (RTMDet backbone)")
       for k in ("tiny", "s", "m", "l", "x")},
    # ---- other families (comparison rows): no preset
    "HarDNet-138s": (None, "HarDNet: no preset (literature row)"),
    "Res2NetLite-72": (None, "Res2Net: no preset"),
    "EfficientNet-B0* (Darknet)": (None, "EfficientNet: no preset"),
    "EfficientNet-B0 (official code, bs256)": (None, "EfficientNet: no preset"),
    "MobileNet-v2 (Darknet)": (None, "MobileNetV2: no preset"),
    "CSPMobileNet-v2": (None, "MobileNetV2: no preset"),
    "MixNet-M-GPU": (None, "MixNet: no preset"),
}
_NO_PRESET_NOTE = "no preset builds this architecture"

# Every preset name the map can produce (for checks against cspnet.presets).
MAPPED_PRESETS = frozenset(p for p, _ in PRESET_MAP.values() if p is not None)


def preset_for(model: str) -> tuple[str | None, str]:
    """(preset name or None, note) for a published model name."""
    return PRESET_MAP.get(model, (None, _NO_PRESET_NOTE))


# --------------------------------------------------------------------------- normalisation
def _is_missing(value) -> bool:
    if value is None:
        return True
    if isinstance(value, str):
        return value.strip() == ""
    try:
        return bool(pd.isna(value))
    except (TypeError, ValueError):
        return False


def to_gmacs(value, unit) -> float | None:
    """Normalise a published compute ``value`` given in ``unit`` to GMACs (1e9 multiply-accumulates).

    ``unit`` must be one of :data:`UNIT_TO_GMACS` (exact strings from the data set); any other unit
    raises ``ValueError``. Returns None when there is no value, or when the unit is known but its
    convention could not be verified.
    """
    unit_s = "" if _is_missing(unit) else str(unit).strip()
    if _is_missing(value):
        if unit_s and unit_s not in UNIT_TO_GMACS:
            raise ValueError(f"unknown compute unit {unit!r}; known: {', '.join(UNIT_TO_GMACS)}")
        return None
    if not unit_s:
        raise ValueError(f"compute value {value!r} has no unit")
    if unit_s not in UNIT_TO_GMACS:
        raise ValueError(f"unknown compute unit {unit!r}; known: {', '.join(UNIT_TO_GMACS)}")
    factor = UNIT_TO_GMACS[unit_s]
    if factor is None:
        return None
    v = float(value)
    if not math.isfinite(v) or v < 0:
        raise ValueError(f"compute value {value!r} is not a finite non-negative number")
    return v * factor


# --------------------------------------------------------------------------- resolution
_CORRESPONDS = re.compile(r"corresponds to (\d+) input")
_LEADING_INT = re.compile(r"^\s*(\d+)\b")


def parse_res(text) -> int | None:
    """The input resolution at which the compute applies, from the ``input_res`` text.

    "224 (inferred: ...)" -> 224, "256 (cfg)" -> 256, "not stated ..." -> None. The mmpretrain rows
    ("256 crop (resize 288) for accuracy; FLOPs figure corresponds to 224 input") give 224: their
    compute was counted at 224 although their accuracy is at a 256 crop.
    """
    if _is_missing(text):
        return None
    s = str(text).strip()
    if s.lower().startswith("not stated"):
        return None
    m = _CORRESPONDS.search(s)
    if m:
        return int(m.group(1))
    m = _LEADING_INT.match(s)
    if m:
        return int(m.group(1))
    raise ValueError(f"cannot parse an input resolution from {text!r}")


def source_group(source: str) -> str:
    for prefix, group in SOURCE_GROUPS:
        if str(source).startswith(prefix):
            return group
    raise ValueError(f"unknown source {source!r}: add it to SOURCE_GROUPS")


# --------------------------------------------------------------------------- loading
def _parse_bool(value: str) -> bool:
    v = str(value).strip().lower()
    if v == "yes":
        return True
    if v == "no":
        return False
    raise ValueError(f"is_csp must be 'yes' or 'no', got {value!r}")


def read_table(path: Path, columns: tuple, numbers: dict) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(the CSV as text, the same with ``numbers`` columns converted: {column: dtype}); the columns
    must be exactly ``columns``; a blank number is NaN (an error for an integer dtype)."""
    raw = pd.read_csv(path, dtype=str, keep_default_na=False, encoding="utf-8")
    if tuple(raw.columns) != tuple(columns):
        raise ValueError(f"{path.name}: unexpected columns {list(raw.columns)}")
    df = raw.copy()
    for col, dtype in numbers.items():
        text = raw[col].str.strip()
        df[col] = pd.to_numeric(text.where(text != ""), errors="raise").astype(dtype)
    return raw, df


@lru_cache(maxsize=1)
def _load() -> pd.DataFrame:
    raw, df = read_table(DATA_PATH, COLUMNS, {col: "float64" for col in FLOAT_COLUMNS})
    df["is_csp"] = raw["is_csp"].map(_parse_bool).astype(bool)
    bad = sorted(set(raw["value_status"]) - set(VALUE_STATUSES))
    if bad:
        raise ValueError(f"unknown value_status {bad}; known: {', '.join(VALUE_STATUSES)}")

    gmacs, notes = [], []
    for model, value, unit in zip(df["model"], df["compute"], df["compute_unit"]):
        g = to_gmacs(value, unit)
        note = ""
        if model in UNVERIFIED_COMPUTE:
            g, note = None, UNVERIFIED_COMPUTE[model]
        elif model in OTHER_RESOLUTION_COMPUTE:
            g, note = None, OTHER_RESOLUTION_COMPUTE[model]
        elif g is None:
            note = "no compute given by this source"
        gmacs.append(math.nan if g is None else g)
        notes.append(note)
    df["gmacs"] = pd.Series(gmacs, index=df.index, dtype="float64")
    df["gmacs_note"] = notes
    df["res"] = pd.array([parse_res(t) for t in raw["input_res"]], dtype="Int64")
    df["is_exact"] = (df["value_status"] == "exact").astype(bool)
    df["approximate"] = df["value_status"].isin(APPROX_STATUSES).astype(bool)
    df["source_group"] = [source_group(s) for s in df["source"]]
    mapped = [preset_for(m) for m in df["model"]]
    df["preset"] = pd.Series([p for p, _ in mapped], index=df.index, dtype=object)
    df["preset_note"] = [n for _, n in mapped]
    df["csp_design"] = [csp_design(f, c) for f, c in zip(df["family"], df["is_csp"])]
    return df


def load_published() -> pd.DataFrame:
    """The data set as a DataFrame (a fresh copy each call; parsed once per process)."""
    return _load().copy(deep=True)


# --------------------------------------------------------------------------- queries
def families() -> list[str]:
    return sorted(_load()["family"].unique().tolist())


def sources() -> list[str]:
    """Distinct ``source`` texts, in order of first appearance."""
    return list(dict.fromkeys(_load()["source"]))


def source_groups() -> list[str]:
    """Distinct short source labels, in order of first appearance."""
    return list(dict.fromkeys(_load()["source_group"]))


def _as_list(value) -> list:
    if isinstance(value, (str, int)) or not isinstance(value, Iterable):
        return [value]
    return list(value)


def filter_published(df: pd.DataFrame | None = None, family=None, source=None, resolution=None,
                     csp: bool | None = None) -> pd.DataFrame:
    """Rows of ``df`` (default: the whole data set) matching every given filter.

    ``family``: a family name or several; ``source``: ``source`` texts or ``source_group`` labels;
    ``resolution``: one or several integers matched against ``res``; ``csp``: True/False.
    Unknown family/source names raise ``ValueError`` (so a CLI typo is not an empty result).
    """
    out = load_published() if df is None else df
    mask = pd.Series(True, index=out.index)
    if family is not None:
        fams = _as_list(family)
        unknown = [f for f in fams if f not in set(families())]
        if unknown:
            raise ValueError(f"unknown family {unknown}; known: {', '.join(families())}")
        mask &= out["family"].isin(fams)
    if source is not None:
        srcs = _as_list(source)
        known = set(sources()) | set(source_groups())
        unknown = [s for s in srcs if s not in known]
        if unknown:
            raise ValueError(f"unknown source {unknown}; known groups: {', '.join(source_groups())}")
        mask &= out["source"].isin(srcs) | out["source_group"].isin(srcs)
    if resolution is not None:
        res = [int(r) for r in _as_list(resolution)]
        mask &= out["res"].isin(res).fillna(False).astype(bool)
    if csp is not None:
        mask &= out["is_csp"] == bool(csp)
    return out[mask].copy()


def sets_front(df: pd.DataFrame) -> pd.Series:
    """Rows that may set the accuracy-compute front (``explorer.paper.pareto``): values as published (not read
    off a figure nor derived from rounded text) and single-crop (a 10-crop top-1 is not the others' measure)."""
    return ~df["approximate"].astype(bool) & ~df["eval_notes"].str.contains("10-crop", regex=False)


# --------------------------------------------------------------------------- export
def published_records(family=None) -> list[dict]:
    """The data set (optionally one family or several) as JSON-safe dicts: NaN/NA -> None."""
    df = filter_published(family=family)
    cols = list(df.columns)
    return [{c: json_safe(v) for c, v in zip(cols, row)} for row in df.itertuples(index=False, name=None)]


def published_csv(family=None) -> str:
    """The data set (optionally filtered by family) with the derived columns, as CSV text."""
    return filter_published(family=family).to_csv(index=False)


# --------------------------------------------------------------------------- a design's published accuracy
# A published row maps to a preset that builds its network (PRESET_MAP); a design *is* that preset
# when every field its family reads is the preset's, the name and the input size aside (a design
# at another resolution is the same network: its rows are still shown, saying at which resolution).
SAME_NETWORK_IGNORES = ("name", "input_size")
# rows of a preset's model that are not the preset's own network as built (the note says how it differs)
_OTHER_NETWORK_NOTES = ("activation differs",)
# how a row's value was obtained, best first: exact, then approximate, then a training-recipe variant
_STATUS_RANK = {"exact": 0, "approx_from_figure": 1, "derived_from_text_pct": 1, "compute_from_base_row": 2}


def _network_key(cfg) -> tuple:
    """What makes the network: the fields its family reads, but the name and the input size, and
    the CSP-only fields of a plain design (fusion 'none': they act in no stage)."""
    from cspnet.config import FIELDS, family_fields

    return (cfg.family,) + tuple(
        (n, getattr(cfg, n)) for n in family_fields(cfg.family)
        if n not in SAME_NETWORK_IGNORES and not (FIELDS[n].csp_only and cfg.fusion == "none"))


def network_key(cfg) -> tuple:
    """What makes ``cfg``'s network (:func:`_network_key`): two designs with equal keys build the same network."""
    return _network_key(cfg)


@lru_cache(maxsize=1)
def _preset_networks() -> dict:
    """network key -> the first preset (in PRESET_MAP order) with published rows that builds it."""
    from cspnet import all_presets, get_preset

    out: dict = {}
    for name in dict.fromkeys(p for p, _ in PRESET_MAP.values() if p is not None):
        if name in all_presets():
            out.setdefault(_network_key(get_preset(name)), name)
    return out


def preset_of_design(cfg) -> str | None:
    """The preset with published ImageNet rows whose network ``cfg`` is (see SAME_NETWORK_IGNORES), or None."""
    return _preset_networks().get(_network_key(cfg))


def _preferred_group(preset: str) -> str | None:
    """The source group of the preset's own reference (torchvision for torchvision's DenseNets)."""
    from cspnet import all_presets

    ref = (all_presets()[preset].reference or "").lower()
    for prefix, group in SOURCE_GROUPS:
        first = group.split("/")[0].split(" ")[0].lower()
        if prefix.lower() in ref or ref.startswith(first + " "):
            return group
    return None


def published_accuracy(cfg) -> dict | None:
    """Where to place ``cfg`` on an accuracy chart: the published ImageNet top-1 of the preset it
    equals, or None when it equals no preset with a published accuracy.

    Of several rows (sources, resolutions, protocols) the one chosen is, in order: at the design's
    input size; exact (not read off a figure, not a training-recipe variant); single-crop; from the
    source the preset reproduces (its reference); with a published compute; first in the data set.
    Rows for another activation than the preset's are not the design's network and are left out.
    Returns ``preset``, ``model``, ``top1``, ``res`` (of the row; None if not stated),
    ``source_group``, ``source``, ``value_status``, ``approximate``, ``preset_note``, ``row`` (index
    in the data set), ``at_input_size`` (bool), ``input_size``, ``why`` (the choice in words) and
    ``others`` (the other rows: model, source_group, res, top1, tag: "10-crop", "approximate", ...).
    """
    preset = preset_of_design(cfg)
    if preset is None:
        return None
    df = _load()
    rows = df[(df["preset"] == preset) & df["top1"].notna()]
    rows = rows[~rows["preset_note"].str.contains("|".join(_OTHER_NETWORK_NOTES), regex=True)]
    if rows.empty:
        return None
    preferred = _preferred_group(preset)
    size = int(cfg.input_size)

    def rank(item):
        pos, (i, r) = item
        return (pd.isna(r["res"]) or int(r["res"]) != size, _STATUS_RANK.get(r["value_status"], 3),
                "10-crop" in str(r["eval_notes"]), r["source_group"] != preferred, pd.isna(r["gmacs"]), pos)

    ordered = [r for _, r in sorted(enumerate(rows.iterrows()), key=rank)]
    i, best = ordered[0]
    res = None if pd.isna(best["res"]) else int(best["res"])
    at_size = res == size
    if len(ordered) == 1:
        why = "the only published row for this preset"
    elif at_size:
        n_at = sum(1 for _, r in ordered if not pd.isna(r["res"]) and int(r["res"]) == size)
        why = (f"the only one of {len(ordered)} published rows at {size} px" if n_at == 1 else
               f"one of {n_at} published rows at {size} px: "
               + ("exact, single-crop, from the preset's reference source" if best["source_group"] == preferred
                  else "the first exact single-crop one"))
    else:
        why = f"no published row at {size} px; shown: the row at {res} px" if res else \
            f"no published row at {size} px; shown: a row whose resolution is not stated"
    return {
        "preset": preset, "model": best["model"], "top1": float(best["top1"]), "res": res,
        "source_group": best["source_group"], "source": best["source"], "value_status": best["value_status"],
        "approximate": bool(best["approximate"]), "preset_note": best["preset_note"], "row": int(i),
        "at_input_size": at_size, "input_size": size, "why": why,
        "others": [{"model": r["model"], "source_group": r["source_group"],
                    "res": None if pd.isna(r["res"]) else int(r["res"]), "top1": float(r["top1"]),
                    "tag": _row_tag(r)} for _, r in ordered[1:]],
    }


def _row_tag(r) -> str:
    """What sets a row apart from a plain single-crop exact value ('' for none)."""
    tags = []
    if "10-crop" in str(r["eval_notes"]):
        tags.append("10-crop")
    if r["value_status"] in APPROX_STATUSES:
        tags.append("approximate")
    if r["value_status"] == "compute_from_base_row":
        tags.append("training-recipe variant")
    if r["model"] in OTHER_RESOLUTION_COMPUTE:  # input_res: "224 for accuracy; FLOPs figure corresponds to 640 input"
        tags.append(f"compute at {int(r['res'])} px, accuracy at {_LEADING_INT.match(r['input_res']).group(1)} px")
    return ", ".join(tags)
