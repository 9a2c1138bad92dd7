"""Ultralytics model YAML import and export: the classification subset, mapped onto the lineage families.

An Ultralytics model YAML (``yolov8-cls.yaml``, ``yolo11-cls.yaml``, a YOLOv5-style file with
``depth_multiple`` / ``width_multiple``) is read into a :class:`cspnet.CSPConfig` of the matching
lineage family (``cspnet/families/lineage.py``), so every page and command reads it as any design:

* leading ``Conv`` layers -> ``stem_type``: one of the lineage stems made of convs (``conv_3x3`` = Conv
  [64, 3, 2]; ``focus_6x6`` = Conv [64, 6, 2, 2]; ``two_3x3``, ``three_3x3``, ``yolov7``);
* ``Conv [c, 3, 2]`` -> a stage's strided ``down`` conv (``strides`` 2, ``down_widths``); a stage module right
  after another has stride 1 and no down conv;
* ``C3 [c, shortcut, g, e]`` -> a stage: ``block_type`` dark, ``taps`` last, ``split_convs`` two,
  ``bottle_ratio`` 1, ``expand_ratio`` 2e, ``residual`` shortcut (family yolov5);
* ``C2f [c, shortcut, g, e]`` -> bottleneck_3x3, taps all, split one, bottle_ratio 1 (family yolov8);
* ``C3k2 [c, c3k, e]`` -> bottleneck_3x3 (or c3k where ``c3k`` is true, or forced at scales m/l/x as
  Ultralytics' ``parse_model`` forces it), taps all, split one, bottle_ratio 0.5 (family yolo11);
* ``C2PSA [c, e]`` -> psa, taps last, split one (family yolo11); input channels = c, as Ultralytics asserts;
* ``Classify [nc]`` -> the head (1x1 conv to 1280, pool, linear): ``num_classes``;
* ``nc``, ``scales`` -> ``num_classes``; the chosen scale's ``[depth, width, max_channels]`` ->
  ``depth_multiple``, ``width_multiple``, ``max_channels`` (YOLOv5 style: ``depth_multiple`` /
  ``width_multiple`` keys, no channel cap);
* ``activation`` -> ``nn.SiLU()`` (the default), ``nn.ReLU()``, ``nn.LeakyReLU()``, ``nn.Mish()``.

The family follows the blocks: any C3k2 or C2PSA -> yolo11, else any C2f -> yolov8, else yolov5 (the
three differ only in their presets and defaults).  Widths and repeats stay the YAML's *base* values;
the family's Ultralytics scaling (``ceil8(min(c, max_channels) x w)``, ``max(round(n x d), 1)`` where
n > 1) is the same rule ``parse_model`` applies, and every stage's channel arithmetic (the hidden
``int(c x e)`` split, the bottleneck widths, the attention heads) is checked against Ultralytics' own
before the design is returned: a YAML whose arithmetic the stage abstraction would round differently
is refused, never approximated.

**Refused** with a :class:`ConfigError` whose field is ``"yaml"`` and whose message names the layer
(its overall index, ``backbone[j]`` / ``head[j]`` and module) or the key and what was expected:
detection YAMLs (``Detect``, ``Segment``, ``Pose``, ``OBB``, ... and the neck's ``Upsample`` /
``Concat`` of earlier layers: "detection heads are not analysed"), ``SPPF`` (the stage abstraction
has CSPNeXt's SPP bottleneck, not SPPF; the -cls YAMLs have none), any other module, a ``from``
other than the previous layer, groups, dilation or extra arguments the blocks do not have, C3 and
C2f/C3k2 in one YAML (one ``split_convs`` per design), a Conv that is neither a stem conv nor a 3x3
stride-2 down conv, and anything over the bounds: 64 KiB of text, 32 layers, 8 stages, nesting
deeper than 16, channels 1 to 8192, repeats 1 to 64, multiples in (0, 4], and the design bounds of
``cspnet.config`` (400M parameters, 4 GiB of activations), all checked before anything is built.
The text is read with PyYAML's safe loader only (:func:`yaml_loader`: libyaml's ``CSafeLoader`` where PyYAML
was built with it, else the pure-Python ``SafeLoader``; the same safe constructor and resolver): no tags, no
Python objects, nothing evaluated (the ``activation`` string is matched against a fixed table, not evaluated).

**Export** (:func:`yaml_from_config`) writes any yolov5 / yolov8 / yolo11 design whose stages are
Ultralytics modules as a YAML in Ultralytics' format (backbone ``[from, repeats, module, args]``,
``head: [[-1, 1, Classify, [nc]]]``, ``nc``, ``scales``); other families, fusions (only
``fusion_first`` is an Ultralytics module), split ratios, stems and block combinations are refused
with a :class:`ConfigError` whose field is ``"format"``.  The written text is imported back before it
is returned and its plan compared with the design's (``explorer.io.check.check_export``, the check the
Darknet writer runs too: every op kind's totals stage by stage, every stage's tap shapes, no stated
difference): an export that would not round-trip exactly is refused.  The input size is not
part of the format (a comment records it; import uses 224, Ultralytics' classification default).
Pure Python: no torch.
"""
from __future__ import annotations

import math
import os
import re

from cspnet.config import MAX_REPEATS, MAX_STAGES, CSPConfig
from cspnet.errors import ConfigError
from cspnet.families._detect import NECK_STAGES, cumulative, per_scale, sppf_stage

from ._text import LOOKS, bounded_text, read_bounded, sniff

MAX_YAML_CHARS = 64 * 1024
MAX_LAYERS = 32          # a stem of at most 4 convs, 8 stages of [down conv, stage module], Classify
MAX_NESTING = 16
MAX_ARGS = 8
MAX_SCALES = 16
MAX_CHANNELS = 8192      # the design's width bound
MAX_CLASSES = 100_000
MAX_MODULE_CHARS = 64

SUPPORTED_MODULES = ("Conv", "C3", "C2f", "C3k2", "C2PSA", "Classify")
STAGE_MODULES = ("C3", "C2f", "C3k2", "C2PSA")
EXPORT_FAMILIES = ("yolov5", "yolov8", "yolo11")

DETECTION_MODULES = frozenset({
    "Detect", "Segment", "Pose", "OBB", "WorldDetect", "YOLOEDetect", "YOLOESegment", "RTDETRDecoder",
    "v10Detect", "ImagePoolingAttn", "LRPCHead", "Segment26", "Pose26", "OBB26", "YOLOESegment26",
})
NECK_MODULES = frozenset({"Upsample", "nn.Upsample", "Concat", "torch.nn.Upsample"})
# modules Ultralytics has that the stage abstraction does not: a reason for each well-known one
NOT_IN_ABSTRACTION = {
    "SPPF": "SPPF (fast spatial pyramid pooling) is not in the stage abstraction (it has CSPNeXt's SPP "
            "bottleneck, not SPPF); the -cls YAMLs have none: use the -cls YAML or remove the SPPF layer",
    "SPP": "SPP layers are not in the stage abstraction (only CSPNeXt's SPP bottleneck inside a stage)",
    "Focus": "Focus (space-to-depth) is not a lineage stem; YOLOv5 v6+ writes it as Conv [64, 6, 2, 2]",
    "BottleneckCSP": "BottleneckCSP is the yolov4csp family's stage (full CSP); Ultralytics YAML import covers "
                     "C3, C2f, C3k2 and C2PSA",
}
ACTIVATIONS = {"nn.SiLU()": "silu", "nn.ReLU()": "relu", "nn.LeakyReLU()": "leaky_relu",
               "nn.LeakyReLU(0.01)": "leaky_relu", "nn.Mish()": "mish"}
ACTIVATION_TEXT = {"relu": "nn.ReLU()", "leaky_relu": "nn.LeakyReLU()", "mish": "nn.Mish()"}
TOP_KEYS = ("nc", "scales", "scale", "depth_multiple", "width_multiple", "activation", "channels", "ch",
            "backbone", "head", "yaml_file")
CLASSIFY_HEAD_CONV = 1280


def _err(message: str) -> ConfigError:
    return ConfigError("yaml", message)


def _short(v) -> str:
    """A bounded description of a parsed value (never the repr of a container: aliases can nest)."""
    if v is None or isinstance(v, (bool, int, float)):
        text = repr(v)
        return text if len(text) <= 40 else f"a {len(text)}-digit number"
    if isinstance(v, str):
        return repr(v[:40] + ("..." if len(v) > 40 else ""))
    if isinstance(v, (list, tuple)):
        return f"a list of {len(v)} item(s)"
    if isinstance(v, dict):
        return f"a mapping of {len(v)} key(s)"
    return f"a {type(v).__name__}"


def _is_int(v) -> bool:
    return isinstance(v, int) and not isinstance(v, bool)


def _is_num(v) -> bool:
    return (_is_int(v) or isinstance(v, float)) and math.isfinite(v)


# --------------------------------------------------------------------------- reading the text
def _nesting(text: str) -> int:
    """The deepest bracket nesting of the text (conservative: brackets in strings and comments count)."""
    depth = deepest = 0
    for ch in text:
        if ch in "[{":
            depth += 1
            if depth > deepest:
                deepest = depth
        elif ch in "]}" and depth:
            depth -= 1
    return deepest


def yaml_loader():
    """PyYAML's safe loader, libyaml's ``CSafeLoader`` where PyYAML has it (about 7x faster: yolov7.yaml's 3.5 KB
    parse in 2.2 ms instead of 17 ms, ``benchmarks/bench_engine.py``), else the pure-Python ``SafeLoader``.  Both
    are ``SafeConstructor`` + ``Resolver`` (plain data only) and read a well-formed file to the same mapping; their
    parsers differ on some malformed texts (libyaml takes a tab or a ``:`` inside a flow list where PyYAML's
    parser stops, and the reverse), and whatever either returns goes through the same checks
    (``tests/test_ultralytics_yaml.py`` compares the two).  The text's size and bracket nesting are bounded
    before either reads it (:func:`_load`)."""
    import yaml

    return getattr(yaml, "CSafeLoader", yaml.SafeLoader)


def _load(text) -> dict:
    text = bounded_text(text, MAX_YAML_CHARS, "YAML", _err)
    if sniff(text) == "darknet":
        raise _err(f"the text looks like {LOOKS['darknet']}, not an Ultralytics model YAML (backbone:/head: keys); "
                   "open it as a .cfg")
    if _nesting(text) > MAX_NESTING:
        raise _err(f"brackets nested deeper than {MAX_NESTING} levels; a model YAML needs 3")
    import yaml

    try:
        doc = yaml.load(text, Loader=yaml_loader())   # a safe loader: plain data only, nothing constructed or run
    except RecursionError:
        raise _err("nested too deeply") from None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark is not None else ""
        problem = getattr(exc, "problem", None) or str(exc).split("\n")[0]
        raise _err(f"malformed YAML{where}: {str(problem)[:120]}") from None
    except Exception as exc:   # noqa: BLE001 - hostile text: int digit limits, unhashable keys, ...
        raise _err(f"unreadable YAML: {type(exc).__name__}: {str(exc)[:120]}") from None
    if not isinstance(doc, dict):
        raise _err(f"expected a mapping with nc, backbone and head, got {_short(doc)}")
    if "config" in doc and "version" in doc and "backbone" not in doc:
        raise _err(f"the text looks like {LOOKS['json']} (keys version and config), not an Ultralytics model YAML; "
                   "open it as a .json")
    return doc


# --------------------------------------------------------------------------- the model's keys
class _Model:
    """The YAML's top-level settings, checked: classes, scale, multiples, cap, activation."""

    def __init__(self, doc: dict, scale: str | None):
        for k in doc:
            if not isinstance(k, str):
                raise _err(f"key {_short(k)}: keys must be text")
        if "anchors" in doc:
            raise _err("key 'anchors': a YOLOv5 or YOLOv7 detection YAML (anchor-based Detect): it opens whole as a "
                       "yolo_yaml design (every command and page: explorer.design.files); as a lineage design (this "
                       "importer's) detection heads are not analysed: use the -cls YAML (e.g. yolov5s-cls.yaml), or "
                       "remove the 'anchors' key and replace the head with [[-1, 1, Classify, [nc]]]")
        unknown = [k for k in doc if k not in TOP_KEYS]
        if unknown:
            raise _err(f"key {_short(unknown[0])} is not read by this importer; allowed keys: {', '.join(TOP_KEYS)}")
        nc = doc.get("nc")
        if not _is_int(nc) or not 1 <= nc <= MAX_CLASSES:
            raise _err(f"key 'nc': {_short(nc)}; expected the number of classes, an integer 1 to {MAX_CLASSES:,}")
        self.nc = nc
        for key in ("channels", "ch"):
            if key in doc and doc[key] != 3:
                raise _err(f"key '{key}': {_short(doc[key])}; the lineage stems read 3 input channels")
        act = doc.get("activation")
        if act is None:
            self.activation = "silu"
        else:
            key = re.sub(r"\s+", "", act) if isinstance(act, str) else None
            if key not in ACTIVATIONS:
                raise _err(f"key 'activation': {_short(act)}; allowed: {', '.join(ACTIVATIONS)} (matched as text, "
                           "never evaluated)")
            self.activation = ACTIVATIONS[key]
        scales = doc.get("scales")
        multiples = [k for k in ("depth_multiple", "width_multiple") if k in doc]
        if scales is not None:
            if multiples:
                raise _err(f"keys 'scales' and '{multiples[0]}': give one (Ultralytics ignores the multiples "
                           "when scales are given)")
            self._scales(scales, scale if scale is not None else doc.get("scale"), scale is not None)
        else:
            if scale is not None:
                raise _err(f"scale {_short(scale)}: the YAML has no 'scales' key (it sets depth_multiple and "
                           "width_multiple)")
            self.scale = None
            self.depth = self._multiple("depth_multiple", doc.get("depth_multiple", 1.0))
            self.width = self._multiple("width_multiple", doc.get("width_multiple", 1.0))
            self.cap = 0

    @staticmethod
    def _multiple(where: str, v) -> float:
        if not _is_num(v) or not 0 < v <= 4:
            raise _err(f"{where}: {_short(v)}; expected a number in (0, 4]")
        return float(v)

    def _scales(self, scales, scale, asked: bool):
        if not isinstance(scales, dict) or not scales:
            raise _err(f"key 'scales': {_short(scales)}; expected a mapping of scale letters to "
                       "[depth, width, max_channels]")
        if len(scales) > MAX_SCALES:
            raise _err(f"key 'scales': {len(scales)} scales; allowed at most {MAX_SCALES}")
        for k in scales:
            if not isinstance(k, str) or not 1 <= len(k) <= 16:
                raise _err(f"key 'scales': scale name {_short(k)}; expected a short text such as n, s, m, l, x")
        if scale is not None and not isinstance(scale, str):
            raise _err(f"scale {_short(scale)}: expected a scale letter")
        if not scale:
            scale = next(iter(scales))
        elif scale not in scales:
            where = "the requested scale" if asked else "key 'scale'"
            raise _err(f"{where} {_short(scale)} is not in scales; the YAML has: {', '.join(scales)}")
        v = scales[scale]
        where = f"scales.{scale}"
        if not isinstance(v, list) or len(v) != 3:
            raise _err(f"{where}: {_short(v)}; expected [depth, width, max_channels]")
        self.scale = scale
        self.depth = self._multiple(f"{where} depth", v[0])
        self.width = self._multiple(f"{where} width", v[1])
        cap = v[2]
        if not _is_int(cap) or not 1 <= cap <= MAX_CHANNELS:
            raise _err(f"{where} max_channels: {_short(cap)}; expected an integer 1 to {MAX_CHANNELS}")
        self.cap = cap

    # parse_model's rules
    def channels(self, c: int) -> int:
        """Ultralytics' ``make_divisible(min(c, max_channels) x width, 8)``; ``c == nc`` is left alone."""
        if c == self.nc:
            return c
        return _ceil8((min(c, self.cap) if self.cap else c) * self.width)

    def repeats(self, n: int) -> int:
        return max(round(n * self.depth), 1) if n > 1 else n


def _ceil8(x: float) -> int:
    return int(math.ceil(x / 8) * 8)


# --------------------------------------------------------------------------- the layers
class _Layer:
    __slots__ = ("i", "where", "module", "n", "args")

    def __init__(self, i, where, module, n, args):
        self.i, self.where, self.module, self.n, self.args = i, where, module, n, args

    @property
    def label(self) -> str:
        return f"layer {self.i} ({self.where}, {self.module})"

    def fail(self, message: str) -> ConfigError:
        return _err(f"{self.label}: {message}")


def _layers(doc: dict, nc: int) -> list:
    rows = []
    for section in ("backbone", "head"):
        part = doc.get(section)
        if part is None and section == "head":
            raise _err("key 'head': missing; a classification model ends with head: [[-1, 1, Classify, [nc]]]")
        if not isinstance(part, list):
            raise _err(f"key '{section}': {_short(part)}; expected a list of [from, repeats, module, args]")
        rows += [(section, j, row) for j, row in enumerate(part)]   # each list is bounded by the text's 64 KiB
    # detection heads, then the neck, first (before the layer bound, which a detection YAML may pass): the
    # clearest message for a detection YAML
    named = [(i, section, j, row) for i, (section, j, row) in enumerate(rows)
             if isinstance(row, list) and len(row) == 4 and isinstance(row[2], str)]
    for is_head in (True, False):
        for i, section, j, row in named:
            m = row[2]
            if (m in DETECTION_MODULES) if is_head else (m in NECK_MODULES or isinstance(row[0], list)):
                what = (f"{m} is a detection head" if is_head else
                        f"{m} joins earlier layers (a detection neck)" if section == "head" else
                        f"{m} joins earlier layers (a block written out as layers, as YOLOv7's ELAN; this importer "
                        "reads a chain of stage modules)")
                planned = m in ("Detect", "v10Detect")   # planned whole by explorer.io.ultralytics_det
                if planned:   # only a lineage design is refused
                    what += ("; a detection YAML opens as a design of the yolo_yaml family (every command and "
                             "page: explorer.design.files). As a lineage design (this importer's)")
                raise _err(f"layer {i} ({section}[{j}], {m}): {what}{',' if planned else ';'} detection heads "
                           "are not analysed: use the "
                           "-cls YAML (e.g. yolov8-cls.yaml), or replace the head with [[-1, 1, Classify, [nc]]]")
    if len(rows) > MAX_LAYERS:
        raise _err(f"{len(rows)} layers (backbone and head); this importer reads at most {MAX_LAYERS}: the bound "
                   "keeps a file from making it check and plan an arbitrarily long chain, and a classification "
                   f"model it can read has at most {4 + 2 * MAX_STAGES + 1} (a stem of at most 4 convs, "
                   f"{MAX_STAGES} stages of [down conv, stage module], Classify); use the model's -cls YAML, or "
                   "fewer layers (repeat a stage module with its repeats, the second column, not by listing it "
                   "again)")
    layers = []
    for i, (section, j, row) in enumerate(rows):
        where = f"{section}[{j}]"
        if not isinstance(row, list) or len(row) != 4:
            raise _err(f"layer {i} ({where}): {_short(row)}; expected [from, repeats, module, args]")
        f, n, m, args = row
        if not isinstance(m, str) or not 1 <= len(m) <= MAX_MODULE_CHARS:
            raise _err(f"layer {i} ({where}): module {_short(m)}; expected a module name: "
                       f"{', '.join(SUPPORTED_MODULES)}")
        label = f"layer {i} ({where}, {m})"
        if m not in SUPPORTED_MODULES:
            reason = NOT_IN_ABSTRACTION.get(m, f"{m} is not a module this importer maps onto the stage abstraction")
            raise _err(f"{label}: {reason}; supported: {', '.join(SUPPORTED_MODULES)}")
        if not _is_int(f) or f not in (-1, i - 1):
            raise _err(f"{label}: from {_short(f)}; expected -1 (the previous layer): the stages form a chain")
        if not _is_int(n) or not 1 <= n <= MAX_REPEATS:
            raise _err(f"{label}: repeats {_short(n)}; expected an integer 1 to {MAX_REPEATS}")
        if not isinstance(args, list) or not 1 <= len(args) <= MAX_ARGS:
            raise _err(f"{label}: args {_short(args)}; expected a list of 1 to {MAX_ARGS} values, the first the "
                       "output channels")
        vals = []
        for k, a in enumerate(args):
            if isinstance(a, str):   # parse_model: a name of its locals (nc) or a literal
                a = {"nc": nc, "True": True, "False": False, "None": None}.get(a.strip(), a)
            if not (a is None or isinstance(a, bool) or _is_num(a)):
                raise _err(f"{label}: args[{k}] is {_short(a)}; expected a number, true/false, null or nc")
            vals.append(a)
        layers.append(_Layer(i, where, m, n, vals))
    return layers


def _arg(layer: _Layer, k: int, default, what: str, ok, expected: str):
    v = layer.args[k] if k < len(layer.args) else default
    if not ok(v):
        raise layer.fail(f"{what} (args[{k}]) is {_short(v)}; expected {expected}")
    return v


def _channels_arg(layer: _Layer) -> int:
    return _arg(layer, 0, None, "the output channels", lambda v: _is_int(v) and 1 <= v <= MAX_CHANNELS,
                f"an integer 1 to {MAX_CHANNELS}")


def _max_args(layer: _Layer, names: tuple):
    if len(layer.args) > len(names):
        raise layer.fail(f"{len(layer.args)} args; {layer.module} takes at most {len(names)} here: "
                         f"[{', '.join(names)}]")


def _bool_arg(layer, k, default, what):
    return _arg(layer, k, default, what, lambda v: isinstance(v, bool), "true or false")


def _e_arg(layer, k):
    return _arg(layer, k, 0.5, "the hidden ratio e", lambda v: _is_num(v) and 0 < v <= 2,
                "a number in (0, 2] (the design's expand_ratio is 2e, at most 4)")


def _groups_arg(layer, k):
    _arg(layer, k, 1, "groups", lambda v: v == 1 and not isinstance(v, bool), "1 (the lineage blocks are not grouped)")


class _Conv:
    __slots__ = ("layer", "c", "k", "s", "p")

    def __init__(self, layer: _Layer):
        if layer.n != 1:
            raise layer.fail(f"repeats {layer.n}; a Conv is written once (repeats 1)")
        _max_args(layer, ("c2", "k", "s", "p", "g"))
        self.layer = layer
        self.c = _channels_arg(layer)
        self.k = _arg(layer, 1, 1, "the kernel", lambda v: _is_int(v) and 1 <= v <= 15, "an integer 1 to 15")
        self.s = _arg(layer, 2, 1, "the stride", lambda v: _is_int(v) and 1 <= v <= 8, "an integer 1 to 8")
        p = _arg(layer, 3, None, "the padding", lambda v: v is None or (_is_int(v) and 0 <= v <= 15),
                 "null or an integer 0 to 15")
        self.p = self.k // 2 if p is None else p   # Ultralytics' autopad
        _groups_arg(layer, 4)

    @property
    def is_down(self) -> bool:
        return self.k == 3 and self.s == 2 and self.p == 1


def _stem_specs() -> dict:
    """The lineage stems made only of convs, as (base channels, kernel, stride, padding) per conv."""
    from cspnet.families.lineage import STEMS, ULTRALYTICS

    class _Unit:   # width 1, no cap: the stems' base channels (all multiples of 8)
        width_multiple, max_channels = 1.0, 0

    out = {}
    for name, stem in STEMS.items():
        layers = stem.layers(_Unit, ULTRALYTICS)
        if all(x.kind == "conv" for x in layers):
            out[name] = tuple((x.out_ch, x.kernel, x.stride, x.kernel // 2 if x.padding is None else x.padding)
                              for x in layers)
    return out


def _match_stem(convs: list):
    """(stem name, the first stage's down conv or None) for the leading convs; None if no stem matches."""
    specs = _stem_specs()

    def name_of(cs):
        key = tuple((c.c, c.k, c.s, c.p) for c in cs)
        return next((n for n, spec in specs.items() if spec == key), None)

    if len(convs) >= 2 and convs[-1].is_down:
        name = name_of(convs[:-1])
        if name:
            return name, convs[-1]
    name = name_of(convs)
    return (name, None) if name else None


class _Stage:
    """One stage: its down conv (or none) and its module, with the fields it sets."""

    def __init__(self, down: _Conv | None, layer: _Layer, model: _Model):
        self.down, self.layer, m = down, layer, layer.module
        self.width = _channels_arg(layer)
        self.repeats = layer.n
        self.bottle = 1.0
        if m == "C3":    # C3(c1, c2, n, shortcut=True, g=1, e=0.5)
            _max_args(layer, ("c2", "shortcut", "g", "e"))
            self.residual = _bool_arg(layer, 1, True, "shortcut")
            _groups_arg(layer, 2)
            self.e = _e_arg(layer, 3)
            self.block, self.taps, self.split = "dark", "last", "two"
        elif m == "C2f":   # C2f(c1, c2, n, shortcut=False, g=1, e=0.5)
            _max_args(layer, ("c2", "shortcut", "g", "e"))
            self.residual = _bool_arg(layer, 1, False, "shortcut")
            _groups_arg(layer, 2)
            self.e = _e_arg(layer, 3)
            self.block, self.taps, self.split = "bottleneck_3x3", "all", "one"
        elif m == "C3k2":  # C3k2(c1, c2, n, c3k=False, e=0.5, ...): Bottleneck(c, c, e=0.5) or C3k(c, c, 2)
            _max_args(layer, ("c2", "c3k", "e"))
            c3k = _bool_arg(layer, 1, False, "c3k")
            if model.scale is not None and model.scale in "mlx":   # parse_model: `if scale in "mlx": args[3] = True`
                c3k = True
            self.e = _e_arg(layer, 2)
            self.residual, self.bottle = True, 0.5
            self.block, self.taps, self.split = ("c3k" if c3k else "bottleneck_3x3"), "all", "one"
        else:              # C2PSA(c1, c2, n, e=0.5)
            _max_args(layer, ("c2", "e"))
            self.e = _e_arg(layer, 1)
            self.residual, self.bottle = True, 0.5
            self.block, self.taps, self.split = "psa", "last", "one"

    @property
    def stride(self) -> int:
        return 2 if self.down else 1


def _structure(layers: list, model: _Model):
    """(stem name, stages, the Classify layer) from the checked layers."""
    head = layers[-1]
    if head.module != "Classify":
        raise head.fail("the last layer must be Classify [nc]: a classification model (detection heads are not "
                        "analysed)")
    for layer in layers[:-1]:
        if layer.module == "Classify":
            raise layer.fail("Classify must be the last layer")
    body = layers[:-1]
    first = next((k for k, x in enumerate(body) if x.module in STAGE_MODULES), None)
    if first is None:
        raise head.fail("no stage module before it; expected at least one of " + ", ".join(STAGE_MODULES))
    lead = [_Conv(x) for x in body[:first]]
    if not lead:
        raise body[0].fail("expected the stem's Conv layers first (e.g. Conv [64, 3, 2])")
    match = _match_stem(lead)
    if match is None:
        specs = "; ".join(f"{n} = " + ", ".join(f"Conv [{c}, {k}, {s}" + (f", {p}" if p != k // 2 else "") + "]"
                                                for c, k, s, p in spec) for n, spec in _stem_specs().items())
        got = ", ".join(f"Conv [{c.c}, {c.k}, {c.s}, {c.p}]" for c in lead)
        raise lead[0].layer.fail(f"the stem ({got}) is none of the lineage stems; expected one of: {specs}, "
                                 "then an optional 3x3 stride-2 down Conv")
    stem, down = match
    stages = []
    k = first
    while k < len(body):
        x = body[k]
        if x.module == "Conv":
            conv = _Conv(x)
            if not conv.is_down:
                raise x.fail(f"Conv [{conv.c}, {conv.k}, {conv.s}] between stages; expected a stage's down-sampling "
                             "conv, Conv [c, 3, 2] (the stage abstraction's strided down)")
            if k + 1 >= len(body) or body[k + 1].module not in STAGE_MODULES:
                raise x.fail("a down conv must be followed by a stage module (" + ", ".join(STAGE_MODULES) + ")")
            down, x = conv, body[k + 1]
            k += 1
        stages.append(_Stage(down, x, model))
        down = None
        k += 1
        if len(stages) > MAX_STAGES:
            raise x.fail(f"more than {MAX_STAGES} stages; allowed at most {MAX_STAGES}")
    splits = {s.split for s in stages}
    if len(splits) > 1:
        odd = next(s for s in stages if s.split != stages[0].split)
        raise odd.layer.fail(f"{stages[0].layer.module} (layer {stages[0].layer.i}) and {odd.layer.module} in one "
                             "model: C3 splits with two 1x1 convs, C2f/C3k2/C2PSA chunk one; a design has one "
                             "split_convs")
    return stem, lead, stages, head


# --------------------------------------------------------------------------- import
def config_from_yaml(text: str | bytes, scale: str | None = None, name: str | None = None) -> CSPConfig:
    """An Ultralytics model YAML (classification subset) as a lineage design: see the module docstring.

    ``scale``: the scale to build (a key of ``scales``); default the YAML's ``scale`` key, else its first
    scale (as Ultralytics).  ``name``: the design's name (default: the family and scale).  Raises
    ``ConfigError`` (field ``"yaml"``) naming the layer or key at fault."""
    return _import(text, scale, name)


def _import(text, scale, name, guessed: bool = False) -> CSPConfig:
    if scale is not None and not isinstance(scale, str):
        raise _err(f"scale {_short(scale)}: expected a scale letter")
    doc = _load(text)
    if guessed and (not isinstance(doc.get("scales"), dict) or scale not in doc["scales"]):
        scale = None   # a scale guessed from a file name that the YAML does not have: its own rule
    model = _Model(doc, scale)
    layers = _layers(doc, model.nc)
    stem, lead, stages, head = _structure(layers, model)
    _max_args(head, ("nc",))
    c2 = _channels_arg(head) if head.args[0] != model.nc else model.nc
    num_classes = model.channels(c2) if c2 != model.nc else c2
    if head.n != 1:
        raise head.fail(f"repeats {head.n}; expected 1")
    modules = {s.layer.module for s in stages}
    family = "yolo11" if modules & {"C3k2", "C2PSA"} else "yolov8" if "C2f" in modules else "yolov5"
    _check_unscaled(model, lead, stages)
    explicit = any(s.down and s.down.c != s.width for s in stages)
    fields = dict(
        family=family, fusion="fusion_first", split_ratio=0.5, transition_ratio=1.0,
        widths=tuple(s.width for s in stages), repeats=tuple(s.repeats for s in stages),
        strides=tuple(s.stride for s in stages),
        down_widths=tuple((s.down.c if explicit and s.down else 0) for s in stages),
        expand_ratio=tuple(2.0 * s.e for s in stages), bottle_ratio=tuple(s.bottle for s in stages),
        block_type=tuple(s.block for s in stages), taps=tuple(s.taps for s in stages),
        residual=tuple(s.residual for s in stages), split_convs=stages[0].split, post_concat="none", se_ratio=0.0,
        stem_type=stem, width_multiple=model.width, depth_multiple=model.depth, max_channels=model.cap,
        activation=model.activation, num_classes=num_classes, input_size=224,
        name=name if name is not None else f"{family} YAML" + (f" scale {model.scale}" if model.scale else ""))
    try:
        cfg = CSPConfig(**fields)
    except ConfigError as exc:
        raise _err(f"the design it describes is refused: {exc}") from None
    _check_arithmetic(cfg, model, stages)
    return cfg


def _check_unscaled(model: _Model, lead: list, stages: list):
    """parse_model leaves a layer whose channels equal nc unscaled; the design scales every width."""
    def check(layer, c):
        if c == model.nc and _ceil8((min(c, model.cap) if model.cap else c) * model.width) != c:
            raise layer.fail(f"its {c} channels equal nc, which Ultralytics leaves unscaled (its Classify rule); "
                             "the design scales every width: change nc or the width")
    for conv in lead:
        check(conv.layer, conv.c)
    for s in stages:
        if s.down:
            check(s.down.layer, s.down.c)
        check(s.layer, s.width)


def _check_arithmetic(cfg: CSPConfig, model: _Model, stages: list):
    """Every stage's channels as Ultralytics computes them must be the design's (else: refused)."""
    from cspnet.families import get_family

    layouts = get_family(cfg.family).validate.__self__.layouts(cfg)   # the family's CrossStageStyle
    ch = layouts[0].in_ch
    for s, lay in zip(stages, layouts):
        L = s.layer
        c1 = model.channels(s.down.c) if s.down else ch
        c2 = model.channels(s.width)
        c = int(c2 * s.e) if L.module != "C2PSA" else int(c1 * s.e)
        if L.module == "C2PSA":
            if c1 != c2:
                raise L.fail(f"its input has {c1} channels and its output {c2}; C2PSA needs them equal "
                             "(Ultralytics asserts c1 == c2)")
            if c // 64 < 1:
                raise L.fail(f"{c} hidden channels give {c // 64} attention heads (c // 64); Ultralytics needs at "
                             "least 64 (raise the width or e)")
            mid = c // 64
        elif s.block == "dark" or (s.block == "bottleneck_3x3" and s.bottle == 1.0):
            mid = c
        else:
            mid = int(c * 0.5)
        want = (c1 if s.down else 0, c, c, mid, c2, model.repeats(s.repeats))
        got = (lay.down_ch, lay.part1, lay.part2, lay.mid, lay.out_ch, lay.repeats)
        if want != got:
            raise L.fail(f"Ultralytics builds it with {c} + {c} hidden channels (int({c2} x e={s.e:g})), "
                         f"bottlenecks of {mid} and {want[5]} repeats; the stage abstraction would build "
                         f"{lay.part1} + {lay.part2}, {lay.mid} and {lay.repeats}: not representable (choose e so "
                         "that c2 x e is a whole even number, e.g. 0.25 or 0.5)")
        ch = c2


def scale_from_filename(path: str) -> str | None:
    """The scale Ultralytics guesses from a YAML's file name (``yolov8s-cls.yaml`` -> ``s``), or None."""
    m = re.search(r"yolo(e-)?[v]?\d+([nslmx])", os.path.splitext(os.path.basename(path))[0])
    return m.group(2) if m else None


def load_yaml(path: str, scale: str | None = None) -> CSPConfig:
    """A YAML file as a design: the scale from the argument, else the file name (as Ultralytics guesses it),
    else the YAML's own; named after the file.  Raises ``ConfigError``."""
    return design_from_yaml(read_bounded(path, MAX_YAML_CHARS, _err), os.fspath(path), scale)


def design_from_yaml(data, filename: str, scale: str | None = None) -> CSPConfig:
    """The YAML text (or bytes) of a file named ``filename`` as a design, as :func:`load_yaml` reads a file
    (the app's uploader and every command open a YAML here): the scale from ``scale``, else the file name,
    else the YAML's own; named ``"<file name> (scale s)"``.  Raises ``ConfigError``."""
    guess = scale_from_filename(filename) if scale is None else None
    cfg = _import(data, scale or guess, None, guessed=scale is None)
    m = re.search(r" scale (\S+)$", cfg.name)
    return cfg.replace(name=os.path.basename(filename)[:50] + (f" (scale {m.group(1)})" if m else ""))


# --------------------------------------------------------------------------- export
def _refuse(message: str) -> ConfigError:
    return ConfigError("format", message)


def _module_of(cfg: CSPConfig, i: int) -> str:
    """The Ultralytics module of stage ``i`` (in the plan's order: a detector's neck stages follow the
    backbone's, with their ``neck_`` fields and the deepest stage's bottle_ratio)."""
    block, taps, res = cfg.stage_value("block_type", i), cfg.stage_value("taps", i), cfg.stage_value("residual", i)
    bottle = cfg.bottle_ratio[min(i, cfg.num_stages - 1)]
    split = cfg.split_convs
    if block == "dark" and taps == "last" and split == "two" and bottle == 1.0:
        return "C3"
    if block == "bottleneck_3x3" and taps == "all" and split == "one" and bottle == 1.0:
        return "C2f"
    if block in ("bottleneck_3x3", "c3k") and taps == "all" and split == "one" and bottle == 0.5 and res:
        return "C3k2"
    if block == "psa" and taps == "last" and split == "one" and res:
        return "C2PSA"
    where = f"stage {i}" if i < cfg.num_stages else f"neck stage {i - cfg.num_stages}"
    raise _refuse(
        f"{where} (block_type {block}, taps {taps}, split_convs {split}, bottle_ratio {bottle:g}, residual "
        f"{str(res).lower()}) is no Ultralytics module; exportable stages: C3 = dark, taps last, split_convs two, "
        "bottle_ratio 1; C2f = bottleneck_3x3, taps all, split_convs one, bottle_ratio 1; C3k2 = bottleneck_3x3 or "
        "c3k, taps all, split_convs one, bottle_ratio 0.5, residual; C2PSA = psa, taps last, split_convs one, "
        "residual")


def _module_row(cfg: CSPConfig, i: int, module: str, w: int, e: float) -> str:
    """``n, Module, [args]`` of stage ``i`` (plan order) of output base width ``w`` and hidden ratio ``e``."""
    n = cfg.stage_value("repeats", i)
    res = cfg.stage_value("residual", i)
    if module == "C3":
        args = [str(w), str(res), "1", _num(e)] if e != 0.5 else [str(w)] + ([] if res else ["False"])
    elif module == "C2f":
        args = [str(w), str(res)] + (["1", _num(e)] if e != 0.5 else [])
    elif module == "C3k2":
        args = [str(w), str(cfg.stage_value("block_type", i) == "c3k")] + ([_num(e)] if e != 0.5 else [])
    else:
        args = [str(w)] + ([_num(e)] if e != 0.5 else [])
    return f"{n}, {module}, [{', '.join(args)}]"


def _check_neck(cfg: CSPConfig) -> None:
    if cfg.neck_fusion != "fusion_first":
        raise _refuse(f"neck_fusion {cfg.neck_fusion}: Ultralytics' neck modules (C3, C2f, C3k2) are fusion first; "
                      "set neck_fusion=fusion_first, or save the design JSON")
    if cfg.neck_split_ratio != 0.5:
        raise _refuse(f"neck_split_ratio {cfg.neck_split_ratio:g}: Ultralytics' blocks split in two equal halves "
                      "(0.5)")


def _neck_rows(cfg: CSPConfig, modules: list, outs: list, first: int) -> list:
    """The ``head:`` rows of a detector: the PAN neck (``cspnet.families._detect``: YOLOv5's reduce convs where
    the family has them) and Detect, with YAML indices from ``first``; ``outs``: the backbone stages' output
    indices (P3, P4: the last stages at strides 8 and 16)."""
    from cspnet.families import get_family

    reduce = get_family(cfg.family).detect.reduce
    rows: list = []

    def add(row: str, note: str) -> int:
        rows.append(f"  - [{row}] # {first + len(rows)} {note}")
        return first + len(rows) - 1

    p3, p4 = per_scale(zip(cumulative(cfg.strides), outs))[-3:-1]   # (the last stage at strides 8 and 16)
    x, kept, tops = outs[-1], [], []
    nb = cfg.num_stages
    for j, lateral in enumerate((p4, p3)):
        w = cfg.neck_widths[j]
        if reduce:
            x = add(f"-1, 1, Conv, [{w}, 1, 1]", f"neck.{j} reduce")
        kept.append(x)
        add('-1, 1, nn.Upsample, [None, 2, "nearest"]', f"neck.{j} up")
        add(f"[-1, {lateral}], 1, Concat, [1]", f"neck.{j} lateral")
        x = add("-1, " + _module_row(cfg, nb + j, modules[nb + j], w, 0.5), f"neck.{j}")
    tops.append(x)
    for j in (2, 3):
        add(f"-1, 1, Conv, [{cfg.neck_widths[j - 1]}, 3, 2]", f"neck.{j} down")
        add(f"[-1, {kept[3 - j]}], 1, Concat, [1]", f"neck.{j} lateral")
        x = add("-1, " + _module_row(cfg, nb + j, modules[nb + j], cfg.neck_widths[j], 0.5), f"neck.{j}")
        tops.append(x)
    add(f"[{', '.join(map(str, tops))}], 1, Detect, [nc]", "Detect (P3, P4, P5)")
    return rows


def _num(v: float) -> str:
    """A float as PyYAML reads it back exactly (YAML 1.1 floats need a dot: 1.0e-05, not 1e-05)."""
    text = repr(float(v))
    if "e" in text:
        mant, exp = text.split("e")
        text = (mant if "." in mant else mant + ".0") + "e" + (exp if exp[0] in "+-" else "+" + exp)
    return text


def _comment(text: str) -> str:
    return re.sub(r"[^\x20-\x7e]", "?", text)[:80]


def yaml_from_config(cfg: CSPConfig) -> str:
    """The design as an Ultralytics model YAML (yolov5, yolov8, yolo11 families; fusion first).

    Raises ``ConfigError`` (field ``"format"``) naming what Ultralytics' modules cannot express.  The
    text is imported back and its plan compared with the design's before it is returned
    (:func:`export_yaml`)."""
    return export_yaml(cfg)[0]


def export_yaml(cfg: CSPConfig) -> tuple:
    """``(text, check)``: the Ultralytics YAML of design ``cfg`` and its
    :class:`explorer.io.check.ExportCheck`: the text imported back (:func:`config_from_yaml`, planned at
    the design's input size) has the design's totals for every op kind, stage by stage, and the same tap
    shapes, with no stated difference (:func:`explorer.io.check.check_export`).  Raises ``ConfigError``."""
    from cspnet.families.lineage import ULTRALYTICS

    if cfg.family == "yolo_yaml":   # an opened detection YAML goes out as itself
        from .check import check_export
        from .yolo_family import own_fusion, planned

        if cfg.fusion == "none" and own_fusion(planned(cfg.network, cfg.input_size)) != "none":
            raise _refuse(f"yolo_yaml design {cfg.name}: fusion none is the file's plain twin, and no module of "
                          "Ultralytics, YOLOv5 or YOLOv7 is a plain stage (C3, C2f, C3k2, ELAN all split their "
                          "input); export the file itself (its own fusion) or save the twin's design JSON")

        text = f"# {cfg.name}: the detection YAML as opened in CSPNet Explorer (explorer.io.yolo_family)\n" + \
            cfg.network
        return text, check_export(cfg, text, "ultralytics")
    if cfg.family == "darknet_cfg":
        raise _refuse(f"darknet_cfg design {cfg.name}: an opened Darknet cfg is made of Darknet sections, not "
                      "Ultralytics modules, so it has no Ultralytics YAML; export it with --format darknet (the cfg "
                      "as opened, with its stage rewrites and input size) or save its design JSON")
    if cfg.family not in EXPORT_FAMILIES:
        raise _refuse(f"the {cfg.family} family has no Ultralytics YAML (its blocks, scaling or head are not "
                      f"Ultralytics modules); Ultralytics YAML export covers {', '.join(EXPORT_FAMILIES)}; export "
                      f"{cfg.family} as a Darknet cfg or a design JSON")
    if cfg.fusion != "fusion_first":
        raise _refuse(f"fusion {cfg.fusion}: Ultralytics' C3, C2f, C3k2 and C2PSA are all fusion first (concat, "
                      "then one transition); none has a partial transition (csp, fusion_last) or drops the split "
                      "(none): set fusion=fusion_first, or export a Darknet cfg")
    if cfg.split_ratio != 0.5:
        raise _refuse(f"split_ratio {cfg.split_ratio:g}: Ultralytics' blocks split in two equal halves (0.5)")
    if cfg.split_convs not in ("one", "two"):
        raise _refuse(f"split_convs {cfg.split_convs}: Ultralytics' blocks chunk one 1x1 conv (C2f, C3k2, C2PSA) "
                      "or use two (C3)")
    if cfg.post_concat != "none":
        raise _refuse(f"post_concat {cfg.post_concat}: no Ultralytics block has anything after its concat")
    if cfg.se_ratio:
        raise _refuse(f"se_ratio {cfg.se_ratio:g}: Ultralytics' blocks have no squeeze-and-excitation")
    stem = _stem_specs().get(cfg.stem_type)
    if stem is None:
        raise _refuse(f"stem_type {cfg.stem_type} is not made of plain convs; exportable stems: "
                      f"{', '.join(_stem_specs())}")
    detector = cfg.is_detector
    if detector:
        _check_neck(cfg)
    n_stages = cfg.num_stages + (NECK_STAGES if detector else 0)
    modules = [_module_of(cfg, i) for i in range(n_stages)]
    has_c3k2_plain = any(m == "C3k2" and cfg.stage_value("block_type", i) == "bottleneck_3x3"
                         for i, m in enumerate(modules))
    # the scale key: the preset's letter where it keeps the design (parse_model forces c3k on at m, l, x)
    m = re.fullmatch(r"yolo(?:v5|v8|11)([nsmlx])(?:_cls|u)?", cfg.name)
    letter = m.group(1) if m else "n"
    if has_c3k2_plain and letter in "mlx":
        letter = "n"
    nc = cfg.num_classes
    explicit_keys = not cfg.max_channels and "C3k2" not in modules
    if explicit_keys:
        scales = None
    else:
        cap = cfg.max_channels or max([64, *cfg.widths, *cfg.down_widths])   # no cap: one that never binds
        scales = (letter, cap)

    def scaled(c):
        return ULTRALYTICS.channels(c, cfg)

    bases = [c for c, *_ in stem] + list(cfg.widths) + [d for d in cfg.down_widths if d] + \
        (list(cfg.neck_widths) if detector else [])
    if nc in bases and scaled(nc) != nc:
        raise _refuse(f"num_classes {nc} equals a base width, which Ultralytics leaves unscaled (its Classify "
                      "rule: a layer whose channels equal nc); change num_classes or that width")
    rows = []
    for c, k, s, p in stem:
        rows.append((f"Conv, [{c}, {k}, {s}" + (f", {p}" if p != k // 2 else "") + "]", "stem"))
    sppf_at = sppf_stage(cfg.strides) if detector else None
    outs = []   # YAML index of each stage's output
    for i, module in enumerate(modules[:cfg.num_stages]):
        w = cfg.widths[i]
        if cfg.strides[i] == 2:
            rows.append((f"Conv, [{cfg.down_widths[i] or w}, 3, 2]", f"stages.{i} down"))
        if sppf_at == (i, "before"):
            rows.append((f"1, SPPF, [{w}, 5]", f"stages.{i} SPPF"))
        rows.append((_module_row(cfg, i, module, w, cfg.expand_ratio[i] / 2), f"stages.{i}"))
        if sppf_at == (i, "after"):
            rows.append((f"1, SPPF, [{w}, 5]", f"stages.{i} SPPF"))
        outs.append(len(rows) - 1)
    lines = [f"# Ultralytics model YAML written by CSPNet Explorer from the design {_comment(cfg.name)!r} "
             f"(family {cfg.family})",
             f"# input size {cfg.input_size} (not part of the format; import reads 224: --set input_size=N)",
             "", f"nc: {nc} # number of classes"]
    if cfg.activation != "silu":
        lines.append(f"activation: {ACTIVATION_TEXT[cfg.activation]}")
    if scales is None:
        lines += [f"depth_multiple: {_num(cfg.depth_multiple)} # model depth multiple",
                  f"width_multiple: {_num(cfg.width_multiple)} # layer channel multiple"]
    else:
        lines += ["scales: # [depth, width, max_channels]",
                  f"  {scales[0]}: [{_num(cfg.depth_multiple)}, {_num(cfg.width_multiple)}, {scales[1]}]"]
    lines += ["", "backbone:", "  # [from, repeats, module, args]"]
    for j, (row, note) in enumerate(rows):
        if row.startswith("Conv"):
            row = "1, " + row
        lines.append(f"  - [-1, {row}] # {j} {note}")
    if detector:
        lines += ["", "head:"] + _neck_rows(cfg, modules, outs, len(rows)) + [""]
    else:
        lines += ["", "head:", f"  - [-1, 1, Classify, [nc]] # {len(rows)}", ""]
    text = "\n".join(lines)
    from .check import check_export

    return text, check_export(cfg, text, "ultralytics")


__all__ = ["SUPPORTED_MODULES", "config_from_yaml", "design_from_yaml", "export_yaml", "load_yaml",
           "scale_from_filename", "yaml_from_config"]
