"""Ultralytics detection YAMLs (v8, v8-p2/p6, 11, v5u, v10, 12) planned exactly: a whole detector as a graph plan.

An Ultralytics detection model YAML (``yolov8.yaml``, ``yolov8-p2.yaml``, ``yolo11.yaml``, the anchor-free
``yolov5.yaml`` of the ``yolov5{n..x}u`` models, ``yolov10{n..x}.yaml``, ``yolo12.yaml``) is read into a
:class:`cspnet.plan.NetPlan` built with :class:`cspnet.plan.PlanBuilder`, layer by layer as Ultralytics'
``parse_model`` builds the modules:

* the scale from the file name as Ultralytics guesses it (``yolov8n.yaml``: n), else the ``scale`` argument,
  else the YAML's ``scale`` key, else its first scale; ``scales`` / ``depth_multiple`` / ``width_multiple`` /
  ``max_channels`` with parse_model's rules (shared with the classification importer,
  ``explorer.io.ultralytics._Model``: ``make_divisible(min(c, max_channels) x width, 8)`` unless c == nc,
  ``max(round(n x depth), 1)`` where n > 1, C3k2's ``c3k`` forced at scales m/l/x);
* YAML layer ``i`` is one :class:`cspnet.plan.StagePlan` named ``model.{i}`` whose ops sit under the path
  ``model.{i}...`` (Ultralytics' module names: ``model.2.cv1.conv``, ``model.2.m.0.cv1.conv``); its ``from``
  (``-1``, an index, a list, negative indices) is resolved to the tensors those layers wrote, so the plan's
  ``Op.reads`` are the YAML's dataflow (a Concat reads the upsampled neck and backbone layer 6);
* parts: the ``backbone:`` layers are part "backbone", the ``head:`` layers before Detect "neck", Detect "head";
* modules: ``Conv``, ``C2f``, ``C3k2`` (c3k true/false), ``C3``, ``C2`` , ``C2PSA``, ``SPPF``, ``nn.Upsample``
  (nearest), ``Concat`` and ``Detect`` (per-scale ``cv2`` box and ``cv3`` class branches, the class branch with
  depthwise convs where the model has C3k2, as parse_model sets ``Detect.legacy``; then the inference path:
  the scales' outputs concatenated, DFL's softmax and frozen 16 -> 1 conv on the box channels, the class
  sigmoid).  The bottlenecks inside C2f, C3k2, C2 (C2f's), C3 and C2PSA are the cross-stage block plans of
  ``cspnet/families/_blocks.py`` (bottleneck_3x3, dark, c3k, psa), which equal Ultralytics' modules;
* YOLOv10's ``SCDown`` (:func:`_plan_scdown`), ``C2fCIB`` (C2f with ``_blocks.plan_cib``: CIB, RepVGGDW where
  ``lk``), the standalone ``PSA`` (``_blocks.plan_psa`` once) and ``v10Detect`` (``_detect.plan_detect`` with
  ``one2one``: both heads planned and counted, as Ultralytics builds them; the output is the one-to-one branch's,
  the one-to-many maps are outputs of their own, ``Op.attrs["output"]``, no dead layers); YOLO12's ``A2C2f``
  (:func:`_a2c2f`: area-attention ``ABlock`` s, ``_blocks.plan_area_block``, or C3k where ``a2`` is false; at
  scales l/x the ``(True, 1.2)`` parse_model appends: a learned residual gamma, MLP ratio 1.2).  parse_model's
  ``legacy`` (Detect's plain class branch) is off after any C3k2, A2C2f or C2fCIB.

Parameters equal Ultralytics' own model build exactly, and the registered ``ultralytics`` convention (2 x thop,
nearest upsampling 1 per output element as thop counts it) its printed GFLOPs (tests: yolov8n..x, yolo11n..x,
yolov8n-p2, yolov5su/mu against ``detection_exact.csv``; yolov8n 8.8575488 and yolov8n-p2 17.4345728 to the
last digit; yolov8n..x-p6, yolov10n..x and yolo12n..x against Ultralytics 8.4.190's build and get_flops).  A
layer whose output nothing reads is planned (Ultralytics runs it) and named in :attr:`Detector.warnings` ("dead
layer outputs").  :func:`printed_gflops` runs it as ``get_flops`` does: at the probe stride ``max(stride, 32)``,
scaled to the image size.

**Refused** (``ConfigError``, field ``"yaml"``), naming the layer (``layer 22 (head[12], Detect)``) or key:
any other module (by name), a ``from`` that is not an earlier layer, arguments a module does not take,
an Upsample other than nearest by an integer factor, a Concat of tensors of different sizes, a layer after
Detect, and, before anything is planned, files over 64 KiB, more than 64 layers, channels outside 1 to 8192,
repeats outside 1 to 64 and a plan over 400M parameters.  Read by a safe loader only
(``explorer.io.ultralytics.yaml_loader``): nothing is evaluated.
A detection YAML opens as a design of the ``yolo_yaml`` family (``explorer.io.yolo_family``), whose plan this is
and whose model is generated from it.  Pure Python.
"""
from __future__ import annotations

import os
import re
from collections import OrderedDict
from dataclasses import dataclass, field

from cspnet.config import INPUT_SIZE_RANGE, MAX_PARAMS, MAX_REPEATS
from cspnet.errors import ConfigError
from cspnet.families._blocks import (
    plan_area_block,
    plan_bottleneck_3x3,
    plan_c3k,
    plan_cib,
    plan_dark_block,
    plan_psa,
    psa_dims,
)
from cspnet.families._crossstage import plan_plain_layer
from cspnet.families._detect import plan_detect, plan_sppf
from cspnet.plan import INPUT, NetPlan, PlanBuilder, Tensor

from ._text import read_bounded
from .ultralytics import (
    MAX_MODULE_CHARS,
    MAX_YAML_CHARS,
    _arg,
    _bool_arg,
    _channels_arg,
    _Conv,
    _e_arg,
    _err,
    _groups_arg,
    _is_int,
    _is_num,
    _Layer,
    _load,
    _max_args,
    _Model,
    _short,
    scale_from_filename,
)

MAX_DET_LAYERS = 64        # yolov8-p6 has 30; the bound keeps a file from planning an arbitrarily long graph
MAX_DET_ARGS = 8
DET_MODULES = ("Conv", "C2f", "C3k2", "C3", "C2", "C2PSA", "SPPF", "nn.Upsample", "Concat", "SCDown", "C2fCIB",
               "PSA", "A2C2f", "Detect", "v10Detect")
DETECT_HEADS = ("Detect", "v10Detect")   # the anchor-free heads planned here (v10Detect: two branches)
REPEATED = ("C2f", "C3k2", "C3", "C2", "C2PSA", "C2fCIB", "A2C2f")   # parse_model's repeat_modules among them
NOT_LEGACY = ("C3k2", "A2C2f", "C2fCIB")   # parse_model sets Detect.legacy False after any of them
UPSAMPLE_NAMES = ("nn.Upsample", "Upsample", "torch.nn.Upsample")
NOT_BUILT = ("a planned Detector is no design; the file opens as a yolo_yaml design (explorer.io.yolo_family: "
             "explorer.design.files.design_from_file), which every command and page builds and analyses")


# the detection heads of the YOLO repositories (a file with one is a detector, whichever repository planned it)
HEAD_MODULES = ("Detect", "v10Detect", "IDetect", "IAuxDetect", "IBin", "IKeypoint")
# modules only YOLOv7's (WongKinYiu/yolov7) models/common.py has: a file with one is YOLOv7's dialect
YOLOV7_MODULES = ("IDetect", "IAuxDetect", "IBin", "IKeypoint", "MP", "SP", "SPPCSPC", "RepConv", "DownC", "ReOrg",
                  "Shortcut", "GhostSPPCSPC", "RepConv_OREPA", "Chuncat", "Foldcut")


def detection_dialect(doc) -> str | None:
    """Which repository's ``parse_model`` a loaded YAML mapping is written for, where it is a detector (a
    detection head among its layers): ``"yolov7"`` (a module only YOLOv7 has: IDetect, MP, SP, SPPCSPC,
    RepConv ...; ``explorer.io.yolov7_det``), ``"yolov5"`` (a top-level ``anchors`` key: YOLOv5's anchor-based
    Detect, ``explorer.io.yolov5_det``), ``"ultralytics"`` (the anchor-free Detect of this module); None: no
    detector.  Read from the mapping only: nothing is planned."""
    if not isinstance(doc, dict):
        return None
    rows = [r for k in ("backbone", "head") if isinstance(doc.get(k), list) for r in doc[k]]
    names = {r[2] for r in rows if isinstance(r, list) and len(r) == 4 and isinstance(r[2], str)}
    if not names & set(HEAD_MODULES):
        return None
    if names & set(YOLOV7_MODULES):
        return "yolov7"
    return "yolov5" if "anchors" in doc else "ultralytics"


def is_detection_doc(doc) -> bool:
    """Whether a loaded YAML mapping is a detection model (a detection head: :func:`detection_dialect`)."""
    return detection_dialect(doc) is not None


def is_detection_yaml(text) -> bool:
    """Whether YAML text (or bytes) is a detection model; False for anything unreadable."""
    return yaml_dialect(text) is not None


def yaml_dialect(text) -> str | None:
    """:func:`detection_dialect` of YAML text (or bytes); None for anything unreadable."""
    try:
        return detection_dialect(load_doc(text))
    except ConfigError:
        return None


_DOCS: OrderedDict = OrderedDict()   # text -> its parsed mapping: the last few texts read
MAX_DOCS = 8


def load_doc(text) -> dict:
    """``explorer.io.ultralytics._load`` of ``text`` (checked, a safe loader: libyaml's where available),
    remembered for the last :data:`MAX_DOCS` texts: the dialect sniff, the planner and a re-plan at another size
    (``Detector.at``) parse a file once (parsing is much of a detector's planning time).  The planners only read the
    mapping; a text that fails raises ``ConfigError`` each time."""
    key = bytes(text) if isinstance(text, bytearray) else text
    doc = _DOCS.get(key) if isinstance(key, (str, bytes)) else None
    if doc is None:
        doc = _load(text)
        if isinstance(key, (str, bytes)):
            _DOCS[key] = doc
            while len(_DOCS) > MAX_DOCS:
                _DOCS.popitem(last=False)
    return doc


@dataclass
class Detector:
    """A planned detection YAML: its plan, scale, classes, the Detect strides and what each layer is."""

    name: str
    plan: NetPlan
    scale: str | None
    nc: int
    strides: tuple                 # Detect's stride per output scale (input / that scale's H)
    modules: list = field(default_factory=list)   # per stage (plan.stages): its YAML module, or its group's name
    input_size: int = 640
    text: object = field(default="", repr=False)   # the YAML read, to plan it at another size
    layers: int = 0                # YAML layers (0: one stage per layer, len(modules))
    stage_layers: list = field(default_factory=list)   # per stage: [first, last] YAML layer ([] : [i, i])
    planner: object = field(default=None, repr=False)   # (text, scale, name, input_size) -> Detector (None: here)
    source: str = "ultralytics detection yaml"
    family: str = "ultralytics detector"
    printed_by: str = "Ultralytics model.info() (get_flops)"
    activation: str = "silu"       # the network's activation (what a training step saves: explorer.counts.training)
    printed_convention: str = "ultralytics"   # the registered convention of the GFLOPs its own tool prints
    run_activation: str = "silu"   # what its plan's activations without their own kind run (the file's default)

    def at(self, size: int) -> "Detector":
        """The same detector planned at input ``size``."""
        if size == self.input_size:
            return self
        return (self.planner or plan_detector)(self.text, self.scale, self.name, size)

    @property
    def probe_stride(self) -> int:
        """The probe image Ultralytics' get_flops runs thop on: ``max(int(stride.max()), 32)``."""
        return max(max(self.strides), 32)

    @property
    def dead_layers(self) -> list:
        """``[(YAML layer, module, stage name)]`` of every layer whose output no later layer reads, Detect
        included: a dead layer output (``from`` indices that skip a layer, e.g. a Conv right before Detect,
        which reads its scales by index).  Ultralytics builds and runs such a layer all the same (its
        parameters are in its count), so the plan keeps it and :attr:`warnings` says so.  Found from the
        plan's graph: an op, the last excepted, that no op reads (``cspnet.plan.graph_problems`` reports the
        same ops; here they are named by YAML layer)."""
        ops = list(self.plan.ops)
        read = {src for op in ops for src, _, _ in op.reads}
        index = {st.name: k for k, st in enumerate(self.plan.stages)}
        dead = {}
        for op in ops[:-1]:
            if op.path in read or "output" in op.attrs:   # (an output of its own: v10Detect's one2many maps)
                continue
            k = index.get(op.group[1] if len(op.group) > 1 else None)
            layer = re.match(r"model\.(\d+)\.", op.path)
            i = int(layer.group(1)) if layer else k
            if i is not None and i not in dead:
                module = self.modules[k] if k is not None and k < len(self.modules) else "?"
                dead[i] = (i, module, self.plan.stages[k].name if k is not None else op.path)
        return [dead[i] for i in sorted(dead)]

    @property
    def warnings(self) -> list:
        """What the counts include that the file may not mean: one line per dead layer output
        (:attr:`dead_layers`), empty for the published YAMLs."""
        out = []
        for i, module, stage in self.dead_layers:
            where = f"layer {i} ({module})" if stage == f"model.{i}" else f"layer {i} (in {module} {stage})"
            out.append(f"dead layer outputs: {where} is read by no later layer (nor by Detect); parse_model "
                       "builds and runs it all the same, so its parameters and operations are counted")
        return out

    @property
    def outputs(self) -> list:
        """The shape of every output scale Detect reads (P3/P4/P5 ...)."""
        head = self.plan.stages[-1]
        return [list(head.taps[f"p{j}"]) for j in range(len(self.strides))]


def _resolve(i: int, f, layer_label: str) -> list:
    items = f if isinstance(f, list) else [f]
    if not items or len(items) > 8:
        raise _err(f"{layer_label}: from {_short(f)}; expected -1, an earlier layer's index or a list of 1 to 8")
    out = []
    for x in items:
        if not _is_int(x):
            raise _err(f"{layer_label}: from {_short(f)}; expected integers (-1: the previous layer)")
        j = i + x if x < 0 else x
        if not 0 <= j < i and not (i == 0 and x == -1):
            raise _err(f"{layer_label}: from {x} is no earlier layer (layer {i} reads layers 0 to {i - 1}, or "
                       "negative indices counted back from it)")
        out.append(j if i else -1)
    return out


def _rows(doc: dict, max_layers: int = MAX_DET_LAYERS, largest: str = "yolov8-p6 has 30") -> list:
    """``(section, index in it, row)`` of the backbone's and the head's layers, at most ``max_layers``."""
    rows = []
    for section in ("backbone", "head"):
        part = doc.get(section)
        if not isinstance(part, list):
            raise _err(f"key '{section}': {_short(part)}; expected a list of [from, repeats, module, args]")
        rows += [(section, j, row) for j, row in enumerate(part)]
    if len(rows) > max_layers:
        raise _err(f"{len(rows)} layers (backbone and head); a detection YAML of this kind has at most {max_layers} "
                   f"here: the bound keeps a file from making the planner build an arbitrarily long graph ({largest})")
    return rows


MAX_LIST_NUMBERS = 64      # a literal list argument: SPP's pool sizes, anchors written in place (4 x 6 numbers)


def _numbers(a: list, label: str, k: int) -> list:
    """A literal list argument checked: numbers, or lists of numbers (one level), at most 64 in all."""
    flat = [y for x in a for y in (x if isinstance(x, list) else [x])]
    if not a or len(flat) > MAX_LIST_NUMBERS or not all(_is_int(y) or isinstance(y, float) for y in flat):
        raise _err(f"{label}: args[{k}] is {_short(a)}; expected a list of numbers (or of lists of numbers), "
                   f"at most {MAX_LIST_NUMBERS} in all")
    return a


def _layer(i: int, section: str, j: int, row, nc: int, modules: tuple = DET_MODULES, names: dict | None = None
           ) -> tuple:
    """``(from, _Layer, label)`` of row ``row`` (layer ``i``, ``section[j]``), its module one of ``modules`` (or an
    upsample), its string args resolved as parse_model does (``nc``, True/False/None, and the names in ``names``:
    YOLOv5's ``anchors``); ``names`` given: literal lists of numbers are read too (SPP's ``[5, 9, 13]``)."""
    where = f"{section}[{j}]"
    if not isinstance(row, list) or len(row) != 4:
        raise _err(f"layer {i} ({where}): {_short(row)}; expected [from, repeats, module, args]")
    f, n, m, args = row
    if not isinstance(m, str) or not 1 <= len(m) <= MAX_MODULE_CHARS:
        raise _err(f"layer {i} ({where}): module {_short(m)}; expected a module name: {', '.join(modules)}")
    label = f"layer {i} ({where}, {m})"
    if m not in modules and m not in UPSAMPLE_NAMES:
        raise _err(f"{label}: {m} is not a module the detection planner has; supported: {', '.join(modules)}")
    if not _is_int(n) or not 1 <= n <= MAX_REPEATS:
        raise _err(f"{label}: repeats {_short(n)}; expected an integer 1 to {MAX_REPEATS}")
    if not isinstance(args, list) or len(args) > MAX_DET_ARGS:
        raise _err(f"{label}: args {_short(args)}; expected a list of at most {MAX_DET_ARGS} values")
    vals = []
    for k, a in enumerate(args):
        if isinstance(a, str):   # parse_model: a name of its locals (nc) or a literal; other text stays text
            key = a.strip()
            a = names[key] if names and key in names else {"nc": nc, "True": True, "False": False,
                                                             "None": None}.get(key, a[:40])
        elif isinstance(a, list) and names is not None:
            a = _numbers(a, label, k)
        elif not (a is None or isinstance(a, (bool, int, float))):
            raise _err(f"{label}: args[{k}] is {_short(a)}; expected a number, true/false, null, nc or a name")
        vals.append(a)
    return f, _Layer(i, where, m, n, vals), label


# --------------------------------------------------------------------------- the modules' plans
def _conv(b: PlanBuilder, path: str, s, c2: int, k: int = 1, st: int = 1, p: int | None = None, g: int = 1,
          act: bool = True):
    """Ultralytics ``Conv``: conv (no bias) -> BN -> SiLU, under ``path.conv``, ``path.bn``, ``path.act``."""
    return b.conv_bn_act(path, s, c2, k, st, groups=g, act=act, padding=p)


def _plan_c2f(b, p, s, c2, n, shortcut, e, block):
    """C2f / C3k2 / C2fCIB: cv1 to 2c, chunk, n blocks on the last part, each kept; concat (2 + n) c; cv2 to c2.
    C2fCIB's block (``cib``, ``cib_lk``) is YOLOv10's CIB(c, c, shortcut, e=1.0): its hidden width 2c."""
    c = int(c2 * e)
    y = _conv(b, f"{p}.cv1", s, 2 * c)
    parts = [y.part(0, c), y.part(c, c)]
    for j in range(n):
        if block in ("cib", "cib_lk"):
            t = plan_cib(b, f"{p}.m.{j}", parts[-1], c, 2 * c, shortcut, block == "cib_lk")
        elif block == "c3k":
            t = plan_c3k(b, f"{p}.m.{j}", parts[-1], c, int(c * 0.5), 1, 1, shortcut)
        else:
            mid = c if block == "c2f" else int(c * 0.5)
            t = plan_bottleneck_3x3(b, f"{p}.m.{j}", parts[-1], c, mid, 1, 1, shortcut)
        parts.append(t)
    t = b.cat(f"{p}.cat", parts)
    return _conv(b, f"{p}.cv2", t, c2)


def _plan_c3(b, p, s, c2, n, shortcut, e):
    """C3: cv1 and cv2 to c_, n dark bottlenecks (1x1 -> 3x3) on cv1's, concat, cv3 to c2."""
    c = int(c2 * e)
    t = _conv(b, f"{p}.cv1", s, c)
    cross = _conv(b, f"{p}.cv2", s, c)
    for j in range(n):
        t = plan_dark_block(b, f"{p}.m.{j}", t, c, c, 1, 1, shortcut)
    t = b.cat(f"{p}.cat", [t, cross])
    return _conv(b, f"{p}.cv3", t, c2)


def _plan_c2(b, p, s, c2, n, shortcut, e):
    """C2: cv1 to 2c, chunk, n bottlenecks on the first part, concat with the second, cv2 to c2.  C2's
    bottleneck is C2f's, not C3's: two 3x3 convs, the middle width c (``Bottleneck(c, c, shortcut, g,
    k=((3, 3), (3, 3)), e=1.0)``; yolov8-p6.yaml's neck: 4,984,352 parameters at scale n)."""
    c = int(c2 * e)
    y = _conv(b, f"{p}.cv1", s, 2 * c)
    t, other = y.part(0, c), y.part(c, c)
    for j in range(n):
        t = plan_bottleneck_3x3(b, f"{p}.m.{j}", t, c, c, 1, 1, shortcut)
    t = b.cat(f"{p}.cat", [t, other])
    return _conv(b, f"{p}.cv2", t, c2)


def _plan_c2psa(b, p, s, c2, n, e):
    """C2PSA: cv1 to 2c, split, n PSA blocks (c // 64 heads) on the second part, concat, cv2 to c1.
    n None: YOLOv10's standalone ``PSA`` (one block, max(c // 64, 1) heads, its layers ``attn``, ``ffn``
    right under the module)."""
    c = int(s[0] * e)
    y = _conv(b, f"{p}.cv1", s, 2 * c)
    a, t = y.part(0, c), y.part(c, c)
    if n is None:
        t = plan_psa(b, p, t, c, max(c // 64, 1), 1, 1, True)
    for j in range(n or 0):
        t = plan_psa(b, f"{p}.m.{j}", t, c, c // 64, 1, 1, True)
    t = b.cat(f"{p}.cat", [a, t])
    return _conv(b, f"{p}.cv2", t, c2)


def _plan_scdown(b, p, s, c2, k, st):
    """YOLOv10's SCDown: a 1x1 Conv to c2, then a depthwise k x k Conv of stride ``st`` (BN, no act)."""
    t = _conv(b, f"{p}.cv1", s, c2)
    return _conv(b, f"{p}.cv2", t, c2, k, st, g=c2, act=False)


def _plan_a2c2f(b, p, s, c2, n, a2, area, residual, mlp_ratio, e, shortcut):
    """YOLO12's A2C2f: cv1 to c_ = c2 x e; n blocks in a chain, each kept: two area-attention ABlocks
    (c_ // 32 heads, ``area`` areas) where ``a2``, else a C3k (two 3x3-3x3 bottlenecks at c_ / 2); concat
    (1 + n) c_; cv2 to c2; where ``a2`` and ``residual``: input + gamma x that (gamma: c2 learned scales)."""
    c = int(c2 * e)
    parts = [_conv(b, f"{p}.cv1", s, c)]
    for j in range(n):
        t = parts[-1]
        if a2:
            for k in range(2):
                t = plan_area_block(b, f"{p}.m.{j}.{k}", t, c // 32, area, mlp_ratio)
        else:
            t = plan_c3k(b, f"{p}.m.{j}", t, c, int(c * 0.5), 1, 1, shortcut)
        parts.append(t)
    y = _conv(b, f"{p}.cv2", b.cat(f"{p}.cat", parts), c2)
    if a2 and residual:
        y = b.mul(f"{p}.gamma", y, params=c2)
        y = b.add(f"{p}.add", s, y)
    return y


def _plan_upsample(b, p, lay, x):
    """nn.Upsample ``[None, factor, 'nearest']``: the YOLO necks' nearest upsampling by an integer factor."""
    size, factor, mode = (lay.args + [None, None, "nearest"][len(lay.args):] if len(lay.args) <= 3
                          else [0, 0, 0])[:3]
    if size is not None or not _is_int(factor) or not 1 <= factor <= 8 or mode != "nearest":
        raise lay.fail(f"args {_short(lay.args)}; expected [None, factor, 'nearest'] with an integer factor "
                       "1 to 8 (nearest upsampling, as the YOLO necks)")
    b.component = "upsample"
    return b.layer("upsample", p, x, (x[0], x[1] * factor, x[2] * factor))


def _plan_concat(b, p, lay, ins, src, input_size):
    """Concat ``[1]`` of the layers ``src`` (their tensors ``ins``): one H x W, at least two of them."""
    if lay.args not in ([1], []):
        raise lay.fail(f"args {_short(lay.args)}; expected [1] (concatenation along the channels)")
    if len({tuple(t[1:]) for t in ins}) != 1:
        sizes = ", ".join(f"layer {j}: {t[1]}x{t[2]}" for j, t in zip(src, ins))
        raise lay.fail(f"it joins tensors of different sizes ({sizes}) at input {input_size}; a Concat "
                       "needs one H x W (give an input size that is a multiple of the largest stride)")
    if len(ins) == 1:
        raise lay.fail("from names one layer; a Concat joins at least two")
    b.component = "concat"
    return b.cat(p, ins)


# a CSP module: (its fusion, and its plain twin's block type, taps and blocks' inner-width ratio).  Each splits its
# input by 1x1 convs (or a chunk of one), runs its blocks on one part and concatenates the parts (and, C2f / C3k2,
# every block output) before a 1x1 transition: a fusion-first stage, as the yolov5 / yolov8 / yolo11 design
# families plan it.  Its plain twin runs the same blocks (their inner width the same share of theirs: C3's and
# C2f's bottlenecks e=1.0, C3k2's 0.5) on the whole input.
CSP_MODULES = {"C3": ("fusion_first", "dark", "last", 1.0), "C2": ("fusion_first", "bottleneck_3x3", "last", 1.0),
               "C2f": ("fusion_first", "bottleneck_3x3", "all", 1.0),
               "C3k2": ("fusion_first", "bottleneck_3x3", "all", 0.5),
               "C3k2/c3k": ("fusion_first", "c3k", "all", 0.5),   # C3k2 with c3k: its blocks are C3k
               "C2PSA": ("fusion_first", "psa", "last", 1.0),
               "C2fCIB": ("fusion_first", "cib", "all", 2.0),   # YOLOv10: CIB(c, c, e=1.0) has hidden width 2c
               "C2fCIB/lk": ("fusion_first", "cib_lk", "all", 2.0)}
# (YOLO12's A2C2f is no CSP module: cv1 to c_, every block of the chain on it, concatenated; nothing bypasses)


C2F_BLOCKS = {"C2f": "c2f", "C3k2": "c3k2", "C3k2/c3k": "c3k"}   # _plan_c2f's block of each C2f-like module


def plan_plain(b, p, x, c2, n, module, shortcut, neck):
    """``module``'s plain twin (:data:`CSP_MODULES`): a neck's layer opens with a 1x1 conv to ``c2``."""
    _, block, taps, ratio = CSP_MODULES[module]
    return plan_plain_layer(b, p, x, c2, n, block, taps, shortcut, ratio, neck)


def _a2c2f(b, p, lay, x, model, n, input_size):
    """A2C2f's args read as parse_model passes them, ``(c2, a2=True, area=1, residual=False, mlp_ratio=2.0,
    e=0.5, g=1, shortcut=True)``, with ``(True, 1.2)`` appended at scales l and x (residual gamma, MLP ratio
    1.2, where the YAML writes the first three); then planned (:func:`_plan_a2c2f`)."""
    names = ("c2", "a2", "area", "residual", "mlp_ratio", "e", "g", "shortcut")
    extra = [True, 1.2] if model.scale in ("l", "x") else []
    if len(lay.args) + len(extra) > len(names):
        raise lay.fail(f"{len(lay.args)} args{' (+ True, 1.2 at scale ' + model.scale + ')' if extra else ''}; "
                       f"A2C2f takes at most {len(names)}: [{', '.join(names)}]")
    lay = _Layer(lay.i, lay.where, lay.module, lay.n, list(lay.args) + extra)   # as parse_model extends them
    c2 = model.channels(_channels_arg(lay))
    a2 = _bool_arg(lay, 1, True, "a2 (area attention)")
    area = _arg(lay, 2, 1, "area", lambda v: _is_int(v) and (not a2 or 1 <= v <= 64),
                "an integer 1 to 64 (any integer where a2 is false: unused)")
    residual = _bool_arg(lay, 3, False, "residual")
    mlp_ratio = _arg(lay, 4, 2.0, "mlp_ratio", lambda v: _is_num(v) and 0 < v <= 8, "a number in (0, 8]")
    e = _e_arg(lay, 5)
    _groups_arg(lay, 6)
    shortcut = _bool_arg(lay, 7, True, "shortcut")
    c = int(c2 * e)
    if c % 32 or c < 32:
        raise lay.fail(f"hidden channels c2 x e = {c}; A2C2f needs a positive multiple of 32 (Ultralytics asserts "
                       "it: its ABlocks have c // 32 heads of 32)")
    if a2 and x[1] * x[2] % area:
        raise lay.fail(f"its input is {x[1]}x{x[2]} at input {input_size}: {x[1] * x[2]} positions do not "
                       f"split into {area} equal areas (give an input size that is a multiple of the largest "
                       "stride times the area)")
    if a2 and residual and c2 != x[0]:
        raise lay.fail(f"its input has {x[0]} channels and its output {c2}; the residual (input + gamma x "
                       "output) needs them equal")
    return _plan_a2c2f(b, p, x, c2, n, a2, area, residual, mlp_ratio, e, shortcut)


# --------------------------------------------------------------------------- the plan
def plan_detector(text, scale: str | None = None, name: str | None = None, input_size: int = 640,
                  guessed: bool = False, plain: bool = False) -> Detector:
    """A detection YAML's text (or bytes) planned at ``input_size``: see the module docstring.  ``scale``: a key
    of ``scales`` (``guessed``: it came from a file name, and a YAML without it uses its own rule).  ``plain``:
    its plain twin, every CSP module (:data:`CSP_MODULES`) planned as a plain stage
    (:func:`cspnet.families._crossstage.plan_plain_layer`).  Raises ``ConfigError`` (field ``"yaml"``, or
    ``"input_size"``) naming the layer or key at fault."""
    if not _is_int(input_size) or not INPUT_SIZE_RANGE[0] <= input_size <= INPUT_SIZE_RANGE[1]:
        raise ConfigError("input_size", f"{_short(input_size)}; allowed integers {INPUT_SIZE_RANGE[0]} to "
                          f"{INPUT_SIZE_RANGE[1]}")
    if scale is not None and not isinstance(scale, str):
        raise _err(f"scale {_short(scale)}: expected a scale letter")
    doc = load_doc(text)
    if guessed and (not isinstance(doc.get("scales"), dict) or scale not in doc["scales"]):
        scale = None
    model = _Model(doc, scale)
    nc = model.nc
    rows = _rows(doc)
    layers = [_layer(i, section, j, row, nc) for i, (section, j, row) in enumerate(rows)]
    legacy = not any(lay.module in NOT_LEGACY for _, lay, _ in layers)
    det_at = [lay.i for _, lay, _ in layers if lay.module in DETECT_HEADS]
    if not det_at:
        raise _err("no Detect layer: not a detection model (a classification YAML opens as a design)")
    if det_at[0] != len(layers) - 1:
        raise layers[det_at[0] + 1][1].fail("a layer after Detect; Detect must be the last layer")
    n_backbone = len(doc["backbone"])
    s = Tensor((3, input_size, input_size), INPUT)
    outs, stages, modules = [], [], []
    strides: tuple = ()
    for f, lay, label in layers:
        i, m = lay.i, lay.module
        src = _resolve(i, f, label)
        ins = [s if j == -1 else outs[j] for j in src]
        is_head = m in DETECT_HEADS
        part = "head" if is_head else "backbone" if i < n_backbone else "neck"
        b = PlanBuilder(f"model.{i}", "head" if is_head else "stage", prefix="", part=part)
        p = f"model.{i}"
        x = ins[0]
        b.tap("input", x)
        if m != "Concat" and not is_head and len(ins) != 1:
            raise lay.fail(f"from {_short(f)}: {m} reads one layer")
        n = model.repeats(lay.n)
        if not is_head and m not in REPEATED and lay.n != 1:
            raise lay.fail(f"repeats {lay.n}; a {m} is written once (repeats 1)")
        b.stage.repeats = n
        if m == "Conv":
            conv = _Conv(lay)
            y = _conv(b, p, x, model.channels(conv.c), conv.k, conv.s, conv.p)
        elif m in ("C2f", "C3k2", "C3", "C2"):
            c2 = model.channels(_channels_arg(lay))
            key = m
            if m == "C3k2":   # C3k2(c1, c2, n, c3k=False, e=0.5)
                _max_args(lay, ("c2", "c3k", "e"))
                c3k = _bool_arg(lay, 1, False, "c3k") or (model.scale is not None and model.scale in "mlx")
                shortcut, e, key = True, _e_arg(lay, 2), "C3k2/c3k" if c3k else m
            else:             # (c1, c2, n, shortcut, g, e)
                _max_args(lay, ("c2", "shortcut", "g", "e"))
                shortcut = _bool_arg(lay, 1, m != "C2f", "shortcut")
                _groups_arg(lay, 2)
                e = _e_arg(lay, 3)
            if plain:
                y = plan_plain(b, p, x, c2, n, key, shortcut, part == "neck")
            else:
                b.stage.fusion = CSP_MODULES[key][0]
                y = (_plan_c3(b, p, x, c2, n, shortcut, e) if m == "C3" else _plan_c2(b, p, x, c2, n, shortcut, e)
                     if m == "C2" else _plan_c2f(b, p, x, c2, n, shortcut, e, C2F_BLOCKS[key]))
        elif m == "C2PSA":
            _max_args(lay, ("c2", "e"))
            c2 = model.channels(_channels_arg(lay))
            if c2 != x[0]:
                raise lay.fail(f"its input has {x[0]} channels and its output {c2}; C2PSA needs them equal "
                               "(Ultralytics asserts c1 == c2)")
            e = _e_arg(lay, 1)
            if int(x[0] * e) // 64 < 1:
                raise lay.fail(f"{int(x[0] * e)} hidden channels give no attention head (c // 64); Ultralytics "
                               "needs at least 64")
            if plain:
                y = plan_plain(b, p, x, c2, n, m, True, part == "neck")
            else:
                b.stage.fusion = CSP_MODULES[m][0]
                y = _plan_c2psa(b, p, x, c2, n, e)
        elif m == "C2fCIB":   # C2fCIB(c1, c2, n, shortcut=False, lk=False, g=1, e=0.5)
            _max_args(lay, ("c2", "shortcut", "lk", "g", "e"))
            c2 = model.channels(_channels_arg(lay))
            shortcut = _bool_arg(lay, 1, False, "shortcut")
            lk = _bool_arg(lay, 2, False, "lk (the large-kernel RepVGGDW)")
            _groups_arg(lay, 3)
            key = "C2fCIB/lk" if lk else m
            if plain:
                y = plan_plain(b, p, x, c2, n, key, shortcut, part == "neck")
            else:
                b.stage.fusion = CSP_MODULES[key][0]
                y = _plan_c2f(b, p, x, c2, n, shortcut, _e_arg(lay, 4), CSP_MODULES[key][1])
        elif m == "SCDown":   # SCDown(c1, c2, k, s)
            _max_args(lay, ("c2", "k", "s"))
            if len(lay.args) != 3:
                raise lay.fail(f"{len(lay.args)} args; expected 3: [c2, k, s] (SCDown has no defaults)")
            c2 = model.channels(_channels_arg(lay))
            k = _arg(lay, 1, None, "the kernel", lambda v: _is_int(v) and 1 <= v <= 15, "an integer 1 to 15")
            st = _arg(lay, 2, None, "the stride", lambda v: _is_int(v) and 1 <= v <= 8, "an integer 1 to 8")
            y = _plan_scdown(b, p, x, c2, k, st)
        elif m == "PSA":   # PSA(c1, c2, e=0.5)
            _max_args(lay, ("c2", "e"))
            c2 = model.channels(_channels_arg(lay))
            if c2 != x[0]:
                raise lay.fail(f"its input has {x[0]} channels and its output {c2}; PSA needs them equal "
                               "(Ultralytics asserts c1 == c2)")
            c = int(x[0] * _e_arg(lay, 1))
            heads = max(c // 64, 1)
            head_dim, key_dim, _ = psa_dims(c, heads)
            if key_dim < 1 or head_dim * heads != c:
                raise lay.fail(f"{c} hidden channels in {heads} heads; the attention's reshape needs the channels a "
                               "multiple of the heads, at least 2 per head")
            y = _plan_c2psa(b, p, x, c2, None, _e_arg(lay, 1))
        elif m == "A2C2f":
            y = _a2c2f(b, p, lay, x, model, n, input_size)
        elif m == "SPPF":
            _max_args(lay, ("c2", "k"))
            c2 = model.channels(_channels_arg(lay))
            k = lay.args[1] if len(lay.args) > 1 else 5
            if not _is_int(k) or k not in (1, 3, 5, 7, 9):
                raise lay.fail(f"the pool size (args[1]) is {_short(k)}; expected an odd integer 1 to 9")
            y = plan_sppf(b, p, x, c2, k)
        elif m in UPSAMPLE_NAMES:
            y = _plan_upsample(b, p, lay, x)
        elif m == "Concat":
            y = _plan_concat(b, p, lay, ins, src, input_size)
        else:   # Detect, v10Detect
            if len(lay.args) > 1:
                raise lay.fail(f"args {_short(lay.args)}; expected [nc] (anchor-free Detect with DFL; YOLOv5's "
                               "anchor-based Detect [nc, anchors] needs the file's top-level anchors key)")
            if lay.args and lay.args[0] != nc:
                raise lay.fail(f"args[0] is {_short(lay.args[0])}; expected nc ({nc})")
            for j, t in enumerate(ins):
                b.tap(f"p{j}", t)
            strides = tuple(input_size // t[1] if t[1] else 0 for t in ins)
            y = plan_detect(b, p, ins, nc, legacy and m == "Detect", one2one=m == "v10Detect")
        if min(y) < 1:
            raise lay.fail(f"its output is {y[0]}x{y[1]}x{y[2]} at input {input_size}: empty (raise the input size)")
        b.tap("output", y)
        b.stage.module = m
        stages.append(b.stage)
        outs.append(y)
        modules.append(m)
    plan = NetPlan(input_shape=(3, input_size, input_size), stages=stages)
    if plan.params > MAX_PARAMS:
        raise _err(f"{plan.params / 1e6:.1f}M parameters; the bound is {MAX_PARAMS / 1e6:.0f}M")
    name = name if name is not None else "detection YAML" + (f" scale {model.scale}" if model.scale else "")
    return Detector(name=name, plan=plan, scale=model.scale, nc=nc, strides=strides, modules=modules,
                    input_size=input_size, text=text, run_activation=model.activation)


def detector_from_yaml(data, filename: str, scale: str | None = None, input_size: int | None = None) -> Detector:
    """A detection YAML's text (or bytes) of file ``filename`` planned: the scale from ``scale``, else the file
    name (as Ultralytics guesses it), else the YAML's own; named ``"<file name> (scale s)"``."""
    guess = scale_from_filename(filename) if scale is None else None
    det = plan_detector(data, scale or guess, input_size=640 if input_size is None else input_size,
                        guessed=scale is None)
    det.name = os.path.basename(filename)[:50] + (f" (scale {det.scale})" if det.scale else "")
    return det


def load_detector(path, scale: str | None = None, input_size: int | None = None) -> Detector:
    """:func:`detector_from_yaml` of the file at ``path`` (size checked before reading)."""
    return detector_from_yaml(read_bounded(os.fspath(path), MAX_YAML_CHARS, _err), os.fspath(path), scale,
                              input_size)


def printed_gflops(det: Detector, imgsz: int | None = None) -> float:
    """The GFLOPs Ultralytics prints for the model (``model.info()``: ``get_flops``): the ``ultralytics``
    convention (2 x thop) on the model at the probe stride ``max(stride, 32)``, scaled to ``imgsz`` (default
    the plan's input size), / 1e9.  YOLOv5's and YOLOv7's ``model_info`` run the same recipe in their own
    convention (``det.printed_convention``: ``yolov5``).  Exact as the float it returns (``8.8575488`` for
    yolov8n at 640); equal to the convention's value at ``imgsz`` / 1e9 wherever every layer's H x W scales
    with the input (a size that is a multiple of the largest stride).  A model that does not run at the probe
    (an area attention whose areas do not divide the probe's positions) is counted at ``imgsz`` itself, as
    get_flops falls back to profiling the full image when the probe fails."""
    from explorer.counts.conventions import REGISTRY

    probe = det.probe_stride
    size = det.input_size if imgsz is None else imgsz
    convention = REGISTRY[det.printed_convention]
    try:
        at_probe = det.at(probe)
    except ConfigError:
        return convention.on_totals(det.at(size).plan.by_kind) / 1e9
    return convention.on_totals(at_probe.plan.by_kind) / 1e9 * size / probe * size / probe


def summarize_detector(det: Detector, batch: int = 1) -> dict:
    """A JSON-safe summary in the shape of a design's (``explorer.counts.analysis.plan_summary``: totals in every
    convention, memory, one row per stage = YAML layer, ``parts`` backbone / neck / head adding up to the
    totals), plus the detector's own: classes, scale, strides, the output scales' shapes, Ultralytics' printed
    GFLOPs; ``config`` is null (``config_error`` says why: the design is the file's yolo_yaml one, which the CLI
    fills in)."""
    from explorer.counts.analysis import plan_summary
    from explorer.counts.conventions import REGISTRY

    totals, stages = plan_summary(det.plan, batch, REGISTRY, activation=det.activation)
    spans = det.stage_layers or [[i, i] for i in range(len(stages))]
    for row, m, span in zip(stages, det.modules, spans):
        row["module"] = m
        row["yaml_layers"] = list(span)
    return {
        "name": det.name,
        "source": det.source,
        "family": det.family,
        "config": None,
        "config_error": NOT_BUILT,
        "input_size": det.input_size,
        "input_shape": list(det.plan.input_shape),
        "output_shape": [batch, *det.plan.output_shape[:2]],
        "scale": det.scale,
        "num_classes": det.nc,
        "strides": list(det.strides),
        "outputs": det.outputs,
        **({"ultralytics_printed_gflops": printed_gflops(det)} if det.printed_convention == "ultralytics" else {}),
        "printed_gflops": printed_gflops(det),
        "printed_convention": det.printed_convention,
        "printed_by": det.printed_by,
        "layers_count": det.layers or len(det.modules),
        "warnings": det.warnings,
        **totals,
        "stages": stages,
    }


__all__ = ["DET_MODULES", "Detector", "HEAD_MODULES", "NOT_BUILT", "detection_dialect", "detector_from_yaml",
           "is_detection_doc", "is_detection_yaml", "load_detector", "plan_detector", "printed_gflops",
           "summarize_detector", "yaml_dialect"]
