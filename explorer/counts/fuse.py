"""Fused counts: a plan's network with every BatchNorm that directly follows a conv folded into that conv.

Inference engines and Ultralytics' ``model.fuse()`` fold a conv's BatchNorm into the conv (conv-BN fusion:
the weights scaled by gamma / sqrt(var + eps), a bias beta - mean x gamma / sqrt(var + eps)), and some of
Ultralytics' figures are printed for the fused model ("YOLOv8n summary (fused): ... 3,151,904 parameters,
8.7 GFLOPs" against 3,157,200 and 8.9 as built).  :func:`fuse_plan` makes that network's plan from any plan:

* a BatchNorm folds when it reads all channels of a conv and nothing else reads that conv (folding would
  change what the other reader sees); the BatchNorm op goes, its 2 x C parameters with it, and the conv gains
  a bias of C parameters unless it has one already; its MACs are the conv's (a bias is no multiply-accumulate:
  thop, fvcore and torch's counter all leave it out);
* any other BatchNorm stays (the one after BottleneckCSP's concat, a Darknet cfg's BN after a route);
* ops that read a folded BatchNorm read its conv instead, and so do tap points: the fused plan is a valid
  graph (``cspnet.plan.graph_problems``) that ``cspnet.graph_model.GraphModel`` can run (a conv with more
  parameters than weights is built with a bias).

Every counting convention (``explorer.counts.conventions.REGISTRY``) then counts the fused plan unchanged:
its BatchNorm terms go, nothing else changes.  ``python -m explorer summary NAME --fused`` and the Design page's
"Fused (Conv+BN folded)" switch show these counts.  Pure Python: no torch.
"""
from __future__ import annotations

from dataclasses import dataclass, field, fields

from cspnet.plan import NetPlan, Op, StagePlan, Tensor, kind_totals
from explorer.io.ultralytics_det import Detector

FUSED_CAPTION = ("Fused (Conv+BN folded): each BatchNorm that directly follows a conv is folded into it, as "
                 "Ultralytics' model.fuse() and inference engines do; its 2 x C parameters go and the conv gains "
                 "a bias of C (unless it has one), and every convention counts the network without those "
                 "BatchNorm layers (a BatchNorm after anything else, e.g. a concat, stays).")


@dataclass
class FusedStage(StagePlan):
    """A stage of a fused plan: its ops are given (not recorded by a ``PlanBuilder``), its per-kind totals
    are theirs."""

    fused_ops: list = field(default_factory=list, repr=False)

    @property
    def ops(self) -> list:
        return self.fused_ops


def _has_bias(conv: Op) -> bool:
    """Whether a conv op has a bias: more parameters than weights (as ``cspnet.graph_model`` builds it)."""
    weight = conv.out_shape[0] * (conv.in_shape[0] // conv.groups) * conv.kernel * conv.kernel
    return conv.params > weight


def foldable(plan: NetPlan) -> dict:
    """BatchNorm path -> the conv :class:`~cspnet.plan.Op` it folds into: every BatchNorm that reads all the
    channels of a conv that no other op reads."""
    ops = list(plan.ops)
    readers: dict = {}
    for op in ops:
        for src, _, _ in op.reads:
            readers[src] = readers.get(src, 0) + 1
    producers = plan.producers
    out = {}
    for op in ops:
        if op.kind != "bn" or len(op.reads) != 1:
            continue
        src, lo, hi = op.reads[0]
        conv = producers.get(src)
        if conv is not None and conv.kind == "conv" and (lo, hi) == (0, conv.out_shape[0]) and readers[src] == 1:
            out[op.path] = conv
    return out


def fuse_plan(plan: NetPlan) -> NetPlan:
    """``plan``'s network with every foldable BatchNorm (:func:`foldable`) folded into its conv: the BatchNorm
    ops removed, each such conv with a bias (C parameters more, unless it had one), every read and tap of a
    removed BatchNorm redirected to its conv.  Stages, their names, parts, fusion, repeats and tap shapes are
    kept, so every summary and table reads it as any plan.  A new plan; ``plan`` is not changed."""
    folds = foldable(plan)
    into = {bn: conv.path for bn, conv in folds.items()}
    biased = {conv.path for conv in folds.values() if not _has_bias(conv)}

    def read(r: tuple) -> tuple:
        src, lo, hi = r
        return (into[src], lo, hi) if src in into else r

    stages = []
    for sp in plan.stages:
        ops = []
        for op in sp.ops:
            if op.path in into:
                continue
            params = op.params + (op.out_shape[0] if op.path in biased else 0)
            reads = tuple(read(r) for r in op.reads)
            if params != op.params or reads != op.reads:
                op = Op(op.kind, op.path, op.in_shape, op.out_shape, params, op.macs, op.kernel, op.stride,
                        op.groups, op.in_shapes, reads, op.group, dict(op.attrs))
            ops.append(op)
        taps = {name: Tensor(t, into[t.src], t.lo) if t.src in into else t for name, t in sp.taps.items()}
        stages.append(FusedStage(name=sp.name, kind=sp.kind, fusion=sp.fusion, taps=taps, repeats=sp.repeats,
                                 by_kind=kind_totals(ops), part=sp.part, fused_ops=ops))
    return NetPlan(input_shape=plan.input_shape, stages=stages)


class FusedDetector(Detector):
    """A detection YAML's detector (``explorer.io.ultralytics_det.Detector``) fused: its plan is
    :func:`fuse_plan`'s, and so is its plan at any other input size (:meth:`at`), so that
    ``ultralytics_det.printed_gflops`` and ``summarize_detector`` give Ultralytics' figures of the fused model
    (``model.fuse()`` then ``model.info()``: yolov8n 3,151,904 parameters, 8.7 GFLOPs)."""

    def at(self, size: int) -> "FusedDetector":
        return fuse_detector(Detector.at(self, size))


def fuse_detector(det: Detector) -> FusedDetector:
    """``det`` with its plan fused (:class:`FusedDetector`); a fused detector is returned as it is."""
    if isinstance(det, FusedDetector):
        return det
    values = {f.name: getattr(det, f.name) for f in fields(det)}
    values["plan"] = fuse_plan(det.plan)
    return FusedDetector(**values)


__all__ = ["FUSED_CAPTION", "FusedDetector", "FusedStage", "foldable", "fuse_detector", "fuse_plan"]
