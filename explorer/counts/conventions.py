"""Analytic counting from the config alone: no model build, no forward pass.

One small handler per layer kind (fvcore's ``jit_handles`` idea, applied to the analytic plan),
and named conventions that always say what they include.  The counts are exact: tests check the
``macs`` convention against ``torch.utils.flop_counter.FlopCounterMode / 2`` and the ``fvcore``
convention against ``fvcore.nn.FlopCountAnalysis`` on every preset and on random designs.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

from cspnet.plan import NetPlan, Op, StagePlan


def _conv_linear_macs(op: Op) -> int:
    return op.macs if op.kind in ("conv", "linear") else 0


def _fvcore_macs(op: Op) -> int:
    """fvcore's defaults: conv/linear MACs (no bias), batch_norm 2/element in eval (affine),
    adaptive_avg_pool2d 1/input element; ReLU, max/avg pool, add and cat are not counted."""
    if op.kind in ("conv", "linear"):
        return op.macs
    if op.kind == "bn":
        return 2 * op.in_elements
    if op.kind == "gap":
        return op.in_elements
    return 0


def _flops(op: Op) -> int:
    return 2 * _conv_linear_macs(op)


@dataclass(frozen=True)
class Convention:
    key: str
    label: str
    unit: str
    includes: str
    per_op: Callable[[Op], int]


CONVENTIONS = {
    "macs": Convention(
        "macs", "MACs (conv + linear)", "MAC",
        "multiply-accumulates of conv and linear layers; bias, BatchNorm, activations, pooling, add "
        "and concat are not counted. Equals torch FlopCounterMode / 2, ptflops' aten backend, and "
        "torchvision's '_ops' GFLOPS.", _conv_linear_macs),
    "fvcore": Convention(
        "fvcore", "fvcore / timm GMACs", "MAC",
        "fvcore FlopCountAnalysis defaults, the convention of timm's published GMACs: conv + linear "
        "MACs, plus BatchNorm 2 per element (eval, affine) and global average pooling 1 per input "
        "element; ReLU, max/avg pooling, add and concat count 0.", _fvcore_macs),
    "flops": Convention(
        "flops", "FLOPs = 2 x MACs", "FLOP",
        "2 floating-point operations per conv/linear multiply-accumulate (torch FlopCounterMode's "
        "convention); nothing else counted.", _flops),
    "bflops": Convention(
        "bflops", "Darknet BFLOPs (CSPNet paper)", "FLOP",
        "the CSPNet paper's unit: 2 per multiply-add of the convolutional layers (the classifier is a "
        "1x1 conv in Darknet cfgs, so the linear layer counts too); Darknet's tiny pool/shortcut terms "
        "are left out. Compare at the paper's resolution (256 for the big models).", _flops),
}


def count(plan_or_stage, convention: str = "macs") -> int:
    conv = CONVENTIONS[convention]
    return sum(conv.per_op(op) for op in plan_or_stage.ops)


def cio(plan_or_stage) -> int:
    """Memory traffic as the CSPNet paper measures it (HarDNet's CIO): for every conv layer, the
    elements of its input plus its output feature map, summed (batch 1)."""
    return sum(op.in_elements + op.out_elements for op in plan_or_stage.ops if op.kind == "conv")


def conv_activations(plan_or_stage) -> int:
    """Output elements of conv and linear layers (fvcore's ActivationCountAnalysis, timm's MActs)."""
    return sum(op.out_elements for op in plan_or_stage.ops if op.kind in ("conv", "linear"))


def all_activations(plan_or_stage) -> int:
    """Elements written by every layer (conv, BN, activation, pooling, concat, add, linear)."""
    return sum(op.out_elements for op in plan_or_stage.ops)


def op_kind_totals(plan: NetPlan) -> dict:
    """Counts per layer kind, used to explain differences between counters."""
    out: dict = {}
    for op in plan.ops:
        d = out.setdefault(op.kind, {"layers": 0, "macs": 0, "in_elements": 0, "out_elements": 0})
        d["layers"] += 1
        d["macs"] += op.macs
        d["in_elements"] += op.in_elements
        d["out_elements"] += op.out_elements
    return out


def stage_counts(stage: StagePlan) -> dict:
    return {
        "params": stage.params,
        "macs": count(stage, "macs"),
        "fvcore_macs": count(stage, "fvcore"),
        "cio": cio(stage),
        "activations": all_activations(stage),
        "conv_activations": conv_activations(stage),
    }
