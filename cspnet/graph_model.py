"""A network that runs its plan's graph: modules generated from the plan, not written a second time.

:class:`GraphModel` takes a :class:`cspnet.plan.NetPlan` and makes one module per layer that has weights (a
conv, a BatchNorm, a linear), registered under the layer's path, so its parameter names are the plan's op
paths (``stages.1.block.0.conv1.conv.weight``: the same names as the hand-written modules it replaced, kept in
``tests/oracle`` as the tests' independent twin).
Its forward pass runs the plan's ops in order, each on the tensors its ``Op.reads`` name (a split's part is a
channel slice of the tensor that was split), and frees each tensor after its last reader.  What an op needs
beyond its kind and shapes is in ``Op.attrs`` (a padding, an activation other than the network's, attention's
view of its qkv tensor); the network's activation is the design's ``activation`` field.

``tests/test_graph_model.py`` loads the hand-written model's weights into the graph model (same names and
shapes) and checks that both compute the same outputs, on every preset and on random designs.  Imports torch.
"""
from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from .plan import INPUT, NetPlan, read_of

_ACTS = {
    "relu": F.relu, "leaky_relu": F.leaky_relu, "leaky_relu_0.1": lambda x: F.leaky_relu(x, 0.1),   # (YOLOv7-tiny's)
    "silu": F.silu, "mish": F.mish, "sigmoid": torch.sigmoid,
    "hardsigmoid": F.hardsigmoid, "softmax": lambda x: x.softmax(dim=-1), "hardswish": F.hardswish,
    "relu6": F.relu6,
}


def _numel(shape) -> int:
    n = 1
    for d in shape:
        n *= d
    return n


def _register(root: nn.Module, path: str, mod: nn.Module) -> None:
    """Register ``mod`` under the dotted ``path`` below ``root``, making plain containers on the way."""
    parent = root
    *parents, name = path.split(".")
    for part in parents:
        child = parent._modules.get(part)
        if child is None:
            child = nn.Module()
            parent.add_module(part, child)
        parent = child
    parent.add_module(name, mod)


def _module_for(op, bn: tuple | None = None) -> nn.Module | None:
    """The weights of one layer (None: a layer without any); ``bn``: the BatchNorms' (eps, momentum), None for
    PyTorch's."""
    if op.kind == "conv":
        cin, cout, k = op.in_shape[0], op.out_shape[0], op.kernel
        weight = cout * (cin // op.groups) * k * k
        padding = op.attrs.get("padding", k // 2)
        conv = nn.Conv2d(cin, cout, k, op.stride, padding, groups=op.groups, bias=op.params > weight)
        if op.attrs.get("frozen") == "arange":   # DFL's projection: the bins' indices 0..n-1, never trained
            conv.requires_grad_(False)
            if conv.weight.device.type != "meta":
                conv.weight.data[:] = torch.arange(cin, dtype=conv.weight.dtype).view(1, cin, 1, 1)
        return conv
    if op.kind == "bn":
        return nn.BatchNorm2d(op.out_shape[0]) if bn is None else \
            nn.BatchNorm2d(op.out_shape[0], eps=bn[0], momentum=bn[1])
    if op.kind == "linear":
        cin, cout = _numel(op.in_shape), op.out_shape[0]
        return nn.Linear(cin, cout, bias=op.params > cin * cout)
    if op.kind in ("add", "mul") and op.params:   # a learned per-channel tensor (YOLOR's ImplicitA / ImplicitM)
        return Learned(op.params, 1.0 if op.kind == "mul" else 0.0)
    return None


class Learned(nn.Module):
    """A learned per-channel tensor ``implicit`` (1, C, 1, 1) that an ``add`` adds to, or a ``mul`` multiplies,
    what it reads (YOLOR's ImplicitA / ImplicitM in YOLOv7's IDetect: the plan's add / mul with ``params``
    C); it starts as the op's identity (0 added, 1 multiplied)."""

    def __init__(self, channels: int, start: float):
        super().__init__()
        self.implicit = nn.Parameter(torch.full((1, channels, 1, 1), start))


class _PlanRunner(nn.Module):
    """What running a plan's ops takes, for a whole plan (:class:`GraphModel`) or one part (:class:`GraphPart`):
    the weights of ``ops`` registered under their paths (less ``prefix``), and each op run on what it reads."""

    def __init__(self, ops: list, act: str, prefix: str = "", taps: tuple = (), bn: tuple | None = None):
        super().__init__()
        if act not in _ACTS:
            raise ValueError(f"unknown activation {act!r}; allowed: {', '.join(_ACTS)}")
        for name in taps:   # tap modules first: a stage's children, in forward order
            self.add_module(name, Tap())
        self.act = act
        self.ops = ops
        # per op, per read: the shape a view is read as (None: the tensor as written; see _read_views)
        self._views = [_read_views(op) for op in ops]
        self._mods: dict = {}
        for op in ops:
            mod = _module_for(op, bn)
            if mod is not None:
                _register(self, op.path[len(prefix):] if prefix and op.path.startswith(prefix) else op.path, mod)
                self._mods[op.path] = mod

    def _drops(self, keep: set = frozenset()) -> list:
        """Per op, the tensors no later op reads, dropped once it has run (a DenseNet keeps only what later
        layers read); ``keep``: tensors kept anyway."""
        last: dict = {}
        for i, op in enumerate(self.ops):
            for src, _, _ in op.reads:
                last[src] = i
        drops = [[] for _ in self.ops]
        for src, i in last.items():
            if src not in keep:
                drops[i].append(src)
        return drops

    def _run_ops(self, env: dict, after=None):
        """Run every op on what it reads from ``env`` (filled as it goes); ``after(i)`` once op ``i`` has run."""
        y = None
        for i, op in enumerate(self.ops):
            xs = [_read(env, r) for r in op.reads]
            views = self._views[i]
            if views is not None:
                xs = [x if v is None else x.reshape(x.shape[0], v[0], -1, v[2]) for x, v in zip(xs, views)]
            y = env[op.path] = self._run(op, xs)
            if after is not None:
                after(i)
            for src in self._drop[i]:
                env.pop(src, None)
        return y

    def _run(self, op, xs: list):
        kind, a = op.kind, op.attrs
        if kind in ("conv", "bn"):
            x = xs[0]
            if "attention" in a:   # attention's positional conv reads v out of qkv
                x = _qkv(x, a["attention"])[2].reshape(x.shape[0], op.in_shape[0], *x.shape[2:])
            return self._mods[op.path](x)
        if kind == "linear":
            return self._mods[op.path](torch.flatten(xs[0], 1))
        if kind == "act":
            if "dfl" in a:   # DFL: (4 x bins, anchors) -> (bins, 4, anchors), softmax over the bins
                x = xs[0]
                return x.reshape(x.shape[0], -1, a["dfl"], x.shape[2]).transpose(2, 1).softmax(1)
            return _ACTS[a.get("act", self.act)](xs[0])
        if kind in ("add", "mul") and op.path in self._mods:   # a learned tensor (Learned)
            learned = self._mods[op.path].implicit
            return xs[0] + learned if kind == "add" else xs[0] * learned
        if kind == "add":
            y = xs[0]
            for other in xs[1:]:
                y = y + other
            return y
        if kind == "mul":
            return xs[0] * a["scale"] if "scale" in a else xs[0] * xs[1]
        if kind == "cat":
            if "phases" in a:   # space to depth (YOLOv5's Focus): the k x k pixel phases of one tensor
                k, x = a["phases"], xs[0]
                return torch.cat([x[..., i::k, j::k] for j in range(k) for i in range(k)], dim=1)
            return torch.cat(xs, dim=a.get("dim", 1))
        if kind == "upsample":
            return F.interpolate(xs[0], scale_factor=op.out_shape[1] // op.in_shape[1], mode="nearest")
        if kind == "maxpool":
            return F.max_pool2d(xs[0], op.kernel, op.stride, a.get("padding", 0), ceil_mode=a.get("ceil_mode", False))
        if kind == "avgpool":
            return F.avg_pool2d(xs[0], op.kernel, op.stride, a.get("padding", 0), ceil_mode=a.get("ceil_mode", False))
        if kind == "gap":
            return F.adaptive_avg_pool2d(xs[0], 1)
        if kind == "mean":
            return xs[0].mean((2, 3), keepdim=True)
        if kind == "matmul":
            dims = a["attention"]
            area = dims[4] if len(dims) > 4 else 1
            if dims[0] == "qk":
                q, k, _ = _qkv(xs[0], dims)
                return _areas(q, area).transpose(-2, -1) @ _areas(k, area)
            _, _, v = _qkv(xs[1], dims)
            y = _areas(v, area) @ xs[0].transpose(-2, -1)   # (batch x area, heads, head_dim, HW / area)
            if area > 1:   # the areas' runs back in row-major order
                y = y.view(-1, area, *y.shape[1:]).permute(0, 2, 3, 1, 4)
            return y.reshape(xs[1].shape[0], op.out_shape[0], *xs[1].shape[2:])
        raise ValueError(f"{op.path}: no way to run a {kind!r} layer here")


def _read_views(op):
    """Per read of ``op``, the (C, H, W) it reads a view as (a view: ``lo`` None, e.g. Detect's per-scale map read
    as (outputs, H x W, 1)), None for a plain read; None for the whole op where no read is a view (or where the
    op reads attention's qkv or a tensor's pixel phases, whose views it makes itself)."""
    if "attention" in op.attrs or "phases" in op.attrs or all(lo is not None for _, lo, _ in op.reads):
        return None
    shapes = op.in_shapes or (op.in_shape,)
    return [tuple(shapes[k]) if lo is None and k < len(shapes) else None for k, (_, lo, _) in enumerate(op.reads)]


def _read(env: dict, read: tuple):
    """The tensor one edge ``(src, lo, hi)`` names: ``src``'s output, or its channels ``lo .. hi``."""
    src, lo, hi = read
    t = env[src]
    if lo is None or (lo == 0 and hi == t.shape[1]):
        return t
    return t[:, lo:hi]


class GraphModel(_PlanRunner):
    """Runs ``plan``'s layers in order on the tensors each reads; ``act`` is the network's activation."""

    def __init__(self, plan: NetPlan, act: str = "relu", bn: tuple | None = None):
        super().__init__(list(plan.ops), act, bn=bn)
        self._drop = self._drops()

    def forward(self, x):
        return self._run_ops({INPUT: x})


class Tap(nn.Module):
    """A tap point of a stage (``cspnet.plan.TAP_ORDER``): called on the tensor there (``split``: on the pair
    (part 1, part 2)) so forward hooks see it; returns it.  It also holds the weights of the layers of its
    component (``expand.conv``, ``block.0...``), so the parameter names are the plan's op paths."""

    def forward(self, x):
        return x


class GraphPart(_PlanRunner):
    """The stem, one stage or the head of a design, run from its plan (:class:`cspnet.plan.StagePlan`): the
    part's layers in order, on the part's input and what its own layers wrote, its taps called as they are
    reached (their hooks see the plan's tap tensors)."""

    def __init__(self, sp, act: str, exports: tuple = (), bn: tuple | None = None):
        prefix = sp.name + "."
        tap_names = () if sp.kind != "stage" else tuple(dict.fromkeys(
            "split" if tap in ("part1", "part2") else tap for tap in sp.taps if tap not in ("input", "output")))
        ops = list(sp.ops)
        super().__init__(ops, act, prefix, tap_names, bn)
        own = {op.path for op in ops}
        outside = [t.src for t in sp.taps.values() if t.src not in own] + \
            [src for op in ops for src, _, _ in op.reads if src not in own]
        # what it reads from outside, in order (a chain's stage: its input; a neck stage: its input and its
        # lateral; a detector's head: the output scales), and what later parts read of it (its output first)
        self.inputs = tuple(dict.fromkeys(outside))
        self.exports = (sp.taps["output"].src,) + tuple(e for e in exports if e != sp.taps["output"].src)
        # when each tap is called: after the op that writes its tensor (part 1 and part 2 together); a tap that
        # is a layer's own module (BottleneckCSP's bare partial transition conv) is seen when that layer runs
        own_modules = {p[len(prefix):] for p in self._mods if p.startswith(prefix)}
        taps = {t: v for t, v in sp.taps.items() if t not in ("input", "output") and t not in own_modules} \
            if sp.kind == "stage" else {}
        index = {op.path: i for i, op in enumerate(ops)}
        self._calls = [[] for _ in range(len(ops) + 1)]   # slot 0: before any op (a split of the input)
        for tap, tensor in taps.items():
            if tap == "part1":
                continue   # called with part 2, as the pair
            if tap == "part2":
                p1 = taps.get("part1")   # none at split ratio 1: an empty bypass
                at = max(self._slot(index, x) for x in (p1, tensor) if x is not None)
                self._calls[at].append(("split", (p1, tensor)))
            else:
                self._calls[self._slot(index, tensor)].append((tap, tensor))
        self._output = sp.taps["output"]
        self._drop = self._drops({t.src for t in taps.values()} | set(self.exports))

    @staticmethod
    def _slot(index: dict, tensor) -> int:
        return index[tensor.src] + 1 if tensor.src in index else 0

    def _tap(self, env: dict, calls: list) -> None:
        for name, tensor in calls:
            if name == "split":
                p1, p2 = tensor
                part2 = _read(env, read_of(p2))
                part1 = _read(env, read_of(p1)) if p1 is not None else part2[:, :0]
                self.split((part1, part2))
            else:
                getattr(self, name)(_read(env, read_of(tensor)))

    def forward(self, *xs):
        """The part on its inputs (``inputs`` order); its output, or (output, *other exports) where later parts
        read more of it (YOLOv5's neck: the reduce conv's output)."""
        env = dict(zip(self.inputs, xs))
        self._tap(env, self._calls[0])
        self._run_ops(env, lambda i: self._tap(env, self._calls[i + 1]))
        if len(self.exports) > 1:
            return tuple(env[e] for e in self.exports)
        return env[self._output.src]


def build_parts(cfg, bn: tuple | None = None, act: str | None = None) -> tuple:
    """(stem, [stages], head) of design ``cfg`` (a detector's: (stem, [stages], head, [neck stages])):
    :class:`GraphPart` s generated from its plan (a family's ``build``: ``cspnet.model.build_model`` assembles
    them).  Each part exports what later parts read of it; ``bn``: the BatchNorms' (eps, momentum), None for
    PyTorch's; ``act``: the network's activation where the design's ``activation`` field is not it (an opened
    file's own)."""
    from .plan import plan_network

    plan = plan_network(cfg)
    owner = {op.path: sp.name for sp in plan.stages for op in sp.ops}
    exports: dict = {}
    for sp in plan.stages:
        for op in sp.ops:
            for src, _, _ in op.reads:
                if owner.get(src, sp.name) != sp.name:
                    exports.setdefault(owner[src], {})[src] = None
    parts = [GraphPart(sp, act or cfg.activation, tuple(exports.get(sp.name, ())), bn) for sp in plan.stages]
    neck = [p for p, sp in zip(parts, plan.stages) if sp.part_name == "neck"]
    stages = [p for p, sp in zip(parts[1:-1], plan.stages[1:-1]) if sp.part_name != "neck"]
    if neck:
        return parts[0], stages, parts[-1], neck
    return parts[0], stages, parts[-1]


def _qkv(t, dims: tuple):
    """q, k, v of Ultralytics' attention from its qkv tensor: per head, key_dim + key_dim + head_dim channels
    (``dims``: (role, heads, key_dim, head_dim[, area])), each (batch, heads, width, H x W)."""
    heads, key_dim, head_dim = dims[1:4]
    b, _, h, w = t.shape
    return t.view(b, heads, 2 * key_dim + head_dim, h * w).split([key_dim, key_dim, head_dim], dim=2)


def _areas(t, area: int):
    """(batch, heads, width, N) as (batch x area, heads, width, N / area): the positions' ``area`` runs in
    row-major order, each a batch item of its own (YOLO12's area attention, ``AAttn``)."""
    if area == 1:
        return t
    b, heads, width, n = t.shape
    return t.view(b, heads, width, area, n // area).permute(0, 3, 1, 2, 4).reshape(b * area, heads, width, n // area)


def build_graph_model(cfg, input_size: int | None = None) -> GraphModel:
    """The graph model of design ``cfg`` (its plan at ``input_size``: a plan is made for one size, as the
    modules' shapes do not depend on it, any input size of the same stride runs)."""
    from .families import batchnorm_settings
    from .plan import plan_network

    return GraphModel(plan_network(cfg, input_size), act=cfg.activation, bn=batchnorm_settings(cfg))


__all__ = ["GraphModel", "GraphPart", "Learned", "Tap", "build_graph_model", "build_parts"]
