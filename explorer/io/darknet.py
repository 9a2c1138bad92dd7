"""Darknet ``.cfg`` import: a network file in, the explorer's analytic network out.

Pure Python (no torch): :func:`parse_cfg` reads the text, checks every option it uses, computes each
layer's output shape, parameters, multiply-accumulates and Darknet's own BFLOPs, and groups the layers
into stem, stages and head as a ``cspnet.plan.NetPlan``, so the counting conventions
(``explorer.counts.conventions``) and the stage tables read an imported network as they read a design.
``explorer.io.darknet_torch`` builds the real PyTorch model from the same parse.

**What is read** (the rules are AlexeyAB darknet's ``src/parser.c`` and layer files):

* ``[net]``/``[network]``: ``width``, ``height``, ``channels`` (the input); its training options are
  accepted and ignored.
* ``[convolutional]``/``[conv]``: ``filters`` (1 by default), ``size`` (1), ``stride`` (1), ``pad``
  (``pad=1`` means padding ``size // 2``), ``padding`` (0), ``groups`` (1; must divide the input and
  output channels), ``batch_normalize`` (0), ``activation`` (Darknet's default is ``logistic``).
  Output ``(h + 2 x padding - size) // stride + 1``.
* ``[maxpool]``/``[max]``: ``stride`` (1), ``size`` (= stride), ``padding`` (``size - 1``: Darknet pads
  ``padding // 2`` before and the rest after). Output ``(h + padding - size) // stride + 1``.
* ``[avgpool]``/``[avg]``: global average pooling to ``C x 1 x 1``.
* ``[local_avgpool]``/``[local_avg]`` (AlexeyAB): options and output as ``[maxpool]``; the mean over the
  window's pixels inside the map.  ``[batchnorm]``: BatchNorm alone (2 parameters per channel).
  ``[activation]``: ``activation`` (``linear``) alone.  (DenseNet's pre-activation units and 2x2
  transition pools, as ``explorer.io.darknet_export`` writes them.)
* ``[route]``: ``layers`` (relative if negative, absolute otherwise; only earlier layers), ``groups`` and
  ``group_id`` (each input contributes its ``group_id``-th of ``groups`` channel slices); inputs of one
  route have the same H x W.
* ``[shortcut]``: ``from`` (one earlier layer), ``activation`` (``linear``). Darknet adds the ``from``
  output onto the previous layer's output over their common channels; a ``from`` with k times the
  previous H and W is subsampled with stride k (as ``resnet50.cfg`` uses it).
* ``[upsample]``: ``stride`` (2; nearest), ``scale`` (1).  ``[connected]``/``[conn]``: ``output``,
  ``activation`` (``logistic``), ``batch_normalize``.  ``[softmax]``/``[soft]``: ``groups=1``,
  ``temperature``.  ``[dropout]``: ``probability`` (identity at inference).
* ``[yolo]`` and ``[cost]``: heads; their output is their input, their options (anchors, loss
  settings) are kept as text and not interpreted.

**What is recognised** (stem, stages and head; ``_groups`` and ``_csp_roles``): stages are cut where
one tensor is live, before each down-sampling; a CSP stage is a split (a ``[route]`` back to an
earlier layer, or part 1's and part 2's 1x1 convs), the block path, an optional 1x1 partial
transition, the concat of part 1 and the block path, and optional 1x1 transitions (a dense
transition's 2x2 pool too).  A **sliced split** (``explorer.io.darknet_export``'s, no convs) takes
channels ``[0, c1)`` of one layer x as part 1 and ``[c1, C)`` as part 2, each a ``[route] layers=x
groups=G group_id=k`` slice or several such slices (contiguous, in order) and a concat ``[route]`` of
them (equal halves: one ``groups=2`` route each); part 1's layers come first.  A **channel
attention** after the concat (a global ``[avgpool]`` of the concat, one or two 1x1 convs on its
C x 1 x 1 output, ``[scale_channels]`` from the concat: CSPNeXt's, and the shape of
squeeze-and-excitation) belongs to the stage (role ``post``), before its transition; the pool of
every ``[scale_channels]`` trio is a mean over H, W (``squeeze``), as timm and mmdet take it.

**A detector** (a cfg ending in ``[yolo]`` layers, YOLOv3/v4's FPN and PAN) is parts (:func:`_detector_groups`):
a backbone cut as above, a neck of one stage per resolution and per CSP pattern (its routes back to backbone
stages not keeping tensors live), and a head of the per-scale conv, 1x1 prediction conv and ``[yolo]`` layers,
planned last; each stage's ``part`` says which (``StageInfo.part``, ``StagePlan.part``).

Anything else (another section, an option a section does not have, a value outside its range, a
``layers=`` index out of range or pointing forward) raises :class:`CfgError` naming the line, the
section, the layer index and what was expected.  Hostile files are refused before anything large is
allocated: at most :data:`MAX_CFG_CHARS` characters and :data:`MAX_LAYERS` layers (counted while
reading), and the design bounds of ``cspnet.config`` (400M parameters, 4 GiB of fp32 activations for
one image) checked layer by layer.  An option given twice in one section is no error: as in Darknet
(``option_find`` reads the first), its first value is used and a warning names both lines
(:attr:`DarknetNet.warnings`; EfficientNet cfgs have such keys).  A UTF-8 byte order mark is dropped.

**Parameters** are counted as PyTorch counts learnable parameters: conv weights, plus the conv bias
when ``batch_normalize=0``, or BatchNorm's scale and shift (2 per channel) when ``batch_normalize=1``
(Darknet also stores running mean and variance, which are buffers, not parameters); a connected
layer likewise.

**Darknet BFLOPs** are computed with Darknet's own per-layer formulas (AlexeyAB ``src/*_layer.c``):
conv ``2 x nweights x out_h x out_w`` with ``nweights = (c / groups) x filters x size^2``; maxpool
``size^2 x c x out_h x out_w``; shortcut ``out_w x out_h x out_c x n`` (``n`` = number of ``from``
layers; added to AlexeyAB darknet in 2020, :func:`darknet_bflops` can leave it out to match older
printouts); every other layer 0 (connected, global avgpool, route, upsample, softmax).  Each layer's
value is stored as a C ``float`` and summed in a ``float``, as ``parse_network_cfg`` does before
printing ``Total BFLOPS %5.3f``; :func:`darknet_bflops` does the same.
"""
from __future__ import annotations

import os
import re
import struct
from dataclasses import dataclass, field

from cspnet.config import MAX_ACTIVATION_BYTES, MAX_NETWORK_CHARS, MAX_PARAMS
from cspnet.errors import ConfigError
from cspnet.plan import INPUT, NetPlan, PlanBuilder, Tensor

from ._text import LOOKS, bounded_text, read_bounded, sniff

MAX_CFG_CHARS = MAX_NETWORK_CHARS   # characters (and bytes): what a design's ``network`` field holds
MAX_LAYERS = 1024               # sections after [net]
MAX_LINE_CHARS = 4096
MAX_OPTIONS = 128               # options in one section
MAX_VALUE_CHARS = 1024
MAX_ROUTE_INPUTS = 64
MAX_SIDE = 4096                 # [net] width and height
MAX_INPUT_CHANNELS = 64
MAX_WARNINGS = 20               # warnings kept per file (then one line saying there are more)
FILTERS = (1, 8192)
KERNEL = (1, 15)
STRIDE = (1, 8)
OUTPUTS = (1, 100_000)          # [connected] output

ACTIVATIONS = ("linear", "leaky", "relu", "relu6", "logistic", "tanh", "swish", "mish", "hard_mish", "elu",
               "selu", "gelu")

# section name as written -> canonical layer kind
KINDS = {"convolutional": "conv", "conv": "conv", "maxpool": "maxpool", "max": "maxpool", "avgpool": "avgpool",
         "avg": "avgpool", "route": "route", "shortcut": "shortcut", "upsample": "upsample",
         "scale_channels": "scale_channels",
         "connected": "connected", "conn": "connected", "softmax": "softmax", "soft": "softmax",
         "dropout": "dropout", "yolo": "yolo", "cost": "cost", "batchnorm": "batchnorm", "activation": "activation",
         "local_avgpool": "local_avgpool", "local_avg": "local_avgpool"}
SUPPORTED = ("net, convolutional, maxpool, local_avgpool, avgpool, route, shortcut, scale_channels, upsample, "
             "connected, softmax, "
             "dropout, batchnorm, activation, yolo, cost")
HEAD_KINDS = ("yolo", "cost")

# training options: accepted and ignored
_NET_OPTIONS = frozenset("""
batch subdivisions learning_rate learning_rate_min momentum decay max_batches burn_in policy power step steps
scale scales seq_scales gamma sgdr_cycle sgdr_mult time_steps track augment_speed sequential_subdivisions
try_fix_nan weights_reject_freq equidistant_point badlabels_rejection_percentage num_sigmas_reject_badlabels
ema_alpha use_cuda_graph loss_scale dynamic_minibatch optimized_memory workspace_size_limit_MB adam B1 B2 eps
inputs max_crop min_crop max_ratio min_ratio center clip flip blur gaussian_noise mixup cutmix mosaic letter_box
mosaic_bound contrastive contrastive_jit_flip contrastive_color unsupervised label_smooth_eps resize_step
attention adversarial_lr max_chart_loss angle aspect saturation exposure hue notruth random
show_receptive_field
""".split())
_LAYER_TRAINING = frozenset(("stopbackward", "dontload", "dontloadscales", "train_only_bn", "stream",
                             "wait_stream"))
_ALLOWED = {
    "conv": frozenset(("filters", "size", "stride", "pad", "padding", "groups", "batch_normalize", "activation")),
    "maxpool": frozenset(("size", "stride", "padding")),
    "local_avgpool": frozenset(("size", "stride", "padding")),
    "batchnorm": frozenset(),
    "activation": frozenset(("activation",)),
    "avgpool": frozenset(),
    "route": frozenset(("layers", "groups", "group_id")),
    "shortcut": frozenset(("from", "activation", "weights_type", "weights_normalization")),
    "scale_channels": frozenset(("from", "activation", "scale_wh")),
    "upsample": frozenset(("stride", "scale")),
    "connected": frozenset(("output", "activation", "batch_normalize")),
    "softmax": frozenset(("groups", "temperature", "noloss")),
    "dropout": frozenset(("probability", "dropblock", "dropblock_size_rel", "dropblock_size_abs")),
}

_KEY_RE = re.compile(r"[A-Za-z_][A-Za-z0-9_]{0,63}")
_NAME_RE = re.compile(r"[A-Za-z_][A-Za-z0-9_]{0,31}")
_INT_RE = re.compile(r"[+-]?\d{1,18}")
_DIGITS_RE = re.compile(r"[+-]?\d+")
_FLOAT_RE = re.compile(r"[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d{1,3})?")


class CfgError(ConfigError):
    """A Darknet cfg that cannot be imported.  ``field`` is ``"cfg"``; the message names the line, the
    section, the layer index (Darknet's numbering: the first section after ``[net]`` is layer 0) and
    what was expected.  ``line``, ``section`` and ``layer`` hold the same for a UI."""

    def __init__(self, message: str, line: int | None = None, section: str | None = None,
                 layer: int | None = None):
        where = []
        if line is not None:
            where.append(f"line {line}")
        if section is not None:
            where.append(f"[{section}]" + (f" (layer {layer})" if layer is not None else ""))
        super().__init__("cfg", (" ".join(where) + ": " if where else "") + message)
        self.line, self.section, self.layer = line, section, layer


# --------------------------------------------------------------------------- reading the text
@dataclass
class Section:
    """One ``[name]`` block: its header as written, its line and its options (key -> (text, line))."""

    name: str
    line: int
    options: dict = field(default_factory=dict)


def read_sections(text, warnings: list | None = None) -> list:
    """The cfg text as a list of :class:`Section` (Darknet's ``read_cfg``: whitespace anywhere in a
    line is dropped, lines starting with ``#`` or ``;`` are comments; here a ``#`` after a value starts a
    comment too; a UTF-8 byte order mark is dropped).  An option given twice in one section keeps its first
    value, as Darknet does, and a warning naming both lines is appended to ``warnings`` (at most
    :data:`MAX_WARNINGS`, then one line saying there are more).  Refuses before splitting anything large:
    text over :data:`MAX_CFG_CHARS`, a line over :data:`MAX_LINE_CHARS`, more than :data:`MAX_LAYERS` layers."""
    text = bounded_text(text, MAX_CFG_CHARS, "cfg", CfgError)
    if "\x00" in text:
        raise CfgError(f"line {text.count(chr(10), 0, text.index(chr(0))) + 1}: a NUL character; a cfg is text")
    sections: list = []
    for lineno, raw in enumerate(text.splitlines(), 1):
        if len(raw) > MAX_LINE_CHARS:
            raise CfgError(f"a line of {len(raw):,} characters; allowed at most {MAX_LINE_CHARS:,}", lineno)
        line = "".join(raw.split())
        if not line or line[0] in "#;":
            continue
        if line[0] == "[":
            if not line.endswith("]") or not _NAME_RE.fullmatch(line[1:-1]):
                raise CfgError(f"{_show(raw.strip())} is not a section header like [convolutional]", lineno)
            if len(sections) > MAX_LAYERS:
                raise CfgError(f"more than {MAX_LAYERS} layers; allowed at most {MAX_LAYERS}", lineno)
            sections.append(Section(line[1:-1], lineno))
            continue
        line = line.split("#", 1)[0]
        if "=" not in line:
            raise CfgError(f"{_show(raw.strip())} is not an option (key=value) or a [section]"
                           f"{_looks_like(text) if not sections else ''}", lineno)
        if not sections:
            raise CfgError(f"an option before the first section; a cfg starts with [net]{_looks_like(text)}", lineno)
        key, value = line.split("=", 1)
        sec = sections[-1]
        if not _KEY_RE.fullmatch(key):
            raise CfgError(f"{_show(key)} is not an option name", lineno, sec.name, len(sections) - 2)
        if key in sec.options:   # Darknet keeps the first value (option_find reads the list from its head)
            first, first_line = sec.options[key]
            if warnings is not None and len(warnings) < MAX_WARNINGS:
                layer = len(sections) - 2 if len(sections) > 1 else None
                warnings.append(CfgError(
                    f"{key} is given twice (also on line {first_line}); the first value, {key}={first[:40]}, is used "
                    f"and this one, {key}={value[:40]}, ignored, as Darknet does (it reports it as unused)",
                    lineno, sec.name, layer).detail)
            elif warnings is not None and len(warnings) == MAX_WARNINGS:
                warnings.append(f"more options given twice after line {lineno}; each time the first value is used")
            if len(value) > MAX_VALUE_CHARS:
                raise CfgError(f"{key}: a value of {len(value):,} characters; allowed at most {MAX_VALUE_CHARS}",
                               lineno, sec.name)
            continue
        if len(sec.options) >= MAX_OPTIONS:
            raise CfgError(f"more than {MAX_OPTIONS} options in one section", lineno, sec.name)
        if len(value) > MAX_VALUE_CHARS:
            raise CfgError(f"{key}: a value of {len(value):,} characters; allowed at most {MAX_VALUE_CHARS}",
                           lineno, sec.name)
        sec.options[key] = (value, lineno)
    if not sections:
        raise CfgError("no sections; a Darknet cfg starts with [net] and lists its layers as [sections]")
    return sections


def _looks_like(text: str) -> str:
    """``"; the text looks like ..."`` where it looks like another format than a Darknet cfg, else ``""``."""
    kind = sniff(text)
    return f"; the text looks like {LOOKS[kind]}, not a Darknet cfg" if kind in ("yaml", "json") else ""


def _show(text: str, n: int = 40) -> str:
    return repr(text if len(text) <= n else text[:n] + "...")


class _Options:
    """Typed access to one section's options, with errors that name the line, section and layer."""

    def __init__(self, sec: Section, layer: int | None):
        self.sec, self.layer = sec, layer

    def error(self, message: str, key: str | None = None) -> CfgError:
        line = self.sec.options[key][1] if key in self.sec.options else self.sec.line
        return CfgError(message, line, self.sec.name, self.layer)

    def check_keys(self, allowed, ignored=frozenset(), reads: str | None = None) -> None:
        for key in self.sec.options:
            if key not in allowed and key not in ignored:
                names = reads or (", ".join(sorted(allowed)) or "no options")
                raise self.error(f"unknown option {key!r}; [{self.sec.name}] takes {names}", key)

    def has(self, key: str) -> bool:
        return key in self.sec.options

    def int(self, key: str, default: int | None, lo: int, hi: int) -> int:
        if key not in self.sec.options:
            if default is None:
                raise self.error(f"{key}= is required (an integer {lo} to {hi})")
            return default
        text = self.sec.options[key][0]
        if not _INT_RE.fullmatch(text):
            what = "is not allowed" if _DIGITS_RE.fullmatch(text) else "is not an integer"
            raise self.error(f"{key}={_show(text)} {what}; allowed integers {lo} to {hi}", key)
        n = int(text)
        if not lo <= n <= hi:
            raise self.error(f"{key}={n} is not allowed; allowed integers {lo} to {hi}", key)
        return n

    def float(self, key: str, default: float, lo: float, hi: float) -> float:
        if key not in self.sec.options:
            return default
        text = self.sec.options[key][0]
        if not _FLOAT_RE.fullmatch(text):
            raise self.error(f"{key}={_show(text)} is not a number; allowed {lo:g} to {hi:g}", key)
        v = float(text)
        if not lo <= v <= hi:
            raise self.error(f"{key}={text} is not allowed; allowed {lo:g} to {hi:g}", key)
        return v

    def word(self, key: str, default: str, allowed) -> str:
        if key not in self.sec.options:
            return default
        text = self.sec.options[key][0]
        if text not in allowed:
            raise self.error(f"{key}={_show(text)} is not supported; allowed: {', '.join(allowed)}", key)
        return text

    def int_list(self, key: str) -> list:
        if key not in self.sec.options:
            raise self.error(f"{key}= is required (comma-separated layer indices)")
        text = self.sec.options[key][0]
        parts = text.split(",")
        if len(parts) > MAX_ROUTE_INPUTS:
            raise self.error(f"{key}= lists {len(parts)} layers; allowed at most {MAX_ROUTE_INPUTS}", key)
        if not all(_INT_RE.fullmatch(p) for p in parts):
            raise self.error(f"{key}={_show(text)} is not a comma-separated list of layer indices", key)
        return [int(p) for p in parts]


# --------------------------------------------------------------------------- the layers
@dataclass
class Layer:
    """One Darknet layer: its kind, where it is in the file, its inputs and its analytic counts.

    ``inputs``: the layer indices it reads (-1 is the network input); for a shortcut the previous
    layer, then ``from``.  ``flops``: Darknet's BFLOPs numerator of this layer (an exact integer; the
    shortcut term kept apart in ``shortcut_flops``).  ``attrs``: the options as read and defaulted."""

    index: int
    kind: str
    section: str
    line: int
    in_shape: tuple
    out_shape: tuple
    inputs: tuple
    attrs: dict
    params: int = 0
    macs: int = 0
    flops: int = 0
    shortcut_flops: int = 0

    @property
    def bflops(self) -> float:
        """Darknet's printed per-layer BFLOPs (the C float it stores), shortcut term included."""
        return _f32((self.flops + self.shortcut_flops) / 1e9)

    def describe(self) -> str:
        a = self.attrs
        if self.kind == "conv":
            g = f"/{a['groups']}" if a["groups"] > 1 else ""
            return f"conv {a['filters']}{g} {a['size']}x{a['size']}/{a['stride']}"
        if self.kind in ("maxpool", "local_avgpool"):
            return f"{self.kind[:3]} {a['size']}x{a['size']}/{a['stride']}"
        if self.kind == "activation":
            return f"activation {a['activation']}"
        if self.kind in ("route", "shortcut", "scale_channels"):
            refs = ",".join(str(i) for i in (self.inputs if self.kind == "route" else self.inputs[1:]))
            extra = f" {a['group_id']}/{a['groups']}" if self.kind == "route" and a["groups"] > 1 else ""
            return f"{self.kind} {refs}{extra}"
        if self.kind == "upsample":
            return f"upsample x{a['stride']}"
        return self.kind


def _f32(x: float) -> float:
    return struct.unpack("f", struct.pack("f", x))[0]


def _out(value: int, what: str, opts: _Options) -> int:
    if value < 1:
        raise opts.error(f"the output {what} would be {value}; the input is too small for this layer")
    return value


def _conv(o: _Options, i: int, prev: tuple, shapes: list) -> Layer:
    o.check_keys(_ALLOWED["conv"], _LAYER_TRAINING)
    c, h, w = prev
    n = o.int("filters", 1, *FILTERS)
    size = o.int("size", 1, *KERNEL)
    stride = o.int("stride", 1, *STRIDE)
    pad = o.int("pad", 0, 0, 1)
    padding = o.int("padding", 0, 0, KERNEL[1])
    if pad:
        padding = size // 2
    groups = o.int("groups", 1, 1, FILTERS[1])
    if c % groups or n % groups:
        raise o.error(f"groups={groups} must divide the input channels ({c}) and filters ({n})",
                      "groups" if o.has("groups") else "filters")
    bn = o.int("batch_normalize", 0, 0, 1)
    act = o.word("activation", "logistic", ACTIVATIONS)
    oh = _out((h + 2 * padding - size) // stride + 1, "height", o)
    ow = _out((w + 2 * padding - size) // stride + 1, "width", o)
    nweights = (c // groups) * n * size * size
    attrs = {"filters": n, "size": size, "stride": stride, "padding": padding, "groups": groups,
             "batch_normalize": bn, "activation": act}
    return Layer(i, "conv", o.sec.name, o.sec.line, prev, (n, oh, ow), (i - 1,), attrs,
                 params=nweights + (2 * n if bn else n), macs=nweights * oh * ow, flops=2 * nweights * oh * ow)


def _maxpool(o: _Options, i: int, prev: tuple, shapes: list) -> Layer:
    o.check_keys(_ALLOWED["maxpool"], _LAYER_TRAINING)   # (local_avgpool's options are the same)
    c, h, w = prev
    stride = o.int("stride", 1, *STRIDE)
    size = o.int("size", stride, *KERNEL)
    padding = o.int("padding", size - 1, 0, 2 * KERNEL[1])
    oh = _out((h + padding - size) // stride + 1, "height", o)
    ow = _out((w + padding - size) // stride + 1, "width", o)
    attrs = {"size": size, "stride": stride, "padding": padding}
    return Layer(i, "maxpool", o.sec.name, o.sec.line, prev, (c, oh, ow), (i - 1,), attrs,
                 flops=size * size * c * oh * ow)


def _local_avgpool(o: _Options, i: int, prev: tuple, shapes: list) -> Layer:
    """[local_avgpool] (AlexeyAB): a maxpool layer that averages, over the window's pixels inside the map."""
    layer = _maxpool(o, i, prev, shapes)
    layer.kind = "local_avgpool"
    return layer


def _batchnorm(o: _Options, i: int, prev: tuple, shapes: list) -> Layer:
    """[batchnorm] (AlexeyAB): BatchNorm alone (scale and shift: 2 parameters per channel), no activation."""
    o.check_keys(_ALLOWED["batchnorm"], _LAYER_TRAINING)
    return Layer(i, "batchnorm", o.sec.name, o.sec.line, prev, prev, (i - 1,), {}, params=2 * prev[0])


def _activation(o: _Options, i: int, prev: tuple, shapes: list) -> Layer:
    """[activation]: an activation alone (``activation``, default linear)."""
    o.check_keys(_ALLOWED["activation"], _LAYER_TRAINING)
    act = o.word("activation", "linear", ACTIVATIONS)
    return Layer(i, "activation", o.sec.name, o.sec.line, prev, prev, (i - 1,), {"activation": act})


def _avgpool(o: _Options, i: int, prev: tuple, shapes: list) -> Layer:
    o.check_keys(_ALLOWED["avgpool"], _LAYER_TRAINING)
    return Layer(i, "avgpool", o.sec.name, o.sec.line, prev, (prev[0], 1, 1), (i - 1,), {})


def _ref(o: _Options, key: str, raw: int, i: int) -> int:
    """A layer index as Darknet resolves it (negative: relative to layer ``i``), only earlier layers."""
    idx = i + raw if raw < 0 else raw
    if 0 <= idx < i:
        return idx
    if i == 0:
        raise o.error(f"{key}={raw}: layer 0 has no earlier layer to read", key)
    where = "before the first layer" if idx < 0 else "itself" if idx == i else "a later layer"
    raise o.error(f"{key}={raw} points to layer {idx} ({where}); layer {i} may read layers 0 to {i - 1}", key)


def _route(o: _Options, i: int, prev: tuple, shapes: list) -> Layer:
    o.check_keys(_ALLOWED["route"], _LAYER_TRAINING)
    refs = [_ref(o, "layers", r, i) for r in o.int_list("layers")]
    groups = o.int("groups", 1, 1, FILTERS[1])
    group_id = o.int("group_id", 0, 0, groups - 1)
    ins = [shapes[r] for r in refs]
    _, h, w = ins[0]
    for r, (c, hh, ww) in zip(refs, ins):
        if (hh, ww) != (h, w):
            raise o.error(f"layers={o.sec.options['layers'][0]}: layer {r} is {hh}x{ww} but layer {refs[0]} is "
                          f"{h}x{w}; a route concatenates maps of one size", "layers")
        if c % groups:
            raise o.error(f"groups={groups} must divide the channels of every input (layer {r} has {c})", "groups")
    out = (sum(c for c, _, _ in ins) // groups, h, w)
    return Layer(i, "route", o.sec.name, o.sec.line, ins[0], out, tuple(refs),
                 {"groups": groups, "group_id": group_id})


def _shortcut(o: _Options, i: int, prev: tuple, shapes: list) -> Layer:
    o.check_keys(_ALLOWED["shortcut"], _LAYER_TRAINING)
    o.word("weights_type", "none", ("none",))
    o.word("weights_normalization", "none", ("none",))
    text = o.sec.options.get("from", ("",))[0]
    if "," in text:
        raise o.error(f"from={_show(text)}: a shortcut from several layers is not supported; give one layer", "from")
    src = _ref(o, "from", o.int("from", None, -MAX_LAYERS, MAX_LAYERS), i)
    act = o.word("activation", "linear", ACTIVATIONS)
    c, h, w = prev
    fc, fh, fw = shapes[src]
    if fh % h or fw % w or fh // h != fw // w:
        raise o.error(f"from={o.sec.options['from'][0]}: layer {src} is {fh}x{fw}, the previous layer {h}x{w}; "
                      "a shortcut needs the same size or the from-layer k times larger", "from")
    step = fh // h
    return Layer(i, "shortcut", o.sec.name, o.sec.line, prev, prev, (i - 1, src),
                 {"activation": act, "from": src, "step": step, "channels": min(c, fc)},
                 shortcut_flops=c * h * w)


def _scale_channels(o: _Options, i: int, prev: tuple, shapes: list) -> Layer:
    """[scale_channels] (AlexeyAB): the ``from`` layer's map times the previous layer's C x 1 x 1 output,
    channel by channel (squeeze-and-excitation's scaling); ``scale_wh`` is not supported."""
    o.check_keys(_ALLOWED["scale_channels"], _LAYER_TRAINING)
    o.int("scale_wh", 0, 0, 0)
    o.word("activation", "linear", ("linear",))
    src = _ref(o, "from", o.int("from", None, -MAX_LAYERS, MAX_LAYERS), i)
    fc, fh, fw = shapes[src]
    if prev != (fc, 1, 1):
        raise o.error(f"from={o.sec.options['from'][0]}: the previous layer is {'x'.join(map(str, prev))}; "
                      f"scaling layer {src}'s {fc} channels needs {fc}x1x1", "from")
    return Layer(i, "scale_channels", o.sec.name, o.sec.line, shapes[src], shapes[src], (i - 1, src),
                 {"from": src})


def _mark_squeeze(layers: list, scale: Layer) -> None:
    """The global [avgpool] that squeezes the map a [scale_channels] scales (SE: pool, 1x1, 1x1, scale) is
    a mean over H, W, as timm's SE takes it: marked ``squeeze`` (planned as ``mean``, built as a mean)."""
    src = scale.inputs[1]
    for j in range(scale.index - 1, max(src, scale.index - 8), -1):
        if layers[j].kind == "avgpool" and layers[j].inputs == (src,):
            layers[j].attrs["squeeze"] = True
            return


def _upsample(o: _Options, i: int, prev: tuple, shapes: list) -> Layer:
    o.check_keys(_ALLOWED["upsample"], _LAYER_TRAINING)
    stride = o.int("stride", 2, *STRIDE)
    scale = o.float("scale", 1.0, 0.0, 1e6)
    c, h, w = prev
    return Layer(i, "upsample", o.sec.name, o.sec.line, prev, (c, h * stride, w * stride), (i - 1,),
                 {"stride": stride, "scale": scale})


def _connected(o: _Options, i: int, prev: tuple, shapes: list) -> Layer:
    o.check_keys(_ALLOWED["connected"], _LAYER_TRAINING)
    n = o.int("output", 1, *OUTPUTS)
    bn = o.int("batch_normalize", 0, 0, 1)
    act = o.word("activation", "logistic", ACTIVATIONS)
    inputs = prev[0] * prev[1] * prev[2]
    return Layer(i, "connected", o.sec.name, o.sec.line, prev, (n, 1, 1), (i - 1,),
                 {"output": n, "batch_normalize": bn, "activation": act},
                 params=inputs * n + (2 * n if bn else n), macs=inputs * n)


def _softmax(o: _Options, i: int, prev: tuple, shapes: list) -> Layer:
    o.check_keys(_ALLOWED["softmax"], _LAYER_TRAINING)
    o.int("groups", 1, 1, 1)
    o.int("noloss", 0, 0, 1)
    t = o.float("temperature", 1.0, 1e-6, 1e6)
    return Layer(i, "softmax", o.sec.name, o.sec.line, prev, prev, (i - 1,), {"temperature": t})


def _dropout(o: _Options, i: int, prev: tuple, shapes: list) -> Layer:
    o.check_keys(_ALLOWED["dropout"], _LAYER_TRAINING)
    p = o.float("probability", 0.2, 0.0, 1.0)
    o.int("dropblock", 0, 0, 1)
    o.float("dropblock_size_rel", 0.0, 0.0, 1.0)
    o.int("dropblock_size_abs", 0, 0, MAX_SIDE)
    return Layer(i, "dropout", o.sec.name, o.sec.line, prev, prev, (i - 1,), {"probability": p})


def _head(o: _Options, i: int, prev: tuple, shapes: list) -> Layer:
    # a loss layer: its options (anchors, masks, loss settings) are kept as text, not interpreted
    return Layer(i, KINDS[o.sec.name], o.sec.name, o.sec.line, prev, prev, (i - 1,),
                 {"options": {k: v for k, (v, _) in o.sec.options.items()}})


_HANDLERS = {"conv": _conv, "maxpool": _maxpool, "avgpool": _avgpool, "route": _route, "shortcut": _shortcut,
             "scale_channels": _scale_channels,
             "upsample": _upsample, "connected": _connected, "softmax": _softmax, "dropout": _dropout,
             "yolo": _head, "cost": _head, "local_avgpool": _local_avgpool, "batchnorm": _batchnorm,
             "activation": _activation}


# --------------------------------------------------------------------------- the network
@dataclass
class StageInfo:
    """Where a plan stage sits in the layer list: layers ``start`` to ``end - 1``, and for a recognised
    CSP stage the roles of its layers (index lists; empty when absent).  ``layers``: the stage's layer
    indices in order; ``range(start, end)`` but where a detector's head layers sit between (a neck stage
    around a [yolo] head, the head itself: its per-scale layers): :func:`_detector_groups`.  ``part``:
    backbone, neck or head ("": by kind)."""

    name: str
    kind: str
    start: int
    end: int
    fusion: str = "none"
    roles: dict = field(default_factory=dict)
    layers: tuple = ()
    part: str = ""

    def __post_init__(self):
        if not self.layers:
            self.layers = tuple(range(self.start, self.end))


@dataclass
class DarknetNet:
    """An imported Darknet network: its layers, its plan (stem, stages, head) and where each plan stage
    sits in the layer list."""

    name: str
    input_shape: tuple
    layers: list
    plan: NetPlan
    stages: list          # StageInfo per plan stage, in the plan's order
    warnings: tuple = ()  # what was read otherwise than written (an option given twice: its first value)

    @property
    def params(self) -> int:
        return sum(layer.params for layer in self.layers)

    @property
    def output_shape(self) -> tuple:
        return self.layers[-1].out_shape

    @property
    def outputs(self) -> list:
        """Each output scale of a detector, in [yolo] order: ``{"layer", "scale" ("P3": stride 2^3),
        "stride", "shape"}``, the shape being what the [yolo] layer reads (its prediction conv's output);
        empty without [yolo] layers."""
        out = []
        for i in self.head_layers:
            layer = self.layers[i]
            if layer.kind != "yolo":
                continue
            c, h, w = layer.in_shape
            stride = self.input_shape[1] // h if h and self.input_shape[1] % h == 0 else None
            scale = f"P{stride.bit_length() - 1}" if stride and stride & (stride - 1) == 0 else None
            out.append({"layer": i, "scale": scale, "stride": stride, "shape": [c, h, w]})
        return out

    @property
    def head_layers(self) -> list:
        """Indices of the [yolo]/[cost] layers (the model's outputs when there are any)."""
        return [layer.index for layer in self.layers if layer.kind in HEAD_KINDS]


def parse_cfg(text, *, input_size: int | None = None, name: str = "darknet") -> DarknetNet:
    """Read a Darknet cfg (text or bytes) into a :class:`DarknetNet`; ``input_size`` replaces the
    ``[net]`` width and height.  Raises :class:`CfgError` (a ``ConfigError``) for anything it cannot
    import, and nothing else."""
    warnings: list = []
    sections = read_sections(text, warnings)
    net = sections[0]
    if net.name not in ("net", "network"):
        raise CfgError("the first section must be [net] (or [network]), with width, height and channels",
                       net.line, net.name)
    o = _Options(net, None)
    o.check_keys({"width", "height", "channels"}, _NET_OPTIONS,
                 reads="width, height, channels and Darknet's training options (batch, learning_rate, ...)")
    if input_size is not None and not 1 <= input_size <= MAX_SIDE:
        raise CfgError(f"input size {input_size} is not allowed; allowed integers 1 to {MAX_SIDE}")
    h = input_size or o.int("height", None, 1, MAX_SIDE)
    w = input_size or o.int("width", None, 1, MAX_SIDE)
    c = o.int("channels", None, 1, MAX_INPUT_CHANNELS)
    input_shape = (c, h, w)
    if len(sections) == 1:
        raise CfgError("no layers after [net]", net.line, net.name)
    layers: list = []
    shapes: list = []
    params = elements = 0
    for i, sec in enumerate(sections[1:]):
        kind = KINDS.get(sec.name)
        if kind is None:
            raise CfgError(f"unsupported section [{sec.name}]; supported: {SUPPORTED}", sec.line, sec.name, i)
        o = _Options(sec, i)
        layer = _HANDLERS[kind](o, i, shapes[-1] if shapes else input_shape, shapes)
        params += layer.params
        if params > MAX_PARAMS:
            raise o.error(f"{params / 1e6:.1f}M parameters up to this layer; the bound is {MAX_PARAMS / 1e6:.0f}M")
        oc, oh, ow = layer.out_shape
        elements += oc * oh * ow
        if elements * 4 > MAX_ACTIVATION_BYTES:
            raise o.error(f"{elements * 4 / 2**30:.2f} GiB of fp32 activations up to this layer at batch 1; "
                          f"the bound is {MAX_ACTIVATION_BYTES / 2**30:.0f} GiB (lower the input size)")
        layers.append(layer)
        shapes.append(layer.out_shape)
        if kind == "scale_channels":
            _mark_squeeze(layers, layer)
    plan, stages = _plan(layers, input_shape)
    return DarknetNet(name=name, input_shape=input_shape, layers=layers, plan=plan, stages=stages,
                      warnings=tuple(warnings))


def load_cfg(path, *, input_size: int | None = None) -> DarknetNet:
    """:func:`parse_cfg` of a file (refused before reading if larger than :data:`MAX_CFG_CHARS` bytes)."""
    data = read_bounded(path, MAX_CFG_CHARS, CfgError)
    name = os.path.splitext(os.path.basename(os.fspath(path)))[0] or "darknet"
    return parse_cfg(data, input_size=input_size, name=name)


def darknet_bflops(net: DarknetNet, shortcut_terms: bool = True) -> float:
    """``Total BFLOPS`` as Darknet prints it: every layer's BFLOPs stored as a C float and summed in a
    float (AlexeyAB ``parse_network_cfg_custom``).  ``shortcut_terms=False``: without the shortcut
    layers' term (Darknet before 2020 printed none for them)."""
    total = 0.0
    for layer in net.layers:
        b = _f32((layer.flops + (layer.shortcut_flops if shortcut_terms else 0)) / 1e9)
        if b > 0:
            total = _f32(total + b)
    return total


# --------------------------------------------------------------------------- stem, stages, head
def _is_1x1(layer: Layer) -> bool:
    a = layer.attrs
    return layer.kind == "conv" and a["size"] == 1 and a["stride"] == 1 and layer.inputs == (layer.index - 1,)


def _chunk(layers: list, j: int) -> tuple | None:
    """(x, lo, hi) when layer ``j`` is ``[route] layers=x groups=G group_id=k`` (G > 1): channels
    ``[k x C/G, (k + 1) x C/G)`` of the one layer x (``C`` its channels)."""
    layer = layers[j]
    if layer.kind != "route" or len(layer.inputs) != 1 or layer.attrs["groups"] == 1:
        return None
    n = layer.out_shape[0]
    return layer.inputs[0], layer.attrs["group_id"] * n, (layer.attrs["group_id"] + 1) * n


def _slice_run(layers: list, j: int, end: int, x: int, lo: int, hi: int) -> int | None:
    """The layer whose output is channels ``[lo, hi)`` of layer x, built from layer ``j`` on (before
    ``end``): ``j`` itself when it is that one chunk (:func:`_chunk`), else the concat route right after
    the chunks ``j, j+1, ...`` (contiguous, in order, all of x) that cover ``[lo, hi)``; None otherwise."""
    pos, k = lo, j
    while k < end and pos < hi:
        got = _chunk(layers, k)
        if got is None or got[0] != x or got[1] != pos or got[2] > hi:
            return None
        pos, k = got[2], k + 1
    if pos != hi:
        return None
    if k == j + 1:
        return j
    cat = layers[k] if k < end else None
    ok = cat is not None and cat.kind == "route" and cat.attrs["groups"] == 1 and cat.inputs == tuple(range(j, k))
    return k if ok else None


def _slice_split(layers: list, r: int) -> dict | None:
    """Layer ``r`` opens part 2 of a sliced split (this project's export of a CSP split without convs,
    ``explorer.io.darknet_export``), or None.  Part 2 is channels ``[c1, C)`` of one layer x and part 1
    channels ``[0, c1)``, each one ``[route] groups=G group_id=k`` of x or several such aligned chunks
    followed by a concat ``[route]`` of them (contiguous, in order): part 1's layers start right after
    x, part 2's at ``r`` (equal halves: ``groups=2``, ``group_id`` 0 then 1).  Returns ``{"x", "part1"
    (the layer whose output is part 1's slice), "part2" (part 2's)}``."""
    got = _chunk(layers, r)
    if got is None or got[1] == 0:
        return None
    x, c1, _ = got
    channels = layers[r].in_shape[0]
    part1 = _slice_run(layers, x + 1, r, x, 0, c1)
    part2 = _slice_run(layers, r, len(layers), x, c1, channels) if part1 is not None else None
    return None if part2 is None else {"x": x, "part1": part1, "part2": part2}


def _boundaries(layers: list) -> list:
    """Indices b (0..n) where the output of layer b-1 is the only tensor later layers read: no layer
    from b on reads a layer before b-1.  The network's stages can only be cut there."""
    n = len(layers)
    low = [0] * (n + 1)
    low[n] = n
    for j in range(n - 1, -1, -1):
        low[j] = min(low[j + 1], min(layers[j].inputs))
    return [b for b in range(n + 1) if b == 0 or b == n or low[b] >= b - 1]


def _groups(layers: list, input_shape: tuple) -> list:
    """(kind, start, end) for the stem, each stage and the head, covering every layer in order.

    Stages are cut at the boundaries before each down-sampling segment (a segment between two
    boundaries whose output H x W is smaller than its input's); a segment that down-samples and comes
    back (ELASTIC's pooled branch) does not cut.  The stem is the plain prefix before the first
    segment with a route or shortcut, less the 1x1 convs right before a sliced split (:func:`_slice_split`:
    the stage's expansion) and a strided conv right before those (CSPDarknet's stage down-sampling conv); a
    network without any is cut before its first down-sampling.  A segment that down-samples with a
    [local_avgpool] (a dense transition's 2x2 pool: alone, or at the end of a fusion-last stage whose first
    layer keeps the size) ends a stage rather than starting one.  The head starts
    at the first segment with a global [avgpool], [connected], [softmax], [cost] or [yolo], and takes a
    bias-only linear 1x1 conv right before it (the classifier of ``resnet50.cfg``)."""
    bounds = _boundaries(layers)
    segs = list(zip(bounds[:-1], bounds[1:]))

    def area(b):
        _, h, w = input_shape if b == 0 else layers[b - 1].out_shape
        return h * w

    def kinds(seg):
        return {layers[j].kind for j in range(*seg)}

    def head_kinds(seg):   # a global pool inside a squeeze-and-excitation (scaled back in) is no head
        k = kinds(seg)
        return k - {"avgpool"} if "scale_channels" in k else k

    head = next((k for k, seg in enumerate(segs)
                 if head_kinds(seg) & {"avgpool", "connected", "softmax", "cost", "yolo"}), len(segs))
    if 0 < head < len(segs):
        a, b = segs[head - 1]
        last = layers[a]
        if b - a == 1 and last.kind == "conv" and not last.attrs["batch_normalize"] \
                and last.attrs["activation"] == "linear" and last.attrs["size"] == 1:
            head -= 1
    body = segs[:head]
    down = [k for k, (a, b) in enumerate(body) if area(b) < area(a)]
    branch = next((k for k, seg in enumerate(body) if kinds(seg) & {"route", "shortcut", "scale_channels"}), None)
    if branch is None:
        stem = down[0] if down and down[0] > 0 else min(1, len(body))
    else:
        stem = branch
        if any(_slice_split(layers, j) for j in range(*body[branch])):
            while stem > 0 and body[stem - 1][1] - body[stem - 1][0] == 1 and _is_1x1(layers[body[stem - 1][0]]):
                stem -= 1
        if stem > 0:
            a, b = body[stem - 1]
            if b - a == 1 and layers[a].kind == "conv" and layers[a].attrs["stride"] > 1:
                stem -= 1
    def pools_last(a, b):   # a lone 2x2 avg pool, or a segment that keeps its size until an avg pool in it
        if not any(layers[j].kind == "local_avgpool" for j in range(a, b)):
            return False
        return b - a == 1 or layers[a].out_shape[1:] == (input_shape if a == 0 else layers[a - 1].out_shape)[1:]

    pooled = {k for k in down if pools_last(*body[k])}
    down = [k + 1 if k in pooled else k for k in down if k not in pooled or k + 1 < len(body)]
    starts = sorted({stem} | {k for k in down if k > stem}) if stem < len(body) else []
    out = [("stem", 0, body[stem - 1][1] if stem else 0)]
    for s, e in zip(starts, starts[1:] + [len(body)]):
        out.append(("stage", body[s][0], body[e - 1][1]))
    out.append(("head", segs[head][0] if head < len(segs) else len(layers), len(layers)))
    return out


def _readers(layers: list) -> list:
    """Per layer, the indices of the later layers that read its output."""
    out: list = [[] for _ in layers]
    for layer in layers:
        for j in layer.inputs:
            if j >= 0:
                out[j].append(layer.index)
    return out


def _head_pieces(layers: list, readers: list) -> list | None:
    """Per [yolo] layer, its head piece: the conv before its 1x1 prediction conv, that 1x1 conv and the
    [yolo] (each layer read only by the next; fewer where the cfg has fewer), and a one-layer [route] before
    them that only they read (the head's input picked back from the neck), as index lists; None where some
    layer reads a [yolo] output (not a detector head this importer splits)."""
    pieces = []
    taken: set = set()
    for y in (layer.index for layer in layers if layer.kind == "yolo"):
        if readers[y]:
            return None
        piece = [y]
        p = y - 1
        if p > 0 and p not in taken and layers[p].kind == "conv" and readers[p] == [y]:
            piece.insert(0, p)
            q = p - 1
            if q > 0 and q - 1 not in taken and layers[q].kind == "conv" and readers[q] == [p]:
                piece.insert(0, q)
        r = piece[0] - 1     # a route that only picks the neck output this scale's head reads (written after
        if len(piece) == 3 and r > 0 and r not in taken and layers[r].kind == "route" and \
                len(layers[r].inputs) == 1 and layers[r].attrs["groups"] == 1 and readers[r] == [piece[0]]:
            piece.insert(0, r)   # the whole neck, as yolov4-csp-swish.cfg does): the head's own input
        pieces.append(piece)
        taken.update(piece)
    return pieces


def _detector_groups(layers: list, input_shape: tuple) -> list | None:
    """A detector's stages (kind, layer indices, part), or None for any other network (then :func:`_groups`).

    A detector here ends in [yolo] layers only (no [cost], [connected], [softmax] or global pool) and reads
    earlier stages back: its **head** is, per output scale, the conv before the 1x1 prediction conv, that conv
    and the [yolo] (:func:`_head_pieces`); one ``head`` stage, last, holds them all (nothing else reads them).
    The rest, the body, is cut where one tensor is live as :func:`_boundaries` does, except that a **lateral**
    read does not keep a tensor live: a route or shortcut reading a map its path was computed from, through a
    change of H x W and back to that H x W (a route back to a backbone stage across the neck's down- and
    up-sampling, YOLO's FPN/PAN inputs; not YOLOv7's MP block nor a squeeze-and-excitation).

    The **backbone** ends inside its deepest stage (the last down-sampling before the first [upsample] or lateral
    read): after that stage's residual or CSP segments (one CSP concat and its transition), at the first conv that
    narrows the channels or a CSP split after them (after a CSP stage, or after a plain stage's residual blocks:
    SPPCSP in a CSP cfg's plain twin, ``explorer.io.rewrite.plain_twin``); its stem and stages are
    :func:`_groups`' on those layers alone (as a classifier's).  The **neck** is the body after it, one stage per
    resolution (cut before each [upsample] or down-sampling, together with the chain of single convs and routes
    that only feed it) and one per CSP pattern (a split route of the layer before it, its block path, the concat
    and transitions, with the 1x1 conv it splits: ScaledYOLOv4's SPPCSP and BottleneckCSP2), so the neck's CSP
    stages are recognised as the backbone's are (:func:`_csp_roles`)."""
    n = len(layers)
    if n < 3 or not any(layer.kind == "yolo" for layer in layers):
        return None
    if any(layer.kind in ("cost", "connected", "softmax") or (layer.kind == "avgpool" and not
                                                              layer.attrs.get("squeeze")) for layer in layers):
        return None
    readers = _readers(layers)
    pieces = _head_pieces(layers, readers)
    if pieces is None:
        return None
    head = {j for piece in pieces for j in piece}
    body = [j for j in range(n) if j not in head]
    pos = {j: p for p, j in enumerate(body)}
    pos[-1] = -1

    def hw(j):
        return (input_shape if j < 0 else layers[j].out_shape)[1:]

    # next_diff[p]: the first body position after p whose H x W differs from body position p's, not counting
    # 1 x 1 maps (a squeeze-and-excitation's pooled branch is no change of resolution)
    m = len(body)
    next_map = [m] * (m + 1)     # the first body position >= p that is not 1 x 1
    next_diff = [m] * (m + 1)
    for p in range(m - 1, -1, -1):
        next_map[p] = p if hw(body[p]) != (1, 1) else next_map[p + 1]
        t = next_map[p + 1]
        next_diff[p] = t if t == m or hw(body[t]) != hw(body[p]) else next_diff[t]

    ancestors = [0] * n    # per layer, a bit per layer its output is computed from
    for layer in layers:
        bits = 0
        for k in layer.inputs:
            if k >= 0:
                bits |= ancestors[k] | (1 << k)
        ancestors[layer.index] = bits

    def lateral(j, p):
        """Body position p, a route or shortcut, reads layer j back where the path it continues (the body layer
        before it) was computed from j through a change of H x W and has j's H x W again: the U-turn of an
        FPN/PAN.  Not a branch that reads the map before a pool from the pooled path, nor the concat of two
        branches of one map (YOLOv7's MP block)."""
        q = pos[j]
        if q < 0 or p == 0 or layers[body[p]].kind not in ("route", "shortcut") or next_diff[q] >= p:
            return False
        prev = body[p - 1]
        return hw(prev) == hw(j) and bool(ancestors[prev] >> j & 1)

    local_low = [m] * (m + 1)     # the lowest body position read (locally) by positions >= p
    first_lateral = m
    for p in range(m - 1, -1, -1):
        lo = local_low[p + 1]
        for j in layers[body[p]].inputs:
            if lateral(j, p):
                first_lateral = min(first_lateral, p)
            else:
                lo = min(lo, pos[j])
        local_low[p] = lo
    cuts = [b for b in range(m + 1) if b in (0, m) or local_low[b] >= b - 1]
    segs = list(zip(cuts[:-1], cuts[1:]))     # body positions [a, b)
    first_up = next((p for p in range(m) if layers[body[p]].kind == "upsample"), m)
    neck_from = min(first_up, first_lateral)
    if neck_from >= m:
        return None

    def area(j):
        h, w = hw(j)
        return h * w

    def seg_in(a):
        return body[a - 1] if a > 0 else -1

    def kinds(a, b):
        return [layers[body[p]].kind for p in range(a, b)]

    down = [k for k, (a, b) in enumerate(segs) if b <= neck_from and area(body[b - 1]) < area(seg_in(a))]
    if not down:
        return None
    # the backbone's deepest stage: its down-sampling segment, then residual / CSP segments
    k = down[-1] + 1
    csp_done = residual_done = False
    while k < len(segs) and segs[k][1] <= neck_from:
        a, b = segs[k]
        first = layers[body[a]]
        routes = [layers[body[p]] for p in range(a, b) if layers[body[p]].kind == "route"]
        if b - a == 1 and first.kind == "conv" and first.out_shape[0] < layers[seg_in(a)].out_shape[0]:
            break                                     # the neck's first narrowing conv
        if (csp_done or residual_done) and any(len(r.inputs) == 1 for r in routes):
            break                                     # a (second) split: the neck's CSP stage (SPPCSP)
        if csp_done and not (b - a == 1 and _is_1x1(first)):
            break                                     # after the concat only its 1x1 transition
        csp_done = csp_done or any(len(r.inputs) > 1 for r in routes)
        residual_done = residual_done or not routes and any(layers[body[p]].kind == "shortcut" for p in range(a, b))
        k += 1
    backbone_end = segs[k][0] if k < len(segs) else m     # a body position
    n_backbone = body[backbone_end] if backbone_end < m else n
    if backbone_end == 0 or body[:backbone_end] != list(range(n_backbone)) or any(j < n_backbone for j in head):
        return None
    groups = _groups(layers[:n_backbone], input_shape)
    if groups[-1][2] > groups[-1][1]:   # a classifier's head (a global pool) inside: no backbone of a detector
        return None
    out = [(kind, tuple(range(s, e)), "backbone") for kind, s, e in groups[:-1]]
    # the neck: cut before each change of resolution and each CSP pattern
    neck = [seg for seg in segs if seg[0] >= backbone_end]
    starts = {0}

    def single(a, b):   # the segment is a lone conv or one-input route
        layer = layers[body[a]]
        return b - a == 1 and (layer.kind == "conv" or (layer.kind == "route" and len(layer.inputs) == 1))

    def feeds(a, until):   # every reader of body position a is at a position in [a + 1, until)
        return all(r in pos and a < pos[r] < until for r in readers[body[a]])

    for k, (a, b) in enumerate(neck):
        if k == 0:
            continue
        changes = area(body[b - 1]) != area(seg_in(a)) and any(t in ("upsample", "conv", "maxpool", "local_avgpool")
                                                                for t in kinds(a, b))
        split = None
        if not changes:
            r = next((p for p in range(a, b) if layers[body[p]].kind == "route" and len(layers[body[p]].inputs) == 1
                      and pos.get(layers[body[p]].inputs[0], -2) == a - 1), None)
            if r is not None and body[b - 1] - body[a] == b - 1 - a:   # no head layer between
                lo, hi = body[a], body[b - 1] + 1
                expand = k > 1 and single(*neck[k - 1]) and layers[body[neck[k - 1][0]]].kind == "conv" and \
                    feeds(neck[k - 1][0], b)
                if _csp_roles(layers, body[neck[k - 1][0]] if expand else lo, hi) is not None:
                    split = k - 1 if expand else k
        if changes:
            at = k
            while at - 1 > 0 and single(*neck[at - 1]) and feeds(neck[at - 1][0], b) and at - 1 not in starts:
                at -= 1
            starts.add(at)
        elif split is not None:
            starts.add(split)
    starts = sorted(starts)
    for s, e in zip(starts, starts[1:] + [len(neck)]):
        idx = tuple(body[p] for p in range(neck[s][0], neck[e - 1][1]))
        out.append(("stage", idx, "neck"))
    out.append(("head", tuple(sorted(head)), "head"))
    return out


def _csp_roles(layers: list, start: int, end: int) -> dict | None:
    """The CSP pattern in layers ``start..end-1``, or None: a split route (one earlier layer, not the previous one: the
    bypass starts there), the part 1 path before it, the block path after it, an optional 1x1 partial transition
    at the end of the block path, a concat route of part 1 and the block path, and optional 1x1 transitions
    after the concat.  Right after the concat, the stage's ``post``: a channel attention (:func:`_attention`),
    or [batchnorm]/[activation] layers followed by a conv with BatchNorm (BottleneckCSP's BN + act); before a
    bare conv they are DenseNet's pre-activation transition and belong to it.  A sliced split
    (:func:`_slice_split`) is recognised too: the split route is part 2's first slice route, part 1 the layers
    from x on before it (its slices, their concat and part 1's own path), ``part1_slice`` the layer whose output
    is part 1's slice, and ``part2`` the concat of part 2's slices (empty when one route is part 2).  Roles are
    lists of layer indices."""
    for r in range(start, end):
        route = layers[r]
        sliced = _slice_split(layers, r)
        if route.kind != "route" or len(route.inputs) != 1 or (route.attrs["groups"] != 1 and not sliced):
            continue
        if sliced and sliced["part2"] >= end:
            continue
        x = route.inputs[0]
        if not start - 1 <= x < r - 1:
            continue
        p1 = r - 1
        for c in range(r + 1, end):
            cat = layers[c]
            if cat.kind != "route" or len(cat.inputs) < 2 or p1 not in cat.inputs or cat.attrs["groups"] != 1:
                continue
            others = [j for j in cat.inputs if j != p1]
            if not all(r <= j < c for j in others):
                continue
            if any(layers[j].kind in ("conv", "maxpool") and layers[j].attrs["stride"] > 1 for j in range(x + 1, c)):
                continue    # a strided branch (YOLOv7's max-pool + conv down-sampling) is no CSP split
            y = max(others)
            if layers[y].kind == "local_avgpool" and _is_1x1(layers[y - 1]) and y - 2 >= r:
                pooled_pt = y      # a dense fusion-last transition: 1x1 conv, then 2x2 average pool
            else:
                pooled_pt = None
            if sliced:
                p2 = sliced["part2"] if sliced["part2"] != r else None    # several chunks: their concat
            else:
                p2 = r + 1 if r + 1 < c and _is_1x1(layers[r + 1]) else None
            if p2 is not None and p2 >= c:
                continue
            first = (p2 if p2 is not None else r) + 1
            pt = y if pooled_pt is not None or (_is_1x1(layers[y]) and y - 1 >= first) else None
            block_end = y - 2 if pooled_pt is not None else y - 1 if pt is not None else y
            trans = []
            post = _attention(layers, c, end)
            t = post[-1] + 1 if post else c + 1
            bn_act = []
            while t < end and layers[t].kind in ("batchnorm", "activation"):
                bn_act.append(t)
                t += 1
            if bn_act and not post and t < end and _is_1x1(layers[t]) and layers[t].attrs["batch_normalize"]:
                post = bn_act   # BottleneckCSP's BN + act after the concat (a bare conv after them: DenseNet's
                #                 pre-activation transition, whose BN + act are the transition's)
            while t < end and _is_1x1(layers[t]):
                trans.append(t)
                t += 1
            if trans and t < end and layers[t].kind == "local_avgpool":   # a dense transition's 2x2 pool
                trans.append(t)
            block = range(first, block_end + 1)
            repeats = sum(layers[j].kind == "shortcut" for j in block) or \
                sum(layers[j].kind == "conv" and layers[j].attrs["size"] > 1 for j in block)
            # the split's source, when it is the stage's own 1x1 conv (timm's expand), not its down conv
            expand = [x] if x >= start and layers[x].kind == "conv" and not (
                x == start and layers[x].attrs["stride"] > 1) else []
            return {"expand": expand, "split": [r], "part1": list(range(x + 1, r)), "sliced": bool(sliced),
                    "part1_slice": [sliced["part1"]] if sliced else [],
                    "part2": [p2] if p2 is not None else [], "block": list(block), "block_end": [block_end],
                    "partial_transition": [pt] if pt is not None else [], "concat": [c], "post": post,
                    "transition": trans, "repeats": repeats}
    return None


def _attention(layers: list, c: int, end: int) -> list:
    """The channel attention right after a CSP concat (layer ``c``; CSPNeXt's, as
    ``explorer.io.darknet_export`` writes it), or []: a global [avgpool] of the concat, one or two 1x1
    convs on its C x 1 x 1 output and a [scale_channels] from the concat."""
    t = c + 1
    if t < end and layers[t].kind == "avgpool" and layers[t].inputs == (c,):
        k = t + 1
        while k < end and k - t <= 2 and _is_1x1(layers[k]) and layers[k].in_shape[1:] == (1, 1):
            k += 1
        if t + 1 < k < end and layers[k].kind == "scale_channels" and layers[k].inputs == (k - 1, c):
            return list(range(t, k + 1))
    return []


def csp_tap_layers(roles: dict) -> dict:
    """tap -> the index of the layer whose output it is, for a CSP stage's roles (:func:`_csp_roles`), in
    tap order: the plan's taps (:func:`_plan`) and the modules' tap points (``explorer.io.family``) both
    read this.  Part 1 is its slice for a sliced split (before part 1's own path, e.g. a pool), else the
    layer before the split route; part 2 the concat of its slices, the 1x1 split conv, or the route."""
    taps = {"expand": roles["expand"][0]} if roles.get("expand") else {}
    taps |= {"part1": roles["part1_slice"][0] if roles["sliced"] else roles["split"][0] - 1,
            "part2": roles["part2"][0] if roles["part2"] else roles["split"][0],
            "block": roles["block_end"][0]}
    if roles["partial_transition"]:
        taps["partial_transition"] = roles["partial_transition"][0]
    taps["concat"] = roles["concat"][0]
    if roles["post"]:
        taps["post"] = roles["post"][-1]
    if roles["transition"]:
        taps["transition"] = roles["transition"][-1]
    return taps


def stage_components(layers: list, start: int, end: int, roles: dict | None) -> dict:
    """layer index -> the plan component (``cspnet.plan.Op.group``) its ops belong to: ``down`` (a strided
    first conv), ``expand``, ``split`` (part 1's path and the split routes, part 2's 1x1 or its slices'
    concat), ``part1_pool`` (part 1's own pool), ``block``, ``partial_transition``, ``concat``, ``post``,
    ``transition``; a stage without CSP roles is its down conv and a ``block``."""
    comp: dict = {}
    if start < end and layers[start].kind == "conv" and layers[start].attrs["stride"] > 1:
        comp[start] = "down"
    if not roles:
        return {j: comp.get(j, "block") for j in range(start, end)}
    named = {j: role for role in ("expand", "block", "partial_transition", "concat", "post", "transition")
             for j in roles[role]}
    split = set(roles["split"]) | set(roles["part2"])
    for j in range(start, end):
        if j in comp:
            continue
        if j in roles["part1"]:
            comp[j] = "part1_pool" if layers[j].kind in ("local_avgpool", "maxpool") else "split"
        elif j in split:
            comp[j] = "split"
        elif j in named:
            comp[j] = named[j]
        elif j < roles["split"][0]:
            comp[j] = "expand"
        elif j < roles["concat"][0]:
            comp[j] = "partial_transition"   # a pooled partial transition's 1x1 conv (dense fusion last)
        else:
            comp[j] = "transition"
    return comp


def _fusion(roles: dict) -> str:
    pt, tr = bool(roles["partial_transition"]), bool(roles["transition"])
    return "csp" if pt and tr else "fusion_first" if tr else "fusion_last" if pt else "none"


def _add_ops(b: PlanBuilder, layer: Layer, outs: list, inp) -> Tensor:
    """The plan twin of one layer (op paths = the module names of ``darknet_torch.DarknetModel``), reading
    the tensors of the layers it names (``inp(j)``, ``outs[j]``); returns its output tensor."""
    i, a = layer.index, layer.attrs
    s = inp(layer.inputs[0]) if layer.inputs else inp(i - 1)
    p = f"layers.{i}"
    if layer.kind == "conv":
        s = b.conv(f"{p}.conv", s, a["filters"], a["size"], a["stride"], padding=a["padding"], groups=a["groups"],
                   bias=not a["batch_normalize"])
        if a["batch_normalize"]:
            s = b.bn(f"{p}.bn", s)
        if a["activation"] != "linear":
            s = b.act(f"{p}.act", s)
    elif layer.kind in ("maxpool", "local_avgpool"):
        # Darknet pads padding // 2 before and the rest after: not PlanBuilder.pool's symmetric padding
        s = b.layer("maxpool" if layer.kind == "maxpool" else "avgpool", p, s, layer.out_shape, kernel=a["size"],
                    stride=a["stride"])
    elif layer.kind == "batchnorm":
        s = b.bn(f"{p}.bn", s)
    elif layer.kind == "activation":
        if a["activation"] != "linear":
            s = b.act(f"{p}.act", s)
    elif layer.kind == "avgpool":
        s = b.mean(p, s) if a.get("squeeze") else b.gap(p, s)
    elif layer.kind == "route":   # each input's group_id-th of ``groups`` channel slices, concatenated
        g = a["groups"]
        parts = []
        for j in layer.inputs:
            x = inp(j)
            n = x[0] // g
            parts.append(x.part(a["group_id"] * n, n) if g > 1 else x)
        s = b.cat(p, parts) if len(parts) > 1 else parts[0]
    elif layer.kind == "shortcut":   # adds the from-layer's first min(C, C_from) channels (strided if larger)
        x = inp(layer.inputs[1])
        m = a["channels"]
        if x[1:] != s[1:]:
            x = x.view((m, s[1], s[2]))
        elif x[0] != m:
            x = x.part(0, m)
        s = b.add(p, s, x)
        if a["activation"] != "linear":
            s = b.act(f"{p}.act", s)
    elif layer.kind == "scale_channels":
        s = b.mul(p, inp(layer.inputs[1]), s)
    elif layer.kind == "upsample":   # (its scale multiplies in place: no op of its own)
        s = b.layer("upsample", p, s, layer.out_shape)
    elif layer.kind == "connected":
        s = b.linear(f"{p}.linear", s, a["output"], bias=not a["batch_normalize"])
        if a["batch_normalize"]:
            s = b.bn(f"{p}.bn", s)
        if a["activation"] != "linear":
            s = b.act(f"{p}.act", s)
    elif layer.kind == "softmax":
        s = b.layer("softmax", p, s, s)
    return s


def _layout(layers: list, input_shape: tuple) -> list:
    """(kind, layer indices, part) per plan stage, in forward order: a detector's (:func:`_detector_groups`),
    else :func:`_groups`' stem, stages and head (part "": by kind)."""
    det = _detector_groups(layers, input_shape)
    if det is not None:
        return det
    return [(kind, tuple(range(s, e)), "") for kind, s, e in _groups(layers, input_shape)]


def _plan(layers: list, input_shape: tuple) -> tuple:
    outs: list = [None] * len(layers)   # each layer's output tensor
    net_input = Tensor(input_shape, INPUT)

    def out(j):
        return net_input if j < 0 else outs[j]

    stages, infos = [], []
    n_stage = 0
    last = -1       # the last layer of the stages planned so far
    for kind, idx, part in _layout(layers, input_shape):
        name = kind if kind != "stage" else f"stages.{n_stage}"
        n_stage += kind == "stage"
        start = idx[0] if idx else last + 1
        end = idx[-1] + 1 if idx else start
        cend = next((j for j in range(start, end) if j not in idx), end) if idx else end   # contiguous from start
        roles = _csp_roles(layers, start, cend) if kind == "stage" else None
        fusion = _fusion(roles) if roles else "none"
        b = PlanBuilder(name, kind, fusion, prefix="", part=part)
        yolo = [j for j in idx if layers[j].kind == "yolo"] if part == "head" else []
        b.tap("input", out(start - 1) if yolo else out(last))
        components = stage_components(layers, start, cend, roles) if kind == "stage" else {}
        for j in idx:
            b.component = components.get(j, kind if kind != "stage" else "transition" if roles else "block")
            outs[j] = _add_ops(b, layers[j], outs, out)
        b.component = None
        first = layers[start] if idx else None
        if kind == "stage" and first is not None and first.kind == "conv" and first.attrs["stride"] > 1:
            b.tap("down", outs[start])
        if roles:
            for tap, j in csp_tap_layers(roles).items():
                b.tap(tap, out(j))
            b.stage.repeats = roles["repeats"]
        elif kind == "stage":
            b.stage.repeats = sum(layers[j].kind == "shortcut" for j in idx)
        for k, y in enumerate(yolo):   # each output scale: what its [yolo] reads
            b.tap(f"p{k}", out(layers[y].inputs[0]))
        b.tap("output", out(idx[-1]) if idx else out(last))
        taps = b.stage.taps   # in forward order: the input first, the output last
        b.stage.taps = {"input": taps.pop("input"), **{k: v for k, v in taps.items() if k != "output"},
                        "output": taps["output"]}
        stages.append(b.stage)
        infos.append(StageInfo(name, kind, start, end, fusion, roles or {}, tuple(idx), part))
        if idx and not yolo:
            last = idx[-1]
    assert all(o is not None for o in outs)
    return NetPlan(input_shape=input_shape, stages=stages), infos


# --------------------------------------------------------------------------- summaries
# What the summary's Darknet numbers are, and their unit (the counting conventions' totals, under
# ``conventions``, state theirs: the ``bflops`` and ``darknet`` conventions are in plain FLOPs).
DARKNET_BFLOPS_UNITS = {
    "darknet_bflops": "BFLOP (1e9 FLOP): AlexeyAB darknet's printed 'Total BFLOPS' (each layer's value a C float, "
                      "summed in a float; the shortcut term included)",
    "darknet_bflops_without_shortcut": "BFLOP (1e9 FLOP): the same without the shortcut term (Darknet in 2019)",
    "stages.darknet_bflops": "BFLOP (1e9 FLOP): the stage's layers' Darknet BFLOPs, shortcut term included",
    "layers.bflops": "BFLOP (1e9 FLOP): the layer's Darknet BFLOPs as Darknet stores it (a C float)",
}
DARKNET_BFLOPS_COLUMN = "Darknet BFLOPs (1e9 FLOP)"


def summarize_net(net: DarknetNet, batch: int = 1) -> dict:
    """A JSON-safe summary in the shape of ``explorer.counts.analysis.summarize``'s (totals in every
    convention, memory, one row per stage and one per part: ``plan_summary``), plus Darknet's own BFLOPs
    (total as Darknet prints it and per stage, in BFLOP = 1e9 FLOP: ``units`` says so), each stage's and
    each part's layer range (``layers``: first and last; ``layer_runs``: its runs of consecutive layers, as a
    detector's head is one run per scale), each stage's CSP roles, a detector's ``outputs`` (per [yolo]
    layer: :attr:`DarknetNet.outputs`) and one row per layer."""
    from explorer.counts.analysis import plan_summary
    from explorer.counts.conventions import REGISTRY

    plan = net.plan
    totals, stages = plan_summary(plan, batch, REGISTRY)
    for row, info in zip(stages, net.stages):
        row["layers"] = [info.layers[0], info.layers[-1]] if info.layers else []
        row["layer_runs"] = layer_runs(info.layers)
        row["darknet_bflops"] = sum(net.layers[j].flops + net.layers[j].shortcut_flops for j in info.layers) / 1e9
        row["roles"] = {k: v for k, v in info.roles.items() if k not in ("repeats", "sliced")}
    layer_of = {info.name: info.layers for info in net.stages}
    for part in totals["parts"]:   # each part's cfg layers, first to last (plan_summary's parts: by stage)
        ends = [i for name in part["stages"] for i in layer_of[name]]
        part["layers"] = [min(ends), max(ends)] if ends else []
        part["layer_runs"] = layer_runs(sorted(ends))
    return {
        "name": net.name,
        "source": "darknet cfg",
        "family": "darknet cfg",   # not a cspnet family: no design fields apply
        "config": {},
        "input_shape": list(net.input_shape),
        "input_size": net.input_shape[1] if net.input_shape[1] == net.input_shape[2] else None,
        "output_shape": list(net.output_shape),
        "outputs": net.outputs,
        "layers_count": len(net.layers),
        **totals,
        "darknet_bflops": darknet_bflops(net),
        "darknet_bflops_without_shortcut": darknet_bflops(net, shortcut_terms=False),
        "units": DARKNET_BFLOPS_UNITS,
        "stages": stages,
        "layers": [{"index": lay.index, "type": lay.kind, "section": lay.section, "line": lay.line,
                    "what": lay.describe(), "inputs": list(lay.inputs), "in_shape": list(lay.in_shape),
                    "out_shape": list(lay.out_shape), "params": lay.params, "macs": lay.macs,
                    "bflops": lay.bflops} for lay in net.layers],
    }


def layer_runs(indices) -> list:
    """Layer indices (ascending) as runs of consecutive ones: ``[[142, 144], [157, 159]]``."""
    runs: list = []
    for i in indices:
        if runs and runs[-1][1] == i - 1:
            runs[-1][1] = i
        else:
            runs.append([i, i])
    return runs


def stage_rows(summary: dict, convention: str = "macs") -> list:
    """``explorer.counts.analysis.stage_table``'s rows of :func:`summarize_net`'s summary, with the
    layer range and Darknet's BFLOPs (its own formulas, shortcut term included) of each stage."""
    from explorer.counts.analysis import stage_table

    rows = stage_table(summary, convention)
    for row, st in zip(rows, summary["stages"]):
        row["layers"] = ",".join(f"{a}-{b}" if b > a else str(a) for a, b in st["layer_runs"])
        row[DARKNET_BFLOPS_COLUMN] = round(st["darknet_bflops"], 4)
    return rows


__all__ = ["CfgError", "DARKNET_BFLOPS_COLUMN", "DARKNET_BFLOPS_UNITS", "DarknetNet", "Layer", "Section", "StageInfo",
           "csp_tap_layers", "darknet_bflops", "layer_runs", "load_cfg", "parse_cfg", "read_sections", "stage_rows",
           "summarize_net",
           "MAX_CFG_CHARS", "MAX_LAYERS"]
