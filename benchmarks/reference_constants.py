"""Reference constants (params, MACs, shapes, structure) of modern CSP models, measured on the
reference implementations, for tests of this project's re-implementations to compare against.

NOT imported by the app or the tests: it needs timm, fvcore and ultralytics, none of which is a
project dependency.  Its output, ``benchmarks/results/reference_constants.json``, is committed and
is what tests should read (or copy constants from).

Set-up (outside the project; do not touch the system Python, whose torch is the project's)::

    python3.11 -m venv /work/refenv
    /work/refenv/bin/pip install torch==2.14.1 torchvision==0.29.1
    /work/refenv/bin/pip install timm==1.0.31 fvcore ultralytics torch==2.14.1 torchvision==0.29.1
    /work/refenv/bin/python benchmarks/reference_constants.py            # CPU, ~1-2 min
    # optional cross-check of the YOLOv7 / yolov4-csp builds (see below):
    /work/refenv/bin/python benchmarks/reference_constants.py --scratch /work/refscratch/ref_yolo_backbones.py

Versions used for the committed JSON: torch 2.14.1, timm 1.0.31, ultralytics 8.4.190,
ultralytics-thop 2.2.3, fvcore 0.1.5.post20221221.

What is measured (all models built WITHOUT weights, eval mode, CPU, batch 1):
  params               sum of p.numel() over model.parameters()
  macs_fvcore_R        fvcore FlopCountAnalysis(model, 1x3xRxR).total()  (fvcore counts one "flop" per
                       MAC for conv/linear/matmul, and ALSO counts eval BatchNorm (numel, x2 with affine
                       -- see ``fvcore_by_op``), adaptive_avg_pool and upsample)
  macs_flopcounter_R   torch.utils.flop_counter.FlopCounterMode total / 2 (conv, mm/addmm/bmm only:
                       pure multiply-accumulates, no BN/act/pool)
  thop_* (ultralytics) ultralytics.utils.torch_utils.get_flops (thop, stride-aware, real imgsz; result is
                       GFLOPs = 2 x MACs / 1e9) and the "old way": thop.profile at 32x32 times (R/32)^2.
  stages / layers      per-stage (timm: stem, stages[i], head) or per-layer (ultralytics model.model[i])
                       params and output shapes.

timm (1.0.31): cs3darknet_{s,m,l,x}, cs3darknet_focus_{s,m,l,x}, cs3sedarknet_{l,x}, cs3edgenet_x,
cs3se_edgenet_x, cspnext_{tiny,s,m,l,x} (timm 1.0.31 has the CSPNeXt port).

ultralytics: yolov8{n..x}-cls.yaml and yolo11{n..x}-cls.yaml via ClassificationModel(cfg, nc=...),
nc=1000 (and nc=80 for yolo11, whose published params are 80-class builds).  YOLOv5-cls is built two
ways that must agree: (a) ultralytics DetectionModel('yolov5{s}.yaml') cut to layers 0-8 and layer 9
(SPPF) replaced by Classify(in_ch_of_SPPF, 1000), exactly yolov5 models/yolo.py
ClassificationModel._from_detection_model(cutoff=10); (b) explicit Conv/C3/Classify from the recipe.

YOLOv7 backbone (cfg/training/yolov7.yaml layers 0-50) and Scaled-YOLOv4 yolov4-csp backbone
(models/yolov4-csp.yaml layers 0-10) + global-avg-pool + Linear(1024, 1000): no pip package.  Their
layer lists are stored below as data (YOLOV7_BACKBONE, YOLOV4CSP_BACKBONE), transcribed from the
repos' YAMLs; they are built here with ultralytics' Conv (conv no-bias + BN + act, autopad k//2) /
Concat and small local CSP classes written to the repo's structure (ScaledYOLOv4 Bottleneck is
1x1 -> 3x3, unlike ultralytics' 3x3 -> 3x3 BottleneckCSP).  The scratch cross-check file
/work/refscratch/ref_yolo_backbones.py (never committed) holds the repo module code pasted verbatim
(yolov7 models/common.py Conv/MP/Concat, ScaledYOLOv4 models/common.py Conv(Mish)/Bottleneck/
BottleneckCSP) and a parse loop equal to the repos' parse_model with gd = gw = 1; --scratch runs it
and records whether its params and shapes equal the build here.
"""

from __future__ import annotations

import argparse
import copy
import importlib.util
import io
import json
import math
import os
import warnings
from contextlib import redirect_stdout

import torch
import torch.nn as nn

warnings.filterwarnings("ignore")
torch.set_grad_enabled(False)

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "results", "reference_constants.json")

TIMM_MODELS = [
    "cs3darknet_s",
    "cs3darknet_m",
    "cs3darknet_l",
    "cs3darknet_x",
    "cs3darknet_focus_s",
    "cs3darknet_focus_m",
    "cs3darknet_focus_l",
    "cs3darknet_focus_x",
    "cs3sedarknet_l",
    "cs3sedarknet_x",
    "cs3edgenet_x",
    "cs3se_edgenet_x",
    "cspnext_tiny",
    "cspnext_s",
    "cspnext_m",
    "cspnext_l",
    "cspnext_x",
]
SCALES = "nsmlx"
YOLOV5_SCALES = {"n": (0.33, 0.25), "s": (0.33, 0.50), "m": (0.67, 0.75), "l": (1.0, 1.0), "x": (1.33, 1.25)}

# [from, repeats, module, args] -- transcribed from WongKinYiu/yolov7 cfg/training/yolov7.yaml (backbone 0-50)
YOLOV7_BACKBONE = [
    [-1, 1, "Conv", [32, 3, 1]],  # 0
    [-1, 1, "Conv", [64, 3, 2]],  # 1-P1/2
    [-1, 1, "Conv", [64, 3, 1]],
    [-1, 1, "Conv", [128, 3, 2]],  # 3-P2/4
    [-1, 1, "Conv", [64, 1, 1]],
    [-2, 1, "Conv", [64, 1, 1]],
    [-1, 1, "Conv", [64, 3, 1]],
    [-1, 1, "Conv", [64, 3, 1]],
    [-1, 1, "Conv", [64, 3, 1]],
    [-1, 1, "Conv", [64, 3, 1]],
    [[-1, -3, -5, -6], 1, "Concat", [1]],
    [-1, 1, "Conv", [256, 1, 1]],  # 11
    [-1, 1, "MP", []],
    [-1, 1, "Conv", [128, 1, 1]],
    [-3, 1, "Conv", [128, 1, 1]],
    [-1, 1, "Conv", [128, 3, 2]],
    [[-1, -3], 1, "Concat", [1]],  # 16-P3/8
    [-1, 1, "Conv", [128, 1, 1]],
    [-2, 1, "Conv", [128, 1, 1]],
    [-1, 1, "Conv", [128, 3, 1]],
    [-1, 1, "Conv", [128, 3, 1]],
    [-1, 1, "Conv", [128, 3, 1]],
    [-1, 1, "Conv", [128, 3, 1]],
    [[-1, -3, -5, -6], 1, "Concat", [1]],
    [-1, 1, "Conv", [512, 1, 1]],  # 24
    [-1, 1, "MP", []],
    [-1, 1, "Conv", [256, 1, 1]],
    [-3, 1, "Conv", [256, 1, 1]],
    [-1, 1, "Conv", [256, 3, 2]],
    [[-1, -3], 1, "Concat", [1]],  # 29-P4/16
    [-1, 1, "Conv", [256, 1, 1]],
    [-2, 1, "Conv", [256, 1, 1]],
    [-1, 1, "Conv", [256, 3, 1]],
    [-1, 1, "Conv", [256, 3, 1]],
    [-1, 1, "Conv", [256, 3, 1]],
    [-1, 1, "Conv", [256, 3, 1]],
    [[-1, -3, -5, -6], 1, "Concat", [1]],
    [-1, 1, "Conv", [1024, 1, 1]],  # 37
    [-1, 1, "MP", []],
    [-1, 1, "Conv", [512, 1, 1]],
    [-3, 1, "Conv", [512, 1, 1]],
    [-1, 1, "Conv", [512, 3, 2]],
    [[-1, -3], 1, "Concat", [1]],  # 42-P5/32
    [-1, 1, "Conv", [256, 1, 1]],
    [-2, 1, "Conv", [256, 1, 1]],
    [-1, 1, "Conv", [256, 3, 1]],
    [-1, 1, "Conv", [256, 3, 1]],
    [-1, 1, "Conv", [256, 3, 1]],
    [-1, 1, "Conv", [256, 3, 1]],
    [[-1, -3, -5, -6], 1, "Concat", [1]],
    [-1, 1, "Conv", [1024, 1, 1]],  # 50
]

# transcribed from ScaledYOLOv4 models/yolov4-csp.yaml (backbone 0-10; depth_multiple = width_multiple = 1)
YOLOV4CSP_BACKBONE = [
    [-1, 1, "Conv", [32, 3, 1]],  # 0
    [-1, 1, "Conv", [64, 3, 2]],  # 1-P1/2
    [-1, 1, "Bottleneck", [64]],
    [-1, 1, "Conv", [128, 3, 2]],  # 3-P2/4
    [-1, 2, "BottleneckCSP", [128]],
    [-1, 1, "Conv", [256, 3, 2]],  # 5-P3/8
    [-1, 8, "BottleneckCSP", [256]],
    [-1, 1, "Conv", [512, 3, 2]],  # 7-P4/16
    [-1, 8, "BottleneckCSP", [512]],
    [-1, 1, "Conv", [1024, 3, 2]],  # 9-P5/32
    [-1, 4, "BottleneckCSP", [1024]],  # 10
]


# ----------------------------------------------------------------------------- measuring helpers
def n_params(m: nn.Module) -> int:
    return int(sum(p.numel() for p in m.parameters()))


def _first_tensor(y):
    if isinstance(y, torch.Tensor):
        return y
    if isinstance(y, (tuple, list)):
        # ultralytics Classify in eval returns (softmax, logits): both (B, nc)
        return _first_tensor(y[-1]) if len(y) == 2 and isinstance(y[-1], torch.Tensor) else _first_tensor(y[0])
    raise TypeError(type(y))


def out_shape(model, r):
    return list(_first_tensor(model(torch.zeros(1, 3, r, r))).shape)


def fvcore_macs(model, r, by_op=False):
    from fvcore.nn import FlopCountAnalysis

    fa = FlopCountAnalysis(model, torch.zeros(1, 3, r, r))
    fa.unsupported_ops_warnings(False)
    fa.uncalled_modules_warnings(False)
    fa.tracer_warnings("none")
    with redirect_stdout(io.StringIO()):
        total = int(fa.total())
        ops = {k: int(v) for k, v in fa.by_operator().items()} if by_op else None
    return (total, ops) if by_op else total


def flopcounter_macs(model, r):
    from torch.utils.flop_counter import FlopCounterMode

    fc = FlopCounterMode(display=False)
    with fc:
        model(torch.zeros(1, 3, r, r))
    return int(fc.get_total_flops()) // 2


def std_counts(model, resolutions=(224, 256)):
    d = {}
    for r in resolutions:
        d[f"out_shape_{r}"] = out_shape(model, r)
    for r in resolutions:
        tot, ops = fvcore_macs(model, r, by_op=True)
        d[f"macs_fvcore_{r}"] = tot
        d[f"fvcore_by_op_{r}"] = ops
    for r in resolutions:
        d[f"macs_flopcounter_{r}"] = flopcounter_macs(model, r)
    return d


def conv_records(module: nn.Module, prefix=""):
    recs = []
    for name, m in module.named_modules():
        if isinstance(m, nn.Conv2d):
            recs.append(
                dict(
                    name=(prefix + name),
                    cin=m.in_channels,
                    cout=m.out_channels,
                    k=list(m.kernel_size),
                    s=list(m.stride),
                    p=list(m.padding) if not isinstance(m.padding, str) else m.padding,
                    g=m.groups,
                    bias=m.bias is not None,
                )
            )
        elif isinstance(m, nn.Linear):
            recs.append(
                dict(name=(prefix + name), linear=True, cin=m.in_features, cout=m.out_features, bias=m.bias is not None)
            )
    return recs


def count_types(module: nn.Module):
    """Module occurrences (shared instances, e.g. ultralytics' class-level Conv.default_act, counted at each use);
    BatchNorm2d subclasses (timm BatchNormAct2d) count as BatchNorm2d."""
    c = {}
    for _, m in module.named_modules(remove_duplicate=False):
        t = "BatchNorm2d" if isinstance(m, nn.BatchNorm2d) else type(m).__name__
        if t in (
            "BatchNorm2d",
            "Conv2d",
            "Linear",
            "SiLU",
            "Mish",
            "LeakyReLU",
            "ReLU",
            "Sigmoid",
            "Hardsigmoid",
            "MaxPool2d",
            "Dropout",
            "AdaptiveAvgPool2d",
        ):
            c[t] = c.get(t, 0) + 1
    return c


def bn_info(module: nn.Module):
    s = {(m.eps, m.momentum) for m in module.modules() if isinstance(m, nn.BatchNorm2d)}
    return [list(x) for x in sorted(s)]


def shapes_by_hooks(model, named, r):
    shapes, hs = {}, []
    for name, mod in named:
        hs.append(
            mod.register_forward_hook(lambda m, i, o, name=name: shapes.__setitem__(name, list(_first_tensor(o).shape)))
        )
    model(torch.zeros(1, 3, r, r))
    for h in hs:
        h.remove()
    return shapes


# ----------------------------------------------------------------------------- timm
def timm_section():
    import timm

    res = {"_available_cspnext": timm.list_models("*cspnext*"), "_version": timm.__version__}
    for name in TIMM_MODELS:
        if name not in timm.list_models(name):
            res[name] = {"missing": True}
            continue
        m = timm.create_model(name, pretrained=False).eval()
        d = {"params": n_params(m)}
        d.update(std_counts(m))
        named = [("stem", m.stem)] + [(f"stages.{i}", s) for i, s in enumerate(m.stages)]
        sh224 = shapes_by_hooks(m, named, 224)
        sh256 = shapes_by_hooks(m, named, 256)
        d["parts"] = [dict(name=n, params=n_params(mod), shape_224=sh224[n], shape_256=sh256[n]) for n, mod in named]
        d["parts"].append(dict(name="head", params=n_params(m.head)))
        d["module_counts"] = count_types(m)
        d["bn_eps_momentum"] = bn_info(m)
        se = [
            sorted({(x.fc1.in_channels, x.fc1.out_channels) for x in st.modules() if type(x).__name__ == "SEModule"})
            for st in m.stages
        ]
        if any(se):
            d["se_in_rd_per_stage"] = [[list(t) for t in x] for x in se]
        ese = [
            sorted({x.fc.in_channels for x in st.modules() if type(x).__name__ == "EffectiveSEModule"})
            for st in m.stages
        ]
        if any(ese):
            d["ese_channels_per_stage"] = ese
        d["depths"] = [
            len(getattr(st, "blocks", [])) if hasattr(st, "blocks") else len(st[-1].blocks) for st in m.stages
        ]
        res[name] = d
        print(
            f"{name:22s} params={d['params']:>10d} fv224={d['macs_fvcore_224']:>13d} fc224={d['macs_flopcounter_224']:>13d}",
            flush=True,
        )
    # structure dumps
    st = {}
    for name, idx in (
        ("cs3darknet_s", 1),
        ("cs3edgenet_x", 1),
        ("cs3sedarknet_l", 1),
        ("cs3se_edgenet_x", 1),
        ("cspnext_s", 1),
        ("cspnext_s", 3),
        ("cs3darknet_focus_s", 0),
    ):
        m = timm.create_model(name, pretrained=False).eval()
        st[f"{name}.stages[{idx}]"] = dict(tree=str(m.stages[idx]), convs=conv_records(m.stages[idx], f"stages.{idx}."))
        st[f"{name}.stem"] = dict(tree=str(m.stem), convs=conv_records(m.stem, "stem."))
        st[f"{name}.head"] = dict(tree=str(m.head), convs=conv_records(m.head, "head."))
    return res, st


# ----------------------------------------------------------------------------- ultralytics
def thop_figures(model, r):
    """Return thop MACs at r: stride-aware get_flops (current ultralytics) and the old 32x32 x (r/32)^2 way."""
    import thop
    from ultralytics.utils.torch_utils import get_flops

    d = {f"thop_get_flops_gflops_{r}": get_flops(copy.deepcopy(model), r)}
    d[f"thop_macs_{r}"] = int(round(d[f"thop_get_flops_gflops_{r}"] * 1e9 / 2))
    m = copy.deepcopy(model)
    macs32 = thop.profile(m, inputs=[torch.zeros(1, 3, 32, 32)], verbose=False)[0]
    d["thop_macs_32"] = int(macs32)
    d[f"thop_old_macs_{r}"] = int(macs32 * (r / 32) ** 2)
    d[f"thop_old_gflops_{r}"] = 2 * macs32 * (r / 32) ** 2 / 1e9
    return d


def layer_list(model):
    rows = []
    sh = shapes_by_hooks(model, [(str(i), l) for i, l in enumerate(model.model)], 224)
    for i, l in enumerate(model.model):
        row = dict(i=i, type=type(l).__name__, f=getattr(l, "f", None), params=n_params(l), shape_224=sh[str(i)])
        first = next((x for x in l.modules() if isinstance(x, nn.Conv2d)), None)
        row["cin"] = first.in_channels if first is not None else None
        row["n"] = len(l.m) if hasattr(l, "m") and isinstance(l.m, (nn.ModuleList, nn.Sequential)) else None
        if type(l).__name__ == "C3k2":
            row["c3k"] = type(l.m[0]).__name__ == "C3k"
            row["hidden_c"] = l.c
        if type(l).__name__ == "C2f":
            row["hidden_c"] = l.c
        rows.append(row)
    return rows


def ultra_measure(model, thop_res=(224,), fused_too=True):
    d = {"params": n_params(model)}
    d["out_shape_224"] = out_shape(model, 224)
    d["macs_fvcore_224"], d["fvcore_by_op_224"] = fvcore_macs(model, 224, by_op=True)
    d["macs_flopcounter_224"] = flopcounter_macs(model, 224)
    d["macs_fvcore_256"] = fvcore_macs(model, 256)
    d["macs_flopcounter_256"] = flopcounter_macs(model, 256)
    for r in thop_res:
        d.update(thop_figures(model, r))
    d["module_counts"] = count_types(model)
    d["bn_eps_momentum"] = bn_info(model)
    d["layers"] = layer_list(model)
    if fused_too:
        fm = copy.deepcopy(model)
        with redirect_stdout(io.StringIO()):
            fm.fuse(verbose=False) if hasattr(fm, "fuse") else None
        f = {
            "params": n_params(fm),
            "macs_fvcore_224": fvcore_macs(fm, 224),
            "macs_flopcounter_224": flopcounter_macs(fm, 224),
        }
        for r in thop_res:
            f.update(thop_figures(fm, r))
        d["fused"] = f
    return d


class _Seq(nn.Module):
    """Minimal stand-in with ultralytics' BaseModel attributes used by get_flops/fuse for a cut yolov5."""

    def __init__(self, layers, stride):
        super().__init__()
        self.model = layers
        self.stride = stride

    def forward(self, x):
        for m in self.model:
            x = m(x)
        return x

    def fuse(self, verbose=False):
        from ultralytics.nn.modules import Conv
        from ultralytics.utils.torch_utils import fuse_conv_and_bn

        for m in self.modules():
            if isinstance(m, Conv) and hasattr(m, "bn"):
                m.conv = fuse_conv_and_bn(m.conv, m.bn)
                delattr(m, "bn")
                m.forward = m.forward_fuse
        return self


def yolov5_cls_from_detection(scale, nc=1000):
    from ultralytics.nn.modules import Classify
    from ultralytics.nn.tasks import DetectionModel

    with redirect_stdout(io.StringIO()):
        det = DetectionModel(cfg=f"yolov5{scale}.yaml", nc=80, verbose=False)
    layers = det.model[:10]
    m = layers[-1]  # SPPF
    ch = m.conv.in_channels if hasattr(m, "conv") else m.cv1.conv.in_channels
    c = Classify(ch, nc)
    c.i, c.f, c.type = m.i, m.f, "Classify"
    layers[-1] = c
    return _Seq(layers, det.stride).eval()


def yolov5_cls_explicit(scale, nc=1000):
    from ultralytics.nn.modules import C3, Classify, Conv

    gd, gw = YOLOV5_SCALES[scale]
    ch = lambda c: math.ceil(c * gw / 8) * 8  # noqa: E731
    rep = lambda n: max(round(n * gd), 1)  # noqa: E731
    L = [Conv(3, ch(64), 6, 2, 2)]
    prev = ch(64)
    for c, n in ((128, 3), (256, 6), (512, 9), (1024, 3)):
        L += [Conv(prev, ch(c), 3, 2), C3(ch(c), ch(c), rep(n))]
        prev = ch(c)
    L.append(Classify(prev, nc))
    for i, l in enumerate(L):
        l.i, l.f = i, -1
    return _Seq(nn.Sequential(*L), torch.tensor([32.0])).eval()


def ultralytics_section():
    import ultralytics
    from ultralytics.nn.tasks import ClassificationModel

    res = {"_version": ultralytics.__version__}
    for fam in ("yolov8", "yolo11"):
        for s in SCALES:
            ncs = (1000, 80) if fam == "yolo11" else (1000,)
            for nc in ncs:
                with redirect_stdout(io.StringIO()):
                    m = ClassificationModel(cfg=f"{fam}{s}-cls.yaml", nc=nc, verbose=False).eval()
                key = f"{fam}{s}-cls" + ("" if nc == 1000 else f"_nc{nc}")
                thop_res = (224, 640) if fam == "yolov8" and nc == 1000 else (224,)
                d = ultra_measure(m, thop_res=thop_res, fused_too=(nc == 1000))
                d["nc"] = nc
                res[key] = d
                print(
                    f"{key:22s} params={d['params']:>10d} fv224={d['macs_fvcore_224']:>13d} fc224={d['macs_flopcounter_224']:>13d} thop224={d['thop_macs_224']}",
                    flush=True,
                )
    for s in SCALES:
        a = yolov5_cls_from_detection(s)
        b = yolov5_cls_explicit(s)
        d = ultra_measure(a, thop_res=(224, 640))
        d["explicit_build_params"] = n_params(b)
        d["explicit_build_macs_flopcounter_224"] = flopcounter_macs(b, 224)
        d["explicit_equals_cut_detection"] = (
            n_params(a) == n_params(b) and d["macs_flopcounter_224"] == d["explicit_build_macs_flopcounter_224"]
        )
        res[f"yolov5{s}-cls"] = d
        print(
            f"yolov5{s}-cls{'':12s} params={d['params']:>10d} fv224={d['macs_fvcore_224']:>13d} fc224={d['macs_flopcounter_224']:>13d} thop224={d['thop_macs_224']} explicit_ok={d['explicit_equals_cut_detection']}",
            flush=True,
        )
    # structure dumps
    st = {}
    for name in ("yolov8n-cls", "yolo11n-cls", "yolo11m-cls", "yolo11l-cls"):
        with redirect_stdout(io.StringIO()):
            m = ClassificationModel(cfg=f"{name}.yaml", nc=1000, verbose=False).eval()
        st[name] = dict(
            layers=[
                dict(
                    i=i,
                    type=type(l).__name__,
                    tree=str(l) if i in (2, 6, 9, 10) else None,
                    convs=conv_records(l, f"model.{i}."),
                )
                for i, l in enumerate(m.model)
            ]
        )
    v5 = yolov5_cls_from_detection("n")
    st["yolov5n-cls"] = dict(
        layers=[
            dict(i=i, type=type(l).__name__, tree=str(l) if i in (2, 9) else None, convs=conv_records(l, f"model.{i}."))
            for i, l in enumerate(v5.model)
        ]
    )
    return res, st


# ----------------------------------------------------------------------------- YOLOv7 / yolov4-csp
class _ScaledBottleneck(nn.Module):
    """ScaledYOLOv4 Bottleneck(c1, c2, shortcut=True, e): 1x1 c1->c_, 3x3 c_->c2, + x if c1 == c2."""

    def __init__(self, c1, c2, shortcut=True, e=0.5, act=None):
        super().__init__()
        from ultralytics.nn.modules import Conv

        c_ = int(c2 * e)
        self.cv1 = Conv(c1, c_, 1, 1, act=act)
        self.cv2 = Conv(c_, c2, 3, 1, act=act)
        self.add = shortcut and c1 == c2

    def forward(self, x):
        y = self.cv2(self.cv1(x))
        return x + y if self.add else y


class _ScaledBottleneckCSP(nn.Module):
    """ScaledYOLOv4 BottleneckCSP(c1, c2, n): c_ = c2/2; cv1 Conv 1x1 -> n bottlenecks (e=1) -> cv3 bare 1x1;
    cv2 bare 1x1 from x; cat(y1, y2) -> BN -> act -> cv4 Conv 1x1 -> c2."""

    def __init__(self, c1, c2, n=1, act=None):
        super().__init__()
        from ultralytics.nn.modules import Conv

        c_ = int(c2 * 0.5)
        self.cv1 = Conv(c1, c_, 1, 1, act=act)
        self.cv2 = nn.Conv2d(c1, c_, 1, 1, bias=False)
        self.cv3 = nn.Conv2d(c_, c_, 1, 1, bias=False)
        self.cv4 = Conv(2 * c_, c2, 1, 1, act=act)
        self.bn = nn.BatchNorm2d(2 * c_)
        self.act = copy.deepcopy(act)
        self.m = nn.Sequential(*[_ScaledBottleneck(c_, c_, True, 1.0, act) for _ in range(n)])

    def forward(self, x):
        return self.cv4(self.act(self.bn(torch.cat((self.cv3(self.m(self.cv1(x))), self.cv2(x)), 1))))


class _Cat(nn.Module):
    def forward(self, xs):
        return torch.cat(xs, 1)


class YamlBackboneCls(nn.Module):
    """Backbone from a [from, n, module, args] list (repo parse_model semantics, gd = gw = 1) + pool + linear."""

    def __init__(self, spec, act: nn.Module, nc=1000):
        super().__init__()
        from ultralytics.nn.modules import Conv

        ch, layers, self.froms = [3], [], []
        c_of = lambda f: ch[f] if f < 0 else ch[f + 1]  # noqa: E731  (ch[0] is the image)
        for f, n, m, args in spec:
            if m == "Conv":
                c2 = args[0]
                layers.append(Conv(c_of(f), c2, *args[1:], act=copy.deepcopy(act)))
            elif m == "MP":
                c2 = c_of(f)
                layers.append(nn.MaxPool2d(2, 2))
            elif m == "Concat":
                c2 = sum(c_of(x) for x in f)
                layers.append(_Cat())
            elif m == "Bottleneck":
                c2 = args[0]
                blocks = [
                    _ScaledBottleneck(c_of(f) if i == 0 else c2, c2, True, 0.5, copy.deepcopy(act)) for i in range(n)
                ]
                layers.append(blocks[0] if n == 1 else nn.Sequential(*blocks))
            elif m == "BottleneckCSP":
                c2 = args[0]
                layers.append(_ScaledBottleneckCSP(c_of(f), c2, n, copy.deepcopy(act)))
            else:
                raise ValueError(m)
            self.froms.append(f)
            ch.append(c2)
        self.layers = nn.ModuleList(layers)
        self.pool = nn.AdaptiveAvgPool2d(1)
        self.fc = nn.Linear(ch[-1], nc)

    def forward(self, x):
        ys = []
        for m, f in zip(self.layers, self.froms):
            inp = (x if f == -1 else ys[f]) if isinstance(f, int) else [x if j == -1 else ys[j] for j in f]
            x = m(inp)
            ys.append(x)
        return self.fc(self.pool(x).flatten(1))


def yolo_backbones_section(scratch_path=None):
    res = {}
    scratch = None
    if scratch_path and os.path.exists(scratch_path):
        spec = importlib.util.spec_from_file_location("ref_yolo_backbones", scratch_path)
        scratch = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(scratch)
    for key, spec, act, src in (
        ("yolov7_backbone_cls", YOLOV7_BACKBONE, nn.SiLU(), "WongKinYiu/yolov7 cfg/training/yolov7.yaml layers 0-50"),
        ("yolov4csp_backbone_cls", YOLOV4CSP_BACKBONE, nn.Mish(), "ScaledYOLOv4 models/yolov4-csp.yaml layers 0-10"),
    ):
        m = YamlBackboneCls(spec, act).eval()
        d = {
            "source": src,
            "activation": type(act).__name__,
            "layer_spec": spec,
            "params": n_params(m),
            "params_backbone": n_params(m.layers),
            "params_head": n_params(m.fc),
        }
        d.update(std_counts(m))
        sh = {}
        for r in (224, 256):
            s = shapes_by_hooks(m, [(str(i), l) for i, l in enumerate(m.layers)], r)
            sh[r] = [s[str(i)] for i in range(len(m.layers))]
        d["layers"] = [
            dict(i=i, spec=spec[i], params=n_params(l), shape_224=sh[224][i], shape_256=sh[256][i])
            for i, l in enumerate(m.layers)
        ]
        d["module_counts"] = count_types(m)
        if scratch is not None:
            sm = (scratch.yolov7_backbone_cls if key.startswith("yolov7") else scratch.yolov4csp_backbone_cls)().eval()
            keep = []
            sm(torch.zeros(1, 3, 224, 224), keep=keep)
            d["scratch_repo_code_params"] = n_params(sm)
            d["scratch_repo_code_macs_flopcounter_224"] = flopcounter_macs(sm, 224)
            d["scratch_matches"] = (
                n_params(sm) == d["params"]
                and [list(x) for x in keep] == sh[224]
                and d["scratch_repo_code_macs_flopcounter_224"] == d["macs_flopcounter_224"]
            )
        res[key] = d
        print(
            f"{key:22s} params={d['params']:>10d} fv224={d['macs_fvcore_224']:>13d} fc224={d['macs_flopcounter_224']:>13d} scratch_ok={d.get('scratch_matches')}",
            flush=True,
        )
    return res


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--out", default=OUT)
    ap.add_argument("--scratch", default="/work/refscratch/ref_yolo_backbones.py")
    ap.add_argument("--skip", default="", help="comma list of sections to skip: timm,ultralytics,yolo")
    a = ap.parse_args()
    skip = set(filter(None, a.skip.split(",")))
    out = {
        "_meta": {
            "torch": torch.__version__,
            "units": "MACs (multiply-accumulates); params = numel sum",
            "notes": __doc__.split("What is measured")[1].split("timm (1.0.31)")[0].strip(),
        }
    }
    structures = {}
    if "timm" not in skip:
        out["timm"], structures["timm"] = timm_section()
    if "ultralytics" not in skip:
        out["ultralytics"], structures["ultralytics"] = ultralytics_section()
    if "yolo" not in skip:
        out["yolo_backbones"] = yolo_backbones_section(a.scratch)
    out["structures"] = structures
    os.makedirs(os.path.dirname(a.out), exist_ok=True)
    with open(a.out, "w") as fh:
        json.dump(out, fh, indent=1, sort_keys=False)
    print("wrote", a.out)


if __name__ == "__main__":
    main()
