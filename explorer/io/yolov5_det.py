"""YOLOv5's own detection YAMLs (ultralytics/yolov5: anchor-based ``Detect``) planned exactly as a graph plan.

A model YAML of the ultralytics/yolov5 repository (``models/yolov5{n,s,m,l,x}.yaml``, the P6 ``hub`` files, the
v5.0-era files with ``Focus`` and ``SPP``) is read as that repository's ``parse_model`` (``models/yolo.py``) builds
it, into a :class:`cspnet.plan.NetPlan` made of the same pieces as the Ultralytics detection YAMLs'
(``explorer.io.ultralytics_det``: one stage per YAML layer under ``model.{i}``, ``from`` resolved to the plan's
reads, parts backbone / neck / head, the same :class:`~explorer.io.ultralytics_det.Detector`).  What YOLOv5's
``parse_model`` does otherwise than Ultralytics':

* the keys: ``depth_multiple`` and ``width_multiple`` (no ``scales``, no ``max_channels``; the file name
  is not read), ``anchors`` (a list of per-scale lists of w, h pairs, or the number of anchors per scale),
  ``activation`` (``Conv.default_act``, matched as text: ``nn.SiLU()``, ``nn.LeakyReLU(0.1)`` ...) and
  ``channel_multiple`` (the rounding, default 8);
* channels ``make_divisible(c2 x width_multiple, channel_multiple)`` unless ``c2`` equals Detect's outputs
  ``na x (nc + 5)``; repeats ``max(round(n x depth_multiple), 1)`` where n > 1;
* modules: ``Conv`` (``[c2, k, s, p, g, d, act]``, d 1), ``C3``, ``SPPF``, the v5.0-era ``SPP`` (parallel
  pools, ``[c2, [5, 9, 13]]``) and ``Focus`` (space to depth: four strided slices concatenated, then a Conv),
  ``nn.Upsample``, ``Concat`` and ``Detect [nc, anchors]``: per scale one 1x1 conv with bias to
  ``na x (nc + 5)``, then the inference path (each scale's map as ``(na x H x W, nc + 5)``, the sigmoid,
  the scales concatenated: YOLOv5's ``(batch, 25200, 85)`` at 640).  C3 and SPPF are Ultralytics' own plans
  (the same modules).

Parameters equal YOLOv5's own build exactly (yolov5n..x, unfused as ``train.py`` prints them: yolov5s
7,235,389; the v5.0-era yolov5s 7,276,605; tests/test_yolo_repos_detect.py).  Its printed GFLOPs (``model_info``
in ``utils/torch_utils.py``: thop on a ``max(stride, 32)`` probe image, x 2, scaled to 640) are Ultralytics'
``get_flops`` recipe run with the original thop, which counts nearest upsampling 0: the registered ``yolov5``
convention at the probe, scaled (:func:`explorer.io.ultralytics_det.printed_gflops`; yolov5s 16.6 unfused,
16.4 fused as v7.0 prints them).

The shared pieces (:func:`plan_repo_detector`: the keys, the layer loop, the anchor-based Detect) are also
YOLOv7's (``explorer.io.yolov7_det``), whose ``parse_model`` is this one's ancestor.  **Refused**
(``ConfigError``, field ``"yaml"``) as ``ultralytics_det`` refuses, naming the layer (``layer 24 (head[14],
Detect)``) or the key: any other module by name, a file over 64 KiB, more than 64 layers.  A safe loader
only (``explorer.io.ultralytics.yaml_loader``): nothing is evaluated (an activation is matched as text).  Pure Python.
"""
from __future__ import annotations

import math
import os
import re
from dataclasses import dataclass, field
from typing import Callable

from cspnet.config import INPUT_SIZE_RANGE, MAX_PARAMS
from cspnet.errors import ConfigError
from cspnet.families._crossstage import plan_plain_layer
from cspnet.families._detect import plan_sppf
from cspnet.plan import INPUT, NetPlan, PlanBuilder, Tensor

from ._text import read_bounded
from .ultralytics import (
    MAX_CHANNELS,
    MAX_CLASSES,
    MAX_YAML_CHARS,
    _arg,
    _bool_arg,
    _channels_arg,
    _e_arg,
    _err,
    _is_int,
    _is_num,
    _max_args,
    _short,
)
from .ultralytics_det import (
    CSP_MODULES,
    UPSAMPLE_NAMES,
    Detector,
    _layer,
    _plan_c3,
    _plan_concat,
    _plan_upsample,
    _resolve,
    _rows,
    load_doc,
    plan_plain,
)

MAX_V5_LAYERS = 64         # yolov5x6 has 34
MAX_ANCHORS = 16           # anchors per scale
MAX_SCALES_OUT = 8         # output scales of a Detect
V5_MODULES = ("Conv", "C3", "SPPF", "SPP", "Focus", "nn.Upsample", "Concat", "Detect")
V5_KEYS = ("nc", "depth_multiple", "width_multiple", "anchors", "activation", "channel_multiple", "ch", "backbone",
           "head")
# an activation written as text (YOLOv5's ``activation`` key, YOLOv7's Conv act argument): the plan's kind
ACTIVATIONS = {"nn.SiLU()": "silu", "nn.ReLU()": "relu", "nn.LeakyReLU()": "leaky_relu",
               "nn.LeakyReLU(0.1)": "leaky_relu_0.1", "nn.LeakyReLU(0.01)": "leaky_relu", "nn.Mish()": "mish",
               "nn.Hardswish()": "hardswish", "nn.ReLU6()": "relu6", "nn.Identity()": None}


# --------------------------------------------------------------------------- the model's keys
class RepoModel:
    """The top-level keys of a YOLOv5 / YOLOv7 YAML, checked, and their ``parse_model``'s rules."""

    def __init__(self, doc: dict, keys: tuple = V5_KEYS, repo: str = "YOLOv5"):
        for k in doc:
            if not isinstance(k, str):
                raise _err(f"key {_short(k)}: keys must be text")
        unknown = [k for k in doc if k not in keys]
        if unknown:
            raise _err(f"key {_short(unknown[0])} is not read by {repo}'s parse_model here; allowed keys: "
                       f"{', '.join(keys)}")
        nc = doc.get("nc")
        if not _is_int(nc) or not 1 <= nc <= MAX_CLASSES:
            raise _err(f"key 'nc': {_short(nc)}; expected the number of classes, an integer 1 to {MAX_CLASSES:,}")
        self.nc = nc
        for key in ("depth_multiple", "width_multiple"):
            v = doc.get(key)
            if not _is_num(v) or not 0 < v <= 4:
                raise _err(f"key '{key}': {_short(v)}; expected a number in (0, 4] ({repo}'s YAMLs give both "
                           "multiples; there are no scales)")
        self.depth, self.width = float(doc["depth_multiple"]), float(doc["width_multiple"])
        self.divisor = doc.get("channel_multiple", 8)
        if not _is_int(self.divisor) or not 1 <= self.divisor <= 64:
            raise _err(f"key 'channel_multiple': {_short(self.divisor)}; expected an integer 1 to 64")
        if "ch" in doc and doc["ch"] != 3:
            raise _err(f"key 'ch': {_short(doc['ch'])}; the planner reads 3 input channels")
        self.anchors = anchors_of(doc.get("anchors"), "key 'anchors'")
        self.na = self.anchors if _is_int(self.anchors) else len(self.anchors[0]) // 2
        self.no = self.na * (nc + 5)   # parse_model's "no": a c2 equal to it is left unscaled
        act = doc.get("activation")
        self.activation = "silu"
        if act is not None:
            key = re.sub(r"\s+", "", act) if isinstance(act, str) else None
            if key not in ACTIVATIONS or ACTIVATIONS[key] is None:
                raise _err(f"key 'activation': {_short(act)}; allowed: "
                           f"{', '.join(k for k, v in ACTIVATIONS.items() if v)} (matched as text, never evaluated)")
            self.activation = ACTIVATIONS[key]
        self.used: dict = {}   # activation kind -> how many Convs use it (conv_args)

    def channels(self, c: int) -> int:
        """``make_divisible(c x width_multiple, channel_multiple)`` unless c is Detect's ``na x (nc + 5)``."""
        if c == self.no:
            return c
        return int(math.ceil(c * self.width / self.divisor) * self.divisor)

    def repeats(self, n: int) -> int:
        return max(round(n * self.depth), 1) if n > 1 else n


def anchors_of(v, where: str):
    """``anchors`` checked: per-scale lists of (w, h) pairs, all of one length, or the number of anchors."""
    if _is_int(v) and 1 <= v <= MAX_ANCHORS:
        return v
    ok = (isinstance(v, list) and 1 <= len(v) <= MAX_SCALES_OUT
          and all(isinstance(r, list) and r and len(r) % 2 == 0 and len(r) <= 2 * MAX_ANCHORS
                  and all(_is_num(x) for x in r) for r in v)
          and len({len(r) for r in v}) == 1)
    if not ok:
        raise _err(f"{where}: {_short(v)}; expected per output scale a list of anchor widths and heights "
                   f"(w1, h1, w2, h2 ...), every scale with the same number of anchors (1 to {MAX_ANCHORS}; at most "
                   f"{MAX_SCALES_OUT} scales), or the number of anchors per scale")
    return v


# --------------------------------------------------------------------------- the modules' plans
def conv_act(b: PlanBuilder, path: str, s, c2: int, k: int = 1, st: int = 1, p: int | None = None, g: int = 1,
             act: str | None = "", network_act: str = "silu"):
    """YOLOv5's / YOLOv7's ``Conv``: conv (no bias) -> BN -> activation under ``path.conv/.bn/.act``;
    ``act`` None: no activation (``act=False``: nn.Identity), "" or the network's: the network's."""
    t = b.conv(f"{path}.conv", s, c2, k, st, padding=p, groups=g)
    t = b.bn(f"{path}.bn", t)
    if act is None:
        return t
    return b.act(f"{path}.act", t, None if act in ("", network_act) else act)


def act_arg(lay, k: int) -> str | None:
    """A Conv's ``act`` argument: True (the default activation: ""), False (none: None), or one written as
    text (``nn.LeakyReLU(0.1)``), matched, never evaluated."""
    v = lay.args[k] if k < len(lay.args) else True
    if v is True:
        return ""
    if v is False:
        return None
    key = re.sub(r"\s+", "", v) if isinstance(v, str) else None
    if key not in ACTIVATIONS:
        raise lay.fail(f"the activation (args[{k}]) is {_short(v)}; expected true, false or one of "
                       f"{', '.join(ACTIVATIONS)} (matched as text, never evaluated)")
    return ACTIVATIONS[key]


@dataclass
class ConvArgs:
    c2: int
    k: int
    s: int
    p: int | None
    g: int
    act: str | None


def conv_args(lay, model: RepoModel, c1: int, names: tuple = ("c2", "k", "s", "p", "g", "d", "act")) -> ConvArgs:
    """A Conv-like layer's args ``names`` (YOLOv5 v7.0: ``[c2, k, s, p, g, d, act]``; YOLOv7 and YOLOv5 before
    v7.0: no ``d``), its ``c2`` scaled as parse_model does."""
    _max_args(lay, names)
    c2 = model.channels(_channels_arg(lay))
    k = _arg(lay, 1, 1, "the kernel", lambda v: _is_int(v) and 1 <= v <= 15, "an integer 1 to 15")
    s = _arg(lay, 2, 1, "the stride", lambda v: _is_int(v) and 1 <= v <= 8, "an integer 1 to 8")
    p = _arg(lay, 3, None, "the padding", lambda v: v is None or (_is_int(v) and 0 <= v <= 15),
             "null or an integer 0 to 15")
    g = _arg(lay, 4, 1, "groups", lambda v: _is_int(v) and 1 <= v <= MAX_CHANNELS, "a positive integer")
    if c1 % g or c2 % g:
        raise lay.fail(f"groups {g} do not divide its {c1} input and {c2} output channels")
    if "d" in names:
        _arg(lay, 5, 1, "the dilation", lambda v: v == 1 and not isinstance(v, bool), "1 (no dilation)")
    act = act_arg(lay, names.index("act"))
    if act is not None:   # which activation the Convs use most: the network's (yolov7-tiny's LeakyReLU)
        kind = act or model.activation
        model.used[kind] = model.used.get(kind, 0) + 1
    return ConvArgs(c2, k, s, k // 2 if p is None else p, g, act)


def _plan_focus(b, p, x, a: ConvArgs, lay, act):
    """Focus: the four pixel phases ``x[..., ::2, ::2]``, ``x[..., 1::2, ::2]`` ... concatenated (4 c1 channels at
    half H and W), then a Conv."""
    c, h, w = x
    if h % 2 or w % 2:
        raise lay.fail(f"its input is {h}x{w}: Focus takes every second pixel and needs an even H and W")
    phases = [x.view((c, h // 2, w // 2)) for _ in range(4)]
    t = b.cat(f"{p}.cat", phases, attrs={"phases": 2})
    return conv_act(b, f"{p}.conv", t, a.c2, a.k, a.s, a.p, a.g, a.act, act)


def _plan_spp(b, p, x, c2, ks, act):
    """SPP (v5.0): cv1 to c1 // 2, parallel k x k max pools (stride 1) of it, concat with it, cv2 to c2."""
    c_ = x[0] // 2
    t = conv_act(b, f"{p}.cv1", x, c_, network_act=act)
    ys = [t] + [b.maxpool(f"{p}.m.{j}", t, k, 1, k // 2) for j, k in enumerate(ks)]
    return conv_act(b, f"{p}.cv2", b.cat(f"{p}.cat", ys), c2, network_act=act)


def plan_anchor_detect(b, p, xs, nc: int, anchors, implicit: bool = False):
    """YOLOv5's ``Detect`` (YOLOv7's ``IDetect`` where ``implicit``): per scale ``m.{j}``, a 1x1 conv with bias
    to ``na x (nc + 5)`` (IDetect: ``ia.{j}``, a learned per-channel vector added before it, and ``im.{j}``, one
    multiplied after it: YOLOR's ImplicitA / ImplicitM); then the inference path: each map seen as
    ``(na x H x W, nc + 5)``, the sigmoid, the scales concatenated (box decoding's few elementwise ops on 4 of
    the nc + 5 channels are left out, as every counter leaves them)."""
    na = anchors if _is_int(anchors) else len(anchors[0]) // 2
    no = nc + 5
    outs = []
    for j, x in enumerate(xs):
        b.component = f"p{j}"
        t = b.add(f"{p}.ia.{j}", x, params=x[0]) if implicit else x
        t = b.conv(f"{p}.m.{j}", t, na * no, 1, bias=True)
        if implicit:
            t = b.mul(f"{p}.im.{j}", t, params=na * no)
        rows = na * t[1] * t[2]
        outs.append(b.act(f"{p}.sigmoid.{j}", t.view((rows, no, 1)), "sigmoid"))
    b.component = "decode"
    total = sum(o[0] for o in outs)
    out = b.layer("cat", f"{p}.cat", outs[0], (total, no, 1), also=tuple(outs[1:]))
    b.component = None
    return out


def _detect_args(lay, model: RepoModel, ins: list):
    """``[nc, anchors]`` of a Detect: nc the file's, anchors one row per input scale (or their number)."""
    _max_args(lay, ("nc", "anchors"))
    if not lay.args or lay.args[0] != model.nc:
        raise lay.fail(f"args[0] is {_short(lay.args[0] if lay.args else None)}; expected nc ({model.nc})")
    anchors = anchors_of(lay.args[1] if len(lay.args) > 1 else None, f"{lay.label}: args[1] (anchors)")
    if not _is_int(anchors) and len(anchors) != len(ins):
        raise lay.fail(f"{len(anchors)} rows of anchors for {len(ins)} input scales; give one row per scale")
    if len(ins) > MAX_SCALES_OUT:
        raise lay.fail(f"{len(ins)} input scales; at most {MAX_SCALES_OUT}")
    return anchors


def _yolov5_module(b, p, lay, ins, src, model: RepoModel, ctx) -> Tensor:
    """One layer of YOLOv5's parse_model (``V5_MODULES``) planned on ``b``; ``None``: not one of them."""
    m, x = lay.module, ins[0]
    act = model.activation
    if m == "Conv":
        a = conv_args(lay, model, x[0], ctx.conv_names)
        return conv_act(b, p, x, a.c2, a.k, a.s, a.p, a.g, a.act, act)
    if m == "Focus":
        a = conv_args(lay, model, 4 * x[0], ctx.conv_names)
        return _plan_focus(b, p, x, a, lay, act)
    if m == "C3":   # (c1, c2, n, shortcut, g, e)
        _max_args(lay, ("c2", "shortcut", "g", "e"))
        c2 = model.channels(_channels_arg(lay))
        _arg(lay, 2, 1, "groups", lambda v: v == 1 and not isinstance(v, bool), "1")
        n, shortcut = model.repeats(lay.n), _bool_arg(lay, 1, True, "shortcut")
        if ctx.plain:
            return plan_plain(b, p, x, c2, n, "C3", shortcut, b.stage.part == "neck")
        b.stage.fusion = CSP_MODULES["C3"][0]
        return _plan_c3(b, p, x, c2, n, shortcut, _e_arg(lay, 3))
    if m == "SPPF":
        _max_args(lay, ("c2", "k"))
        c2 = model.channels(_channels_arg(lay))
        k = _arg(lay, 1, 5, "the pool size", lambda v: _is_int(v) and v in (1, 3, 5, 7, 9), "an odd integer 1 to 9")
        return plan_sppf(b, p, x, c2, k)
    if m == "SPP":
        _max_args(lay, ("c2", "k"))
        c2 = model.channels(_channels_arg(lay))
        ks = _arg(lay, 1, [5, 9, 13], "the pool sizes", lambda v: isinstance(v, list) and 1 <= len(v) <= 6 and all(
            _is_int(k) and k % 2 == 1 and 1 <= k <= 15 for k in v), "a list of 1 to 6 odd integers 1 to 15")
        return _plan_spp(b, p, x, c2, ks, act)
    if m in UPSAMPLE_NAMES:
        return _plan_upsample(b, p, lay, x)
    if m == "Concat":
        return _plan_concat(b, p, lay, ins, src, ctx.input_size)
    if m == "Detect":
        return plan_anchor_detect(b, p, ins, model.nc, _detect_args(lay, model, ins))
    return None


# --------------------------------------------------------------------------- the plan
@dataclass
class Dialect:
    """What a repository's parse_model reads: its modules, keys, Conv args, layer bound, and how it is named."""

    repo: str                       # "YOLOv5"
    modules: tuple
    keys: tuple
    max_layers: int
    largest: str                    # the largest file's layer count, for the bound's message
    module: Callable                # (b, p, lay, ins, src, model, ctx) -> Tensor | None
    conv_names: tuple = ("c2", "k", "s", "p", "g", "d", "act")
    source: str = ""
    family: str = ""
    printed_by: str = ""
    multi_read: tuple = ("Concat", "Detect", "IDetect")   # modules that read several layers
    repeated: tuple = ("C3",)       # modules whose repeats parse_model hands on (all others: written once)
    groups: Callable | None = None  # (layers, sources) -> [(first, last, name)]: YAML layers planned as one stage
    plain_group: Callable | None = None  # (layers, sources, first, last, name) -> (width, repeats, block) of the
                                         # plain stage a group's twin is, or None (the group is no CSP block)


@dataclass
class _Ctx:
    input_size: int
    conv_names: tuple
    plain: bool = False    # the plain twin: CSP modules planned as plain stages
    extra: dict = field(default_factory=dict)


def plan_repo_detector(text, dialect: Dialect, name: str | None = None, input_size: int = 640,
                       planner=None, plain: bool = False) -> Detector:
    """A YOLOv5- or YOLOv7-repository detection YAML planned at ``input_size`` as ``dialect``'s parse_model
    builds it: one stage per YAML layer (``model.{i}``), or per group ``dialect.groups`` finds
    (``model.{first}-{last}``: YOLOv7's ELAN blocks); parts backbone (the ``backbone:`` layers), neck, head
    (the Detect).  ``plain``: the plain twin (CSP modules and groups planned as plain stages).  Raises
    ``ConfigError`` (field ``"yaml"`` or ``"input_size"``) naming the layer or key."""
    if not _is_int(input_size) or not INPUT_SIZE_RANGE[0] <= input_size <= INPUT_SIZE_RANGE[1]:
        raise ConfigError("input_size", f"{_short(input_size)}; allowed integers {INPUT_SIZE_RANGE[0]} to "
                          f"{INPUT_SIZE_RANGE[1]}")
    doc = load_doc(text)
    model = RepoModel(doc, dialect.keys, dialect.repo)
    rows = _rows(doc, dialect.max_layers, dialect.largest)
    names = {"anchors": doc.get("anchors")}
    layers = [_layer(i, section, j, row, model.nc, dialect.modules, names) for i, (section, j, row) in enumerate(rows)]
    heads = [lay.i for _, lay, _ in layers if lay.module in ("Detect", "IDetect")]
    if not heads:
        raise _err(f"no Detect layer: not a {dialect.repo} detection model")
    if heads[0] != len(layers) - 1:
        raise layers[heads[0] + 1][1].fail(f"a layer after {layers[heads[0]][1].module}; the detection head must be "
                                           "the last layer")
    sources = []
    for f, lay, label in layers:
        src = _resolve(lay.i, f, label)
        if lay.module not in dialect.multi_read and len(src) != 1:
            raise lay.fail(f"from {_short(f)}: {lay.module} reads one layer")
        if lay.module not in dialect.repeated and lay.n != 1:
            raise lay.fail(f"repeats {lay.n}; a {lay.module} is written once (repeats 1)")
        sources.append(src)
    n_backbone = len(doc["backbone"])
    spans = dialect.groups(layers, sources, n_backbone) if dialect.groups else []
    group_of = {i: g for g in spans for i in range(g[0], g[1] + 1)}
    ctx = _Ctx(input_size, dialect.conv_names, plain)
    s = Tensor((3, input_size, input_size), INPUT)
    outs, stages, modules, stage_layers = [], [], [], []
    strides: tuple = ()
    b = None
    twinned = -1   # the plain twin: the last layer of the group planned as one plain stage
    for (f, lay, label), src in zip(layers, sources):
        i, m = lay.i, lay.module
        if i <= twinned:
            outs.append(outs[-1])   # (a twinned group's inner layers: nothing outside the group reads them)
            continue
        ins = [s if j == -1 else outs[j] for j in src]
        first, last, group = group_of.get(i, (i, i, m))
        if i == first:
            is_head = m in ("Detect", "IDetect")
            part = "head" if is_head else "backbone" if last < n_backbone else "neck"
            b = PlanBuilder(f"model.{i}" if first == last else f"model.{first}-{last}", "head" if is_head else "stage",
                            prefix="", part=part)
            b.tap("input", ins[0])
            b.stage.repeats = model.repeats(lay.n) if first == last else 1
            stage_layers.append([first, last])
            modules.append(group)
            b.stage.module = group
        b.component = None if first == last else f"model.{i}"   # a group's layers: their YAML layer
        plain_as = (dialect.plain_group(layers, sources, first, last, group, model)
                    if plain and i == first < last and dialect.plain_group else None)
        if plain_as:   # the group's plain twin, in one go: its layers' outputs are the stage's
            width, n, block = plain_as
            y = plan_plain_layer(b, f"model.{first}-{last}", ins[0], width, n, block, "all", False, 1.0,
                                 b.stage.part == "neck")
            b.stage.repeats, twinned = n, last
        else:
            y = dialect.module(b, f"model.{i}", lay, ins, src, model, ctx)
        if y is None:   # (the dialect's module list and its planner disagree: a bug, said plainly)
            raise lay.fail(f"{m} has no plan in the {dialect.repo} planner")
        if m in ("Detect", "IDetect"):
            for j, t in enumerate(ins):
                b.tap(f"p{j}", t)
            strides = tuple(input_size // t[1] if t[1] else 0 for t in ins)
        if min(y) < 1:
            raise lay.fail(f"its output is {y[0]}x{y[1]}x{y[2]} at input {input_size}: empty (raise the input size)")
        outs.append(y)
        if last in (i, twinned):   # the stage's last layer, or its twin planned whole just now
            b.tap("output", y)
            stages.append(b.stage)
    plan = NetPlan(input_shape=(3, input_size, input_size), stages=stages)
    if plan.params > MAX_PARAMS:
        raise _err(f"{plan.params / 1e6:.1f}M parameters; the bound is {MAX_PARAMS / 1e6:.0f}M")
    return Detector(name=name if name is not None else f"{dialect.repo} detection YAML", plan=plan, scale=None,
                    nc=model.nc, strides=strides, modules=modules, input_size=input_size, text=text,
                    layers=len(layers), stage_layers=stage_layers, planner=planner, source=dialect.source,
                    family=dialect.family, printed_by=dialect.printed_by,
                    activation=max(model.used, key=model.used.get) if model.used else model.activation,
                    printed_convention="yolov5", run_activation=model.activation)


YOLOV5 = Dialect(
    repo="YOLOv5", modules=V5_MODULES, keys=V5_KEYS, max_layers=MAX_V5_LAYERS, largest="yolov5x6 has 34",
    module=_yolov5_module, source="yolov5 detection yaml", family="yolov5 detector",
    printed_by="YOLOv5 model_info (utils/torch_utils.py: thop x 2 at a max(stride, 32) probe, scaled)")


def plan_detector(text, scale: str | None = None, name: str | None = None, input_size: int = 640,
                  plain: bool = False) -> Detector:
    """A YOLOv5 detection YAML's text (or bytes) planned at ``input_size`` (see the module docstring).  ``scale``
    must be None: YOLOv5's files give their multiples, and its parse_model reads no scale.  ``plain``: its
    plain twin (each C3 a plain stage: ``explorer.io.ultralytics_det.plan_plain``)."""
    if scale is not None:
        raise _err(f"scale {_short(scale)}: YOLOv5's YAMLs set depth_multiple and width_multiple; there is no "
                   "scale to choose")
    return plan_repo_detector(text, YOLOV5, name, input_size, planner=plan_detector, plain=plain)


def detector_from_yaml(data, filename: str, scale: str | None = None, input_size: int | None = None) -> Detector:
    """:func:`plan_detector` of the text of file ``filename``, named as the file."""
    return plan_detector(data, scale, os.path.basename(filename)[:50], 640 if input_size is None else input_size)


def load_detector(path, input_size: int | None = None) -> Detector:
    """:func:`detector_from_yaml` of the file at ``path`` (size checked before reading)."""
    return detector_from_yaml(read_bounded(os.fspath(path), MAX_YAML_CHARS, _err), os.fspath(path),
                              input_size=input_size)


__all__ = ["ACTIVATIONS", "Dialect", "RepoModel", "V5_MODULES", "YOLOV5", "anchors_of", "conv_act", "conv_args",
           "detector_from_yaml", "load_detector", "plan_anchor_detect", "plan_detector", "plan_repo_detector"]
