"""The analytic plan of a network: every layer and every tap point's shape, from the config alone.

A family module describes its network twice, side by side: once as ``nn.Module`` classes (what
runs) and once as a plan built with :class:`PlanBuilder` (what the analytic counter reads).  Tests
check that the two agree on every shape, parameter and multiply-add.

Shapes are ``(C, H, W)`` for batch 1.  Module paths (``Op.path``) are the dotted names of the
built model's modules, so a plan row and a hooked module can be matched by name.
"""
from __future__ import annotations

import threading
from collections import OrderedDict
from dataclasses import dataclass, field
from typing import Iterable

Shape = tuple  # (C, H, W)

# Tap points and the stage submodule whose output they are.  ``part1``/``part2`` are the two
# outputs of the stage's ``split`` module; every other tap is the submodule of the same name.
TAP_ORDER = ("input", "down", "expand", "part1", "part2", "block", "partial_transition", "concat",
             "transition", "output")
TAP_LABELS = {
    "input": "stage input",
    "down": "downsampling conv",
    "expand": "1x1 expansion",
    "part1": "part 1 (bypass)",
    "part2": "part 2 (through the block)",
    "block": "block output",
    "partial_transition": "partial transition",
    "concat": "concat",
    "transition": "transition",
    "output": "stage output",
}


def tap_module(tap: str) -> tuple[str, int | None]:
    """The stage submodule name whose output is ``tap``, and the index into a tuple output."""
    if tap == "part1":
        return "split", 0
    if tap == "part2":
        return "split", 1
    return tap, None


def conv_out(size: int, kernel: int, stride: int, padding: int) -> int:
    return (size + 2 * padding - kernel) // stride + 1


def numel(shape: Shape) -> int:
    n = 1
    for d in shape:
        n *= d
    return n


@dataclass(frozen=True)
class Op:
    """One layer of the plan.

    kind: conv | bn | act | linear | maxpool | avgpool | gap | cat | add
    in_shape: the (first) input; for ``cat`` the list of inputs is ``in_shapes``.
    macs: multiply-accumulates (conv and linear only, bias not counted, as fvcore).
    """

    kind: str
    path: str
    in_shape: Shape
    out_shape: Shape
    params: int = 0
    macs: int = 0
    kernel: int = 0
    stride: int = 1
    groups: int = 1
    in_shapes: tuple = ()

    @property
    def in_elements(self) -> int:
        if self.in_shapes:
            return sum(numel(s) for s in self.in_shapes)
        return numel(self.in_shape)

    @property
    def out_elements(self) -> int:
        return numel(self.out_shape)


@dataclass
class StagePlan:
    """A stem, a stage or the head: its tap-point shapes and its layers."""

    name: str                      # "stem", "stages.0", ..., "head"
    kind: str                      # "stem" | "stage" | "head"
    fusion: str = "none"
    taps: dict = field(default_factory=dict)   # tap -> (C, H, W), in forward order
    ops: list = field(default_factory=list)
    repeats: int = 0

    @property
    def params(self) -> int:
        return sum(o.params for o in self.ops)

    @property
    def macs(self) -> int:
        return sum(o.macs for o in self.ops)

    @property
    def output_shape(self) -> Shape:
        return self.taps["output"]


@dataclass
class NetPlan:
    input_shape: Shape
    stages: list                   # [stem, stages.0 ..., head]

    @property
    def params(self) -> int:
        return sum(s.params for s in self.stages)

    @property
    def macs(self) -> int:
        return sum(s.macs for s in self.stages)

    @property
    def ops(self) -> Iterable[Op]:
        for s in self.stages:
            yield from s.ops

    @property
    def activation_elements(self) -> int:
        """Elements written by every layer in one forward pass at batch 1."""
        return sum(o.out_elements for o in self.ops)

    @property
    def output_shape(self) -> Shape:
        return self.stages[-1].output_shape

    def stage(self, name: str) -> StagePlan:
        for s in self.stages:
            if s.name == name:
                return s
        raise KeyError(name)


class PlanBuilder:
    """Records layers for one StagePlan, mirroring how a family builds its modules.

    Each method takes the input shape and returns the output shape, so plan code reads like the
    forward pass: ``s = b.conv("conv1", s, 64, 1)``.
    """

    def __init__(self, name: str, kind: str, fusion: str = "none", prefix: str | None = None):
        self.stage = StagePlan(name=name, kind=kind, fusion=fusion)
        self.prefix = name if prefix is None else prefix

    def _path(self, path: str) -> str:
        return f"{self.prefix}.{path}" if self.prefix else path

    def _add(self, op: Op) -> Shape:
        self.stage.ops.append(op)
        return op.out_shape

    def tap(self, name: str, shape: Shape) -> Shape:
        self.stage.taps[name] = tuple(shape)
        return shape

    def conv(self, path, s: Shape, out_ch: int, kernel: int, stride: int = 1, padding: int | None = None,
             groups: int = 1, bias: bool = False) -> Shape:
        c, h, w = s
        if padding is None:
            padding = kernel // 2
        ho, wo = conv_out(h, kernel, stride, padding), conv_out(w, kernel, stride, padding)
        weight = out_ch * (c // groups) * kernel * kernel
        params = weight + (out_ch if bias else 0)
        macs = weight * max(ho, 0) * max(wo, 0)
        return self._add(Op("conv", self._path(path), tuple(s), (out_ch, ho, wo), params, macs,
                            kernel, stride, groups))

    def bn(self, path, s: Shape) -> Shape:
        return self._add(Op("bn", self._path(path), tuple(s), tuple(s), 2 * s[0]))

    def act(self, path, s: Shape) -> Shape:
        return self._add(Op("act", self._path(path), tuple(s), tuple(s)))

    def conv_bn_act(self, path, s: Shape, out_ch: int, kernel: int, stride: int = 1, groups: int = 1,
                    act: bool = True, names=("conv", "bn", "act"), padding: int | None = None) -> Shape:
        """Conv (no bias) -> BN -> activation, the ConvNormAct unit of timm-style stages."""
        s = self.conv(f"{path}.{names[0]}", s, out_ch, kernel, stride, padding=padding, groups=groups)
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
        return self._add(Op(kind, self._path(path), tuple(s), (c, ho, wo), kernel=kernel, stride=stride))

    def maxpool(self, path, s, kernel, stride, padding=0, ceil_mode=False):
        return self.pool(path, s, "maxpool", kernel, stride, padding, ceil_mode)

    def avgpool(self, path, s, kernel, stride, padding=0):
        return self.pool(path, s, "avgpool", kernel, stride, padding)

    def gap(self, path, s: Shape) -> Shape:
        return self._add(Op("gap", self._path(path), tuple(s), (s[0], 1, 1)))

    def linear(self, path, s: Shape, out_features: int, bias: bool = True) -> Shape:
        c = numel(s)
        params = c * out_features + (out_features if bias else 0)
        return self._add(Op("linear", self._path(path), tuple(s), (out_features, 1, 1), params,
                            c * out_features))

    def cat(self, path, shapes: list) -> Shape:
        shapes = [tuple(x) for x in shapes if x[0] > 0]
        c = sum(x[0] for x in shapes)
        out = (c, shapes[0][1], shapes[0][2])
        return self._add(Op("cat", self._path(path), shapes[0], out, in_shapes=tuple(shapes)))

    def add(self, path, s: Shape) -> Shape:
        return self._add(Op("add", self._path(path), tuple(s), tuple(s)))


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
    from .families import get_family

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
