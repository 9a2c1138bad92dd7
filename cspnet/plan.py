"""The plan of a network, a graph: every layer, what it reads and every tap point's shape, from the config alone.

Every network piece is described once, as a plan built with :class:`PlanBuilder` (``cspnet/families/*.py``):
each layer with its kind, shapes, parameters, per-kind costs, the tensors it reads by reference
(:attr:`Op.reads`) and its group (:attr:`Op.group`).  The counting conventions, the diagram, the roofline,
the writers' checks read it, and the real PyTorch model is generated from it (``cspnet.graph_model``).  The
tests keep hand-written modules (``tests/oracle``) as an independent twin, and check that the plan's graph is
what the built model really computes (``explorer.real.dataflow``).  Pure Python: no torch.

Shapes are ``(C, H, W)`` for batch 1.  Module paths (``Op.path``) are the dotted names of the
built model's modules, so a plan row and a hooked module can be matched by name.
"""
from __future__ import annotations

import threading
from collections import OrderedDict
from dataclasses import dataclass, field
from typing import Iterable

from .families import get_family

Shape = tuple  # (C, H, W)

# Tap points and the stage submodule whose output they are.  ``part1``/``part2`` are the two
# outputs of the stage's ``split`` module; every other tap is the submodule of the same name.
TAP_ORDER = ("input", "reduce", "up", "down", "lateral", "spp", "expand", "part1", "part2", "block",
             "partial_transition", "concat", "post", "transition", "sppf", "output")
TAP_LABELS = {
    "input": "stage input",
    "reduce": "1x1 reduce before upsampling (neck)",
    "up": "upsampled x2 (neck, top-down)",
    "down": "downsampling conv",
    "lateral": "concat with the lateral (neck)",
    "spp": "spatial pyramid pooling",
    "expand": "1x1 expansion",
    "part1": "part 1 (bypass)",
    "part2": "part 2 (through the block)",
    "block": "block output",
    "partial_transition": "partial transition",
    "concat": "concat",
    "post": "after the concat (BN + act or channel attention)",
    "transition": "transition",
    "sppf": "SPPF (detector backbone)",
    "output": "stage output",
}


def tap_module(tap: str) -> tuple[str, int | None]:
    """The stage submodule name whose output is ``tap``, and the index into a tuple output."""
    if tap == "part1":
        return "split", 0
    if tap == "part2":
        return "split", 1
    return tap, None


def stage_part(stage_name: str, path: str) -> str:
    """The stage submodule a layer at ``path`` belongs to (``down``, ``expand``, ``block``,
    ``partial_transition``, ``concat``, ``transition``; the stem's and head's own layer names): the
    first component of its path under ``stage_name``."""
    prefix = stage_name + "."
    rest = path[len(prefix):] if path.startswith(prefix) else path
    return rest.split(".")[0]


def conv_out(size: int, kernel: int, stride: int, padding: int) -> int:
    return (size + 2 * padding - kernel) // stride + 1


def numel(shape: Shape) -> int:
    n = 1
    for d in shape:
        n *= d
    return n


class Tensor(tuple):
    """A planned activation: it *is* its ``(C, H, W)`` shape (so plan code unpacks and compares it as one),
    and it says where it comes from: ``src``, the path of the op that wrote it (``"input"``: the network's
    input), and ``lo``, the first channel it takes of that op's output (a part of a split is a channel
    slice; ``None``: a view that is no one channel slice, e.g. attention's per-head ``v``).

    Every :class:`PlanBuilder` layer method returns one; the layers that read it record
    ``(src, lo, lo + C)`` in :attr:`Op.reads`, which makes the plan a graph (a neck's layer can read
    stage 2 and an upsampled neck output)."""

    src = None
    lo = 0

    def __new__(cls, shape, src, lo=0):
        t = tuple.__new__(cls, shape)
        t.src = src
        if lo != 0:   # (None: a view)
            t.lo = lo
        return t

    def part(self, lo: int, channels: int) -> "Tensor":
        """Channels ``lo .. lo + channels`` of this tensor (a split's part), H and W kept."""
        return Tensor((channels, self[1], self[2]), self.src, None if self.lo is None else self.lo + lo)

    def view(self, shape) -> "Tensor":
        """Another shape read from the same tensor, not one channel slice (attention's q, k, v)."""
        return Tensor(shape, self.src, None)


INPUT = "input"   # the ``src`` of the network's input tensor
_NO_ATTRS: dict = {}   # (shared, never written: Op.attrs is read-only as the rest of an Op)


def read_of(x) -> tuple:
    """``(src, lo, hi)`` of a tensor a layer reads (``src`` None: a plain shape, where nothing was recorded)."""
    src = getattr(x, "src", None)
    lo = getattr(x, "lo", 0)
    return (src, lo, None if lo is None else lo + x[0])


# Per op kind, a stage keeps running totals of these (in this order): everything a counting convention
# needs is linear in them, so counting a stage or a plan costs a few additions per kind, not a pass
# over its ops (explorer.counts.conventions).  ``window_elements`` = kernel^2 x output elements.
TOTALS = ("layers", "params", "macs", "in_elements", "out_elements", "window_elements")


class Op:
    """One layer of the plan (read-only by convention).

    kind: conv | bn | act | linear | maxpool | avgpool | gap | cat | add | mul | mean | matmul | upsample | softmax
    in_shape: the (first) input; for ``cat`` the list of inputs is ``in_shapes``.
    macs: multiply-accumulates (conv, linear and matmul only, bias not counted, as fvcore).
    ``in_elements`` (all inputs) and ``out_elements`` are computed once, here.
    reads: the tensors it reads, by reference: ``(src, lo, hi)`` per input, ``src`` the path of the op that
    wrote it (or ``"input"``), channels ``lo .. hi`` of that op's output (``lo`` None: a view, see
    :class:`Tensor`).  A residual add also reads its shortcut, a gate's product its gate: the graph has
    every edge, while ``in_shape``/``in_shapes`` keep what the counting conventions read.
    group: ``(part, stage, component)``: ``("backbone", "stages.2", "block")``; tables, taps and diagram
    clusters group by it.
    attrs: what running the op needs beyond its kind and shapes, where it is not the default (``{}`` mostly):
    ``padding`` (a conv's or pool's, when not kernel // 2 / 0), ``ceil_mode`` (a pool's), ``act`` (an
    activation other than the network's: sigmoid, hardsigmoid, softmax), ``scale`` (a product by a
    constant), ``attention`` (a matrix product's or conv's view of attention's qkv:
    ``(role, heads, key_dim, head_dim[, area])``), ``phases`` (a concat of a tensor's pixel phases: Focus),
    ``output`` (an output of the network besides the last op's, read by no later op: v10Detect's "one2many").
    ``cspnet.graph_model`` runs a plan from these.
    """

    __slots__ = ("kind", "path", "in_shape", "out_shape", "params", "macs", "kernel", "stride", "groups",
                 "in_shapes", "in_elements", "out_elements", "reads", "group", "attrs")

    def __init__(self, kind: str, path: str, in_shape: Shape, out_shape: Shape, params: int = 0, macs: int = 0,
                 kernel: int = 0, stride: int = 1, groups: int = 1, in_shapes: tuple = (), reads: tuple = (),
                 group: tuple = (), attrs: dict | None = None):
        self.kind, self.path, self.in_shape, self.out_shape = kind, path, in_shape, out_shape
        self.params, self.macs, self.kernel, self.stride, self.groups = params, macs, kernel, stride, groups
        self.in_shapes, self.reads, self.group = in_shapes, reads, group
        self.attrs = attrs or _NO_ATTRS
        c, h, w = out_shape
        self.out_elements = c * h * w
        if in_shapes:
            self.in_elements = sum(x[0] * x[1] * x[2] for x in in_shapes)
        else:
            c, h, w = in_shape
            self.in_elements = c * h * w

    def _key(self) -> tuple:
        return (self.kind, self.path, self.in_shape, self.out_shape, self.params, self.macs, self.kernel,
                self.stride, self.groups, self.in_shapes, self.reads, tuple(sorted(self.attrs.items())))

    def __eq__(self, other) -> bool:
        return isinstance(other, Op) and self._key() == other._key()

    def __hash__(self) -> int:
        return hash(self._key())

    def __repr__(self) -> str:
        return (f"Op({self.kind!r}, {self.path!r}, {self.in_shape}, {self.out_shape}, params={self.params}, "
                f"macs={self.macs})")


def add_to_totals(by_kind: dict, kind: str, params: int, macs: int, in_elements: int, out_elements: int,
                  kernel: int) -> None:
    """Add one layer to per-kind totals (``TOTALS`` order); PlanBuilder and :func:`kind_totals` both
    count through here."""
    t = by_kind.get(kind)
    if t is None:
        t = by_kind[kind] = [0, 0, 0, 0, 0, 0]
    t[0] += 1
    t[1] += params
    t[2] += macs
    t[3] += in_elements
    t[4] += out_elements
    if kernel:
        t[5] += kernel * kernel * out_elements


def kind_totals(ops: Iterable[Op]) -> dict:
    """op kind -> [TOTALS...] of any list of ops."""
    by_kind: dict = {}
    for op in ops:
        add_to_totals(by_kind, op.kind, op.params, op.macs, op.in_elements, op.out_elements, op.kernel)
    return by_kind


def _merge_totals(parts) -> dict:
    out: dict = {}
    for by_kind in parts:
        for kind, t in by_kind.items():
            acc = out.get(kind)
            if acc is None:
                out[kind] = list(t)
            else:
                for i, v in enumerate(t):
                    acc[i] += v
    return out


class _Totals:
    """Totals of a stage or a plan from its per-kind totals (``by_kind``)."""

    def total(self, what: str) -> int:
        i = TOTALS.index(what)
        return sum(t[i] for t in self.by_kind.values())

    @property
    def params(self) -> int:
        return self.total("params")

    @property
    def macs(self) -> int:
        return self.total("macs")


@dataclass
class StagePlan(_Totals):
    """A stem, a stage or the head: its tap-point shapes, its layers and their totals per op kind.

    Planning records each layer as a plain row and keeps the per-kind totals as it goes; the
    :class:`Op` objects are made when ``ops`` is first read (diagrams, block tables, traces), so
    validation, summaries and sweeps, which read only totals and taps, never pay for them.
    """

    name: str                      # "stem", "stages.0", ..., "head"
    kind: str                      # "stem" | "stage" | "head"
    fusion: str = "none"
    taps: dict = field(default_factory=dict)   # tap -> the Tensor there ((C, H, W) and its src), in forward order
    repeats: int = 0
    by_kind: dict = field(default_factory=dict)  # op kind -> [TOTALS...], kept by PlanBuilder
    rows: list = field(default_factory=list, repr=False)  # (prefix, Op arguments...) per layer
    part: str = ""                 # backbone | neck | head ("": by kind: the head is "head", the rest "backbone")
    module: str = ""               # what a file names the stage ("C2f", "ELAN", "Detect": a YAML layer's module or
                                   # block), for its tables and diagram; "" for a design's (its fields say)

    @property
    def part_name(self) -> str:
        return self.part or ("head" if self.kind == "head" else "backbone")

    @property
    def ops(self) -> list:
        made = self.__dict__.get("_ops")
        if made is None or self.__dict__.get("_ops_rows") != len(self.rows):
            made = self.__dict__["_ops"] = [self._op(*row) for row in expand_rows(self.rows)]
            self.__dict__["_ops_rows"] = len(self.rows)
        return made

    def _op(self, pre, kind, path, in_shape, out_shape, params, macs, kernel, stride, groups, in_shapes, also,
            component, attrs) -> Op:
        full = f"{pre}.{path}" if pre else path
        reads = tuple(read_of(x) for x in (in_shapes or (in_shape,)) + also)
        if component is None:
            component = stage_part(self.name, full)
        return Op(kind, full, in_shape, out_shape, params, macs, kernel, stride, groups, in_shapes, reads,
                  (self.part_name, self.name, component), attrs)

    @property
    def output_shape(self) -> Shape:
        return self.taps["output"]


class _Deferred:
    """Layers recorded later: ``record(b)`` replays them on a builder when a stage's ops are read (their
    per-kind totals were added in closed form when they were planned: :meth:`PlanBuilder.deferred`)."""

    __slots__ = ("record", "prefix")

    def __init__(self, record, prefix):
        self.record, self.prefix = record, prefix


def expand_rows(rows):
    """A stage's recorded rows with every deferred group (:meth:`PlanBuilder.deferred`) recorded in place: the
    rows one per layer, as :attr:`StagePlan.ops` reads them (a planner renaming stages copies these)."""
    for row in rows:
        if isinstance(row, _Deferred):
            b = PlanBuilder("", "", prefix=row.prefix)
            row.record(b)
            yield from expand_rows(b.stage.rows)
        else:
            yield row


@dataclass
class NetPlan(_Totals):
    input_shape: Shape
    stages: list                   # [stem, stages.0 ..., head]

    @property
    def by_kind(self) -> dict:
        """op kind -> [TOTALS...] over the whole network (computed once)."""
        merged = self.__dict__.get("_by_kind")
        if merged is None:
            merged = self.__dict__["_by_kind"] = _merge_totals(s.by_kind for s in self.stages)
        return merged

    @property
    def ops(self) -> Iterable[Op]:
        for s in self.stages:
            yield from s.ops

    @property
    def activation_elements(self) -> int:
        """Elements written by every layer in one forward pass at batch 1."""
        return self.total("out_elements")

    @property
    def output_shape(self) -> Shape:
        return self.stages[-1].output_shape

    @property
    def has_detection_head(self) -> bool:
        """Whether the network is a detector: its head reads output scales (taps ``p0``, ``p1``, ...), whichever
        planner made it (a ``task=detect`` design, a detection YAML, a Darknet detector cfg)."""
        return bool(self.stages) and "p0" in self.stages[-1].taps

    def stage(self, name: str) -> StagePlan:
        for s in self.stages:
            if s.name == name:
                return s
        raise KeyError(name)

    @property
    def producers(self) -> dict:
        """op path -> the :class:`Op` that writes it (``"input"`` is no op), computed once."""
        made = self.__dict__.get("_producers")
        if made is None:
            made = self.__dict__["_producers"] = {op.path: op for op in self.ops}
        return made

    def source_shape(self, src: str) -> Shape:
        """The (C, H, W) written by op ``src`` (``"input"``: the network's input)."""
        return self.input_shape if src == INPUT else self.producers[src].out_shape

    def read_shape(self, read: tuple) -> Shape:
        """The (C, H, W) one edge ``(src, lo, hi)`` of :attr:`Op.reads` carries: the channels read of the
        source's H x W (a view: the whole source)."""
        src, lo, hi = read
        c, h, w = self.source_shape(src)
        return (c if lo is None else hi - lo, h, w)

    def read_elements(self, read: tuple) -> int:
        """Elements of one edge at batch 1 (:meth:`read_shape`)."""
        return numel(self.read_shape(read))


class PlanBuilder:
    """Records layers for one StagePlan, mirroring how a family builds its modules.

    Each method takes the input shape and returns the output shape, so plan code reads like the
    forward pass: ``s = b.conv("conv1", s, 64, 1)``.
    """

    def __init__(self, name: str, kind: str, fusion: str = "none", prefix: str | None = None, part: str = ""):
        self.stage = StagePlan(name=name, kind=kind, fusion=fusion, part=part)
        self.prefix = name if prefix is None else prefix
        self._record = self.stage.rows.append    # planning is a hot loop (sweeps plan 1,000s of designs)
        self._by_kind = self.stage.by_kind
        self.component = None   # the group component of the layers recorded next (None: from their path)

    def _add(self, kind: str, path: str, in_shape: Shape, out_shape: Shape, params: int = 0, macs: int = 0,
             kernel: int = 0, stride: int = 1, groups: int = 1, in_shapes: tuple = (), in_elements: int = 0,
             also: tuple = (), attrs: dict | None = None) -> Tensor:
        """Record one layer (an :class:`Op`'s arguments and what it reads: ``in_shape`` or ``in_shapes``,
        plus ``also``, tensors it reads that no counting convention counts, e.g. a residual's shortcut) and add
        it to the per-kind totals.  Returns its output as a :class:`Tensor` written by this layer."""
        self._record((self.prefix, kind, path, in_shape, out_shape, params, macs, kernel, stride, groups,
                      in_shapes, also, self.component, attrs))
        c, h, w = out_shape
        if not in_elements:
            ci, hi, wi = in_shape
            in_elements = ci * hi * wi
        add_to_totals(self._by_kind, kind, params, macs, in_elements, c * h * w, kernel)
        return Tensor(out_shape, f"{self.prefix}.{path}" if self.prefix else path)

    def deferred(self, record, by_kind: dict, out_shape: Shape, out_path: str) -> Tensor:
        """Layers whose per-kind totals are known in closed form (``by_kind``, TOTALS order): the totals are
        added now, and the layers themselves are recorded by ``record(builder)`` only when the stage's
        ``ops`` are read.  A sweep over 1,000 DenseNets then plans each dense block in a few additions
        instead of recording its hundreds of layers (``cspnet.families.densenet.plan_block``; a test
        checks the closed form against ``record``)."""
        self._record(_Deferred(record, self.prefix))
        for kind, t in by_kind.items():
            acc = self._by_kind.get(kind)
            if acc is None:
                self._by_kind[kind] = list(t)
            else:
                for i, v in enumerate(t):
                    acc[i] += v
        return Tensor(out_shape, f"{self.prefix}.{out_path}" if self.prefix else out_path)

    def tap(self, name: str, shape: Shape) -> Shape:
        """Record a tap point: the :class:`Tensor` there (a plain shape at the network's ``input`` tap is the
        input tensor).  Returns it, so a stage's ``output`` tap hands the next stage its input."""
        if type(shape) is not Tensor:
            shape = Tensor(shape, INPUT if name == "input" else None)
        self.stage.taps[name] = shape
        return shape

    def conv(self, path, s: Shape, out_ch: int, kernel: int, stride: int = 1, padding: int | None = None,
             groups: int = 1, bias: bool = False, attrs: dict | None = None) -> Shape:
        c, h, w = s
        if padding is None:
            padding = kernel // 2
        ho = (h + 2 * padding - kernel) // stride + 1   # conv_out, inlined
        wo = (w + 2 * padding - kernel) // stride + 1
        weight = out_ch * (c // groups) * kernel * kernel
        params = weight + (out_ch if bias else 0)
        macs = weight * max(ho, 0) * max(wo, 0)
        if padding != kernel // 2:
            attrs = {**(attrs or {}), "padding": padding}
        return self._add("conv", path, s, (out_ch, ho, wo), params, macs, kernel, stride, groups, attrs=attrs)

    def bn(self, path, s: Shape) -> Shape:
        c, h, w = s
        return self._add("bn", path, s, (c, h, w), 2 * c, 0, 0, 1, 1, (), c * h * w)

    def act(self, path, s: Shape, kind: str | None = None, out_shape: Shape | None = None,
            attrs: dict | None = None) -> Shape:
        """An activation: the network's own (``cfg.activation``), or ``kind`` (sigmoid, hardsigmoid, softmax).
        ``out_shape``: the same elements in another layout, as ``attrs`` say (DFL's softmax over its bins:
        ``{"dfl": 16}``)."""
        c, h, w = s
        if kind:
            attrs = {**(attrs or {}), "act": kind}
        return self._add("act", path, s, tuple(out_shape or s), 0, 0, 0, 1, 1, (), c * h * w, attrs=attrs)

    def conv_bn_act(self, path, s: Shape, out_ch: int, kernel: int, stride: int = 1, groups: int = 1,
                    act: bool = True, names=("conv", "bn", "act"), padding: int | None = None,
                    attrs: dict | None = None) -> Shape:
        """Conv (no bias) -> BN -> activation, the ConvNormAct unit of timm-style stages."""
        s = self.conv(f"{path}.{names[0]}", s, out_ch, kernel, stride, padding=padding, groups=groups, attrs=attrs)
        s = self.bn(f"{path}.{names[1]}", s)
        if act:
            s = self.act(f"{path}.{names[2]}", s)
        return s

    def pool(self, path, s: Shape, kind: str, kernel: int, stride: int, padding: int = 0,
             ceil_mode: bool = False) -> Shape:
        c, h, w = s
        if ceil_mode:
            ho = -(-(h + 2 * padding - kernel) // stride) + 1
            wo = -(-(w + 2 * padding - kernel) // stride) + 1
        else:
            ho, wo = conv_out(h, kernel, stride, padding), conv_out(w, kernel, stride, padding)
        attrs = {"padding": padding, "ceil_mode": ceil_mode} if padding or ceil_mode else None
        return self._add(kind, path, s, (c, ho, wo), kernel=kernel, stride=stride, attrs=attrs)

    def maxpool(self, path, s, kernel, stride, padding=0, ceil_mode=False):
        return self.pool(path, s, "maxpool", kernel, stride, padding, ceil_mode)

    def avgpool(self, path, s, kernel, stride, padding=0):
        return self.pool(path, s, "avgpool", kernel, stride, padding)

    def gap(self, path, s: Shape) -> Shape:
        return self._add("gap", path, s, (s[0], 1, 1))

    def linear(self, path, s: Shape, out_features: int, bias: bool = True) -> Shape:
        c = numel(s)
        params = c * out_features + (out_features if bias else 0)
        return self._add("linear", path, s, (out_features, 1, 1), params, c * out_features)

    def cat(self, path, shapes: list, attrs: dict | None = None) -> Shape:
        """Concatenation along the channels; ``attrs``: what else running it needs (``{"phases": 2}``: the
        inputs are views of one tensor, its 2 x 2 pixel phases, as YOLOv5's Focus takes them)."""
        shapes = tuple(shapes)   # of (C, H, W) tuples
        chans = [x[0] for x in shapes]
        if min(chans) <= 0:  # an empty part (e.g. part 1 at split ratio 1.0) is not concatenated
            shapes = tuple(x for x in shapes if x[0] > 0)
            chans = [x[0] for x in shapes]
            if len(shapes) == 1:   # nothing to concatenate: the module passes its one part on (no copy)
                return shapes[0]
        _, h, w = shapes[0]
        c = sum(chans)
        return self._add("cat", path, shapes[0], (c, h, w), in_shapes=shapes, in_elements=c * h * w, attrs=attrs)

    def cat_dim(self, path, shapes, out_shape: Shape, dim: int) -> Shape:
        """A concatenation along ``dim`` of (C, H, W) (1: channels, as :meth:`cat`; 2: Detect's anchors)."""
        shapes = tuple(shapes)
        return self._add("cat", path, shapes[0], tuple(out_shape), in_shapes=shapes, in_elements=numel(out_shape),
                         attrs={"dim": dim})

    def add(self, path, s: Shape, *others: Shape, params: int = 0) -> Shape:
        """``s`` plus ``others`` elementwise (a residual: ``others`` is the shortcut; as fvcore, only ``s``
        counts as the op's input); ``params``: a learned tensor added (YOLOR's ImplicitA, one per channel)."""
        return self._add("add", path, s, tuple(s), params, also=others)

    def layer(self, kind: str, path, s: Shape, out_shape: Shape, kernel: int = 0, stride: int = 1,
              also: tuple = ()) -> Shape:
        """Any parameter-free layer given its output shape (an imported network's pooling with Darknet's
        uneven padding, upsampling, softmax)."""
        return self._add(kind, path, s, tuple(out_shape), kernel=kernel, stride=stride, also=also)

    def mul(self, path, s: Shape, *gate: Shape, scale: float | None = None, params: int = 0) -> Shape:
        """Elementwise scaling by a broadcast ``gate`` (SE, channel attention), by a constant ``scale``
        (attention's 1 / sqrt(key_dim)) or by a learned tensor of ``params`` (YOLOR's ImplicitM)."""
        return self._add("mul", path, s, tuple(s), params, also=gate,
                         attrs=None if scale is None else {"scale": scale})

    def mean(self, path, s: Shape) -> Shape:
        """Mean over H and W (``x.mean((2, 3), keepdim=True)``, timm's SE squeeze)."""
        return self._add("mean", path, s, (s[0], 1, 1))

    def matmul(self, path, s: Shape, out_shape: Shape, macs: int, in_shapes: tuple = (), also: tuple = (),
               attrs: dict | None = None) -> Shape:
        """A batched matrix product of activations (attention), with its multiply-accumulates."""
        in_elements = sum(x[0] * x[1] * x[2] for x in in_shapes) if in_shapes else 0
        return self._add("matmul", path, s, tuple(out_shape), 0, macs, in_shapes=tuple(in_shapes),
                         in_elements=in_elements, also=also, attrs=attrs)


# Memoized plans: one plan per design (and input size), whoever asks for it.  A config plans itself
# once when it is constructed (validation reads the plan), and every later caller (analysis, twin
# comparison, sweeps, diagrams, the app's caches rebuilding a config from its key) gets the same
# object.  Plans are read-only by convention.  Bounded; thread-safe (the app's sessions are threads).
MAX_MEMO_PLANS = 256
_MEMO: OrderedDict = OrderedDict()
_MEMO_LOCK = threading.Lock()


def plan_network(cfg, input_size: int | None = None, memo: bool = True) -> NetPlan:
    """The analytic plan of ``cfg`` (optionally at another input size).

    ``memo=False`` plans without reading or filling the memo (e.g. a search over input sizes).
    """
    size = cfg.input_size if input_size is None else input_size
    key = (cfg.plan_key(), size) if memo else None
    if key is not None:
        with _MEMO_LOCK:
            hit = _MEMO.get(key)
            if hit is not None:
                _MEMO.move_to_end(key)
                return hit
    plan = NetPlan(input_shape=(3, size, size), stages=get_family(cfg.family).plan(cfg, size))
    if key is not None:
        with _MEMO_LOCK:
            _MEMO[key] = plan
            while len(_MEMO) > MAX_MEMO_PLANS:
                _MEMO.popitem(last=False)
    return plan


def clear_plan_memo() -> None:
    with _MEMO_LOCK:
        _MEMO.clear()


def graph_problems(plan: NetPlan) -> list:
    """What is wrong with ``plan`` as a dataflow graph (empty: nothing).  Checked: every op path is unique;
    every read names the network input or an op recorded before it, within that op's output channels;
    every op but the last is read by a later op (a layer nobody reads is an edge the plan
    forgot: a shortcut, a gate), or is an output the head taps (a Darknet detector's ``p0``, ``p1`` ...: each
    [yolo] layer's output is one of the network's outputs), or says it is one (``Op.attrs["output"]``)."""
    out_of: dict = {INPUT: plan.input_shape}
    read_by: set = set()
    problems = []
    ops = list(plan.ops)
    for op in ops:
        for src, lo, hi in op.reads:
            if src not in out_of:
                problems.append(f"{op.path} reads {src!r}, which is no earlier op nor the input")
                continue
            read_by.add(src)
            c, h, w = out_of[src]
            if lo is not None and not (0 <= lo < hi <= c):
                problems.append(f"{op.path} reads channels {lo}..{hi} of {src}, which has {c}")
        if op.path in out_of:
            problems.append(f"{op.path} is recorded twice")
        out_of[op.path] = tuple(op.out_shape)
    head = plan.stages[-1].taps if plan.stages else {}
    outputs = {t.src for name, t in head.items() if name[:1] == "p" and name[1:].isdigit() and
               getattr(t, "src", None) is not None}
    problems += [f"{op.path} ({op.kind}) is read by no later op" for op in ops[:-1]
                 if op.path not in read_by and op.path not in outputs and "output" not in op.attrs]
    return problems
