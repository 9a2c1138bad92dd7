"""The real model's dataflow, recorded op by op, and its comparison with the plan's graph.

The plan (``cspnet.plan``) records every layer with the tensors it reads (:attr:`cspnet.plan.Op.reads`).  A
design's model is generated from it (``cspnet.graph_model``); an imported network's is built from its own
file (``explorer.io``), and the tests keep hand-written twins (``tests/oracle``).  This module runs a model
once (on the ``meta`` device: shapes only, no arithmetic) under a ``TorchFunctionMode`` that sees every torch
function call: each compute op (conv, BN, activation, pool, concat, add, product, ...) with the tensors it
reads and writes, and the module it ran in; channel slices (``x[:, a:b]``, ``split``, ``chunk``) and other
views are followed back to the op that wrote their data.  :func:`compare` then pairs the model's ops with
the plan's, module by module, and lists every difference in kind, shape or edge.  So a plan and any model
said to run it cannot drift apart unnoticed: the tests run this on every preset (generated and hand-written
models), random designs and imported networks, and the live trace runs it on the design's own model.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import torch
import torch.nn.functional as F
from torch.overrides import TorchFunctionMode

from cspnet.plan import INPUT

# torch function -> plan op kind (cspnet.plan.Op.kind); functions not named here and not views are refused
_KINDS = {
    F.conv2d: "conv", F.batch_norm: "bn", F.linear: "linear",
    F.relu: "act", F.relu6: "act", F.silu: "act", F.leaky_relu: "act", F.hardswish: "act", F.hardsigmoid: "act",
    F.gelu: "act", F.mish: "act", F.elu: "act", torch.sigmoid: "act", torch.Tensor.sigmoid: "act",
    F.softmax: "act", torch.softmax: "act", torch.Tensor.softmax: "act", torch.relu: "act",
    torch.tanh: "act", F.hardtanh: "act",
    F.max_pool2d: "maxpool", F.avg_pool2d: "avgpool", F.adaptive_avg_pool2d: "gap",
    torch.Tensor.mean: "mean", torch.mean: "mean",
    torch.cat: "cat", torch.concat: "cat",
    torch.add: "add", torch.Tensor.add: "add", torch.Tensor.__add__: "add", torch.Tensor.__radd__: "add",
    torch.Tensor.__iadd__: "add", torch.Tensor.add_: "add",
    torch.mul: "mul", torch.Tensor.mul: "mul", torch.Tensor.__mul__: "mul", torch.Tensor.__rmul__: "mul",
    torch.Tensor.__imul__: "mul", torch.Tensor.mul_: "mul",
    torch.matmul: "matmul", torch.Tensor.__matmul__: "matmul", torch.bmm: "matmul", torch.Tensor.matmul: "matmul",
    F.interpolate: "upsample",
}
# activations written as "softmax" ops by an imported Darknet network's plan
_SAME_KIND = {"softmax": "act"}
# views and slices: their output aliases their (first) input's data
_VIEWS = {torch.Tensor.__getitem__, torch.Tensor.split, torch.split, torch.Tensor.chunk, torch.chunk,
          torch.Tensor.view, torch.Tensor.reshape, torch.reshape, torch.Tensor.flatten, torch.flatten,
          torch.Tensor.transpose, torch.transpose, torch.Tensor.permute, torch.Tensor.contiguous,
          torch.Tensor.unsqueeze, torch.Tensor.squeeze, torch.Tensor.expand, torch.Tensor.expand_as,
          torch.Tensor.unflatten, torch.Tensor.narrow, torch.narrow, torch.Tensor.clone,
          F.dropout, torch.Tensor.to, torch.Tensor.float, torch.Tensor.view_as,
          # the same data, padded or divided by a constant: part of the op that wrote it (Darknet's pooling
          # pads; its local average pool divides by the window's count; its softmax by a temperature)
          F.pad, torch.Tensor.div, torch.Tensor.__truediv__, torch.div}
# a tensor made from nothing the model computed (a count of ones): not data
_CONSTANTS = {torch.ones_like, torch.zeros_like, torch.Tensor.new_ones, torch.Tensor.new_zeros}
# bookkeeping calls that read no data
_IGNORED = {torch.Tensor.size, torch.Tensor.dim, torch.Tensor.shape.__get__, torch.Tensor.__len__,
            torch.Tensor.numel, torch.Tensor.dtype.__get__, torch.Tensor.device.__get__,
            torch.Tensor.is_floating_point, torch.Tensor.requires_grad.__get__, torch.Tensor.__format__,
            torch.Tensor.__repr__, torch.Tensor.data.__get__, torch.Tensor.is_contiguous, torch.Tensor.stride,
            torch.Tensor.layout.__get__, torch.Tensor.__hash__, torch.Tensor.__eq__, torch.Tensor.__bool__,
            torch.Tensor.untyped_storage, torch.Tensor.detach, torch.Tensor.__setstate__,
            torch.Tensor.grad_fn.__get__, torch.Tensor.ndim.__get__}


@dataclass
class RealOp:
    """One compute op of the real model: its plan kind, the module it ran in, its output shape and the
    tensors it read as ``(producer index or "input", lo, hi)`` (``lo`` None: a view that is no channel
    slice)."""

    kind: str
    module: str
    out_shape: tuple
    reads: list = field(default_factory=list)


class _Recorder(TorchFunctionMode):
    def __init__(self, modules: list):
        super().__init__()
        self.modules = modules     # the module stack, kept by hooks
        self.ops: list = []
        self.origin: dict = {}     # id(tensor) -> (producer, lo, hi, tensor) (tensor kept alive)
        self.unknown: set = set()

    def source(self, t) -> tuple | None:
        hit = self.origin.get(id(t))
        return None if hit is None or hit[3] is not t else hit[:3]

    def tensors(self, args, kwargs):
        out = []
        for a in list(args) + list(kwargs.values()):
            if isinstance(a, torch.Tensor):
                out.append(a)
            elif isinstance(a, (list, tuple)):
                out.extend(x for x in a if isinstance(x, torch.Tensor))
        return out

    def _alias(self, func, args, result):
        src = self.source(args[0]) if args and isinstance(args[0], torch.Tensor) else None
        if src is None:
            return
        producer, lo, hi = src
        outs = result if isinstance(result, (list, tuple)) else (result,)
        base = args[0]
        offset = 0
        for t in outs:
            if not isinstance(t, torch.Tensor):
                continue
            sub = None   # the channel range of a channel slice (dim 1, same other dims)
            spatial_kept = t.shape[2:] == base.shape[2:] or func in (F.pad, torch.Tensor.view_as)
            if lo is not None and t.dim() == 4 and base.dim() == 4 and t.shape[0] == base.shape[0] and spatial_kept:
                if func is torch.Tensor.__getitem__:
                    idx = args[1]
                    if isinstance(idx, tuple) and len(idx) >= 2 and isinstance(idx[1], slice) and \
                            idx[0] == slice(None) and idx[1].step in (None, 1):
                        start = idx[1].start or 0
                        start = start + base.shape[1] if start < 0 else start
                        sub = (lo + start, lo + start + t.shape[1])
                elif func in (torch.Tensor.split, torch.split, torch.Tensor.chunk, torch.chunk) and \
                        (args[2] if len(args) > 2 else 0) in (1, -3):
                    sub = (lo + offset, lo + offset + t.shape[1])
                    offset += t.shape[1]
                elif func in (torch.Tensor.contiguous, torch.Tensor.clone, F.dropout, torch.Tensor.to,
                              torch.Tensor.float, F.pad, torch.Tensor.div, torch.Tensor.__truediv__, torch.div,
                              torch.Tensor.view_as) and t.shape[1] == base.shape[1]:
                    sub = (lo, hi)
            self.origin[id(t)] = (producer, *(sub or (None, None)), t)

    def __torch_function__(self, func, types, args=(), kwargs=None):
        kwargs = kwargs or {}
        result = func(*args, **kwargs)
        if func in _IGNORED or getattr(func, "__name__", "") in ("__get__", "size", "dim"):
            return result
        if func in _CONSTANTS:
            return result
        if func in _VIEWS:
            self._alias(func, args, result)
            return result
        kind = _KINDS.get(func)
        if kind is None:
            self.unknown.add(getattr(func, "__qualname__", repr(func)))
            return result
        reads = [src for t in self.tensors(args, kwargs) if (src := self.source(t)) is not None]
        if not isinstance(result, torch.Tensor):
            return result
        index = len(self.ops)
        self.ops.append(RealOp(kind, self.modules[-1], tuple(result.shape[1:]), reads))
        self.origin[id(result)] = (index, 0, result.shape[1] if result.dim() > 1 else 1, result)
        return result


def record(model, x) -> tuple:
    """``(ops, unknown)``: the real model's compute ops in the order they ran (:class:`RealOp`), and the
    names of torch functions it called that this module does not know (should be empty)."""
    stack = [""]

    def enter(_m, _i, name):
        stack.append(name)

    def leave(_m, _i, _o):
        stack.pop()     # (a hook that returns a value would replace the module's output)

    handles = []
    for name, mod in model.named_modules():
        handles.append(mod.register_forward_pre_hook(lambda m, i, name=name: enter(m, i, name)))
        handles.append(mod.register_forward_hook(leave))
    rec = _Recorder(stack)
    rec.origin[id(x)] = (INPUT, 0, x.shape[1], x)
    try:
        with torch.no_grad(), rec:
            model(x)
    finally:
        for h in handles:
            h.remove()
    return rec.ops, rec.unknown


def _owner(path: str, modules: set) -> str:
    """The innermost module whose forward runs the plan op at ``path``: the longest module path that is
    ``path`` or a prefix of it."""
    while path and path not in modules:
        path = path.rpartition(".")[0]
    return path


def compare(plan, model, x=None) -> list:
    """Every difference between ``plan``'s graph and ``model``'s real dataflow, in words (empty: they
    agree): the ops each module runs (kind and output shape, in order) and what each op reads (which op
    wrote it and which channels)."""
    if x is None:
        c, h, w = plan.input_shape
        x = torch.empty(1, c, h, w, device=next(model.parameters()).device)
    real, unknown = record(model, x)
    problems = [f"the model calls {name}, which this comparison does not know" for name in sorted(unknown)]
    # a plan op belongs to the innermost module that runs ops of its own around it: a hand-written block's
    # forward, or a generated stage running its layers (containers and tap points run none)
    modules = {r.module for r in real}
    plan_ops = list(plan.ops)
    by_owner: dict = {}
    for op in plan_ops:
        # an imported network's op paths are its layers' names ("layers.7.conv"), found under their part
        path = op.path if op.path.startswith(op.group[1] + ".") else f"{op.group[1]}.{op.path}"
        by_owner.setdefault(_owner(path, modules), []).append(op)
    real_by_module: dict = {}
    for i, r in enumerate(real):
        real_by_module.setdefault(r.module, []).append(i)
    pair: dict = {}   # real op index -> plan op
    for owner in sorted(set(by_owner) | set(real_by_module)):
        ps, rs = by_owner.get(owner, []), real_by_module.get(owner, [])
        pk = [_SAME_KIND.get(op.kind, op.kind) for op in ps]
        rk = [real[i].kind for i in rs]
        if pk != rk:
            problems.append(f"{owner or 'the model'}: the plan has {pk or 'no ops'}, the model runs {rk or 'no ops'}")
            continue
        for op, i in zip(ps, rs):
            pair[i] = op
            if _numel(op.out_shape) != _numel(real[i].out_shape) or (len(real[i].out_shape) == 3 and tuple(
                    op.out_shape) != real[i].out_shape and op.kind != "matmul"):   # (a matmul's heads: rows)
                problems.append(f"{op.path}: the plan's output is {tuple(op.out_shape)}, the model's "
                                f"{real[i].out_shape}")
    if problems:
        return problems
    for i, r in enumerate(real):
        op = pair[i]
        got = sorted(_read_key(INPUT if p == INPUT else pair[p].path, lo, hi) for p, lo, hi in r.reads)
        want = sorted(_read_key(*rd) for rd in op.reads)
        if not _same_reads(want, got):
            problems.append(f"{op.path} ({op.kind}): the plan reads {want}, the model reads {got}")
    return problems


def _numel(shape) -> int:
    n = 1
    for d in shape:
        n *= d
    return n


def _read_key(src, lo, hi) -> tuple:
    return (src, -1 if lo is None else lo, -1 if hi is None else hi)


def _same_reads(want: list, got: list) -> bool:
    """The same tensors, channel ranges compared where both sides know them (a view on either side:
    the source alone)."""
    if len(want) != len(got):
        return False
    return all(a[0] == b[0] and (a[1] < 0 or b[1] < 0 or a[1:] == b[1:]) for a, b in zip(want, got))


__all__ = ["RealOp", "compare", "record"]
