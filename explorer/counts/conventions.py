"""Analytic counting from the config alone: no model build, no forward pass.

Every counting convention is a table from op kind (``cspnet.plan.Op.kind``: conv, linear, matmul, bn,
act, maxpool, avgpool, gap, mean, cat, add, mul, upsample, softmax) to a cost :class:`Rule`, the way fvcore's
``_DEFAULT_SUPPORTED_OPS`` maps op names to handles; a kind missing from a table costs 0.  A
convention is written as a table or as another convention with some rows changed or every row
scaled (:meth:`Convention.derive`), so what differs between two conventions is plain to read.
Every convention also says in words what it includes.

The counts are exact: tests check ``macs`` against ``torch.utils.flop_counter.FlopCounterMode / 2``
and ``fvcore`` against ``fvcore.nn.FlopCountAnalysis`` on every preset and on random designs.

:func:`group_counts` sums any of these per op kind, per stage or per any grouping of the ops.
"""
from __future__ import annotations

from dataclasses import dataclass, field, replace
from operator import attrgetter
from typing import Callable, Iterable

from cspnet.plan import Op, kind_totals

OP_KINDS = ("conv", "linear", "matmul", "bn", "act", "maxpool", "avgpool", "gap", "mean", "cat", "add", "mul",
            "upsample", "softmax")


# --------------------------------------------------------------------------- cost rules
@dataclass(frozen=True)
class Rule:
    """The cost of one op: ``macs`` per multiply-accumulate of the op, ``per_input`` per input
    element, ``per_output`` per output element, ``per_window`` per output element and pooling-window
    position (kernel^2).  The first three are fvcore's ``elementwise_flop_counter(in, out)`` and
    conv handle; the last is Darknet's pooling count."""

    macs: int = 0
    per_input: int = 0
    per_output: int = 0
    per_window: int = 0

    def __call__(self, op: Op) -> int:
        n = 0
        if self.macs:
            n += self.macs * op.macs
        if self.per_input:
            n += self.per_input * op.in_elements
        if self.per_output:
            n += self.per_output * op.out_elements
        if self.per_window:
            n += self.per_window * op.kernel * op.kernel * op.out_elements
        return n

    def compiled(self) -> Callable[[Op], int]:
        """The same cost as a plain function, without the terms that are 0 (counting is a hot loop)."""
        terms = [(k, q) for k, q in ((self.macs, "macs"), (self.per_input, "in_elements"),
                                      (self.per_output, "out_elements")) if k]
        if self.per_window or len(terms) != 1:
            return self.__call__
        (k, q), = terms
        get = attrgetter(q)
        return get if k == 1 else (lambda op: k * get(op))

    def on_totals(self, t) -> int:
        """The same cost summed over many ops of one kind, from their totals (``cspnet.plan.TOTALS``:
        layers, params, macs, in_elements, out_elements, window_elements): every rule is linear."""
        return self.macs * t[2] + self.per_input * t[3] + self.per_output * t[4] + self.per_window * t[5]

    def scaled(self, factor: int) -> "Rule":
        return Rule(self.macs * factor, self.per_input * factor, self.per_output * factor, self.per_window * factor)

    def __str__(self) -> str:
        terms = [(self.macs, "multiply-accumulate"), (self.per_input, "input element"),
                 (self.per_output, "output element"), (self.per_window, "output element x kernel^2")]
        return " + ".join(f"{k} per {what}" for k, what in terms if k) or "0"


MAC = Rule(macs=1)


@dataclass(frozen=True)
class Convention:
    key: str
    label: str
    unit: str
    includes: str                  # what it counts, in words (shown next to every total)
    rules: dict = field(repr=False, hash=False)  # op kind -> Rule; kinds not in the table cost 0
    formula: str = ""              # one line: the convention_label of explorer.paper.reproduce's records
    short: str = ""                # a switch's option (the app's convention radios); the label elsewhere

    def __post_init__(self):
        object.__setattr__(self, "_fns", {kind: rule.compiled() for kind, rule in self.rules.items()})

    def per_op(self, op: Op) -> int:
        fn = self._fns.get(op.kind)
        return fn(op) if fn is not None else 0

    def on_totals(self, by_kind: dict) -> int:
        """The total over a plan or a stage from its per-kind totals (``StagePlan.by_kind``)."""
        rules = self.rules
        return sum(rules[kind].on_totals(t) for kind, t in by_kind.items() if kind in rules)

    def derive(self, key: str, label: str, unit: str, includes: str, formula: str = "", scale: int = 1,
               short: str = "", **rules: Rule | None) -> "Convention":
        """This table with every rule times ``scale``, then the rows in ``rules`` set (None: removed)."""
        table = {kind: rule.scaled(scale) for kind, rule in self.rules.items()}
        for kind, rule in rules.items():
            if kind not in OP_KINDS:
                raise KeyError(f"{kind!r} is not an op kind; kinds: {', '.join(OP_KINDS)}")
            if rule is None:
                table.pop(kind, None)
            else:
                table[kind] = rule
        return replace(self, key=key, label=label, unit=unit, includes=includes, rules=table, formula=formula,
                       short=short or label)

    def explain(self) -> dict:
        """op kind -> its rule in words, for every kind (``'0'`` where the table has no row)."""
        return {kind: str(self.rules[kind]) if kind in self.rules else "0" for kind in OP_KINDS}


# --------------------------------------------------------------------------- the conventions
MACS = Convention(
    "macs", "MACs (conv + linear)", "MAC",
    "multiply-accumulates of conv and linear layers (and of attention's matrix products, where a "
    "block has them); bias, BatchNorm, activations, pooling, add, scaling and concat are not counted. "
    "Equals torch FlopCounterMode / 2, ptflops' aten backend, and torchvision's '_ops' GFLOPS.",
    rules={"conv": MAC, "linear": MAC, "matmul": MAC}, formula="conv+linear MACs", short="MACs")

# fvcore's defaults: batch_norm 2/element in eval (affine), adaptive_avg_pool2d 1/input element;
# ReLU, max/avg pool, add and cat have no handle.
FVCORE = MACS.derive(
    "fvcore", "fvcore / timm MACs", "MAC",
    "fvcore FlopCountAnalysis defaults, the convention of timm's published GMACs (this value / 1e9): conv + linear "
    "MACs, plus BatchNorm 2 per element (eval, affine), global average pooling 1 per input "
    "element and upsampling 1 per output element; ReLU, max/avg pooling, add and concat count 0.",
    formula="fvcore / timm (conv+linear MACs, BN 2/element, global pool 1/element)", short="fvcore / timm",
    bn=Rule(per_input=2), gap=Rule(per_input=1), upsample=Rule(per_output=1))

FLOPS = MACS.derive(
    "flops", "FLOPs = 2 x MACs", "FLOP",
    "2 floating-point operations per conv/linear multiply-accumulate (torch FlopCounterMode's "
    "convention); nothing else counted.",
    formula="2 x conv+linear MACs", scale=2, short="FLOPs")

# The same table as FLOPS: the CSPNet paper's count, named after it.  Its value is in FLOPs; the paper prints
# it in BFLOPs (billions: value / 1e9).
BFLOPS = FLOPS.derive(
    "bflops", "CSPNet paper FLOPs (2 x MACs; printed as BFLOPs)", "FLOP",
    "the CSPNet paper's count, which it prints in BFLOPs (billions of FLOPs: this value / 1e9): 2 per "
    "multiply-add of the convolutional layers (the classifier is a 1x1 conv in Darknet cfgs, so the linear "
    "layer counts too); Darknet's tiny pool/shortcut terms are left out. Compare at the paper's resolution "
    "(256 for the big models).",
    formula="2 x conv+linear MACs (Darknet BFLOPs: 2 FLOPs per multiply-add)", short="CSPNet paper")

# mmcv's get_model_complexity_info: it reproduces mmpretrain's three CSPNet 'Flops(G)' to the
# printed digit, where fvcore is one digit off on two of them.
MMCV = FVCORE.derive(
    "mmcv", "mmcv / mmpretrain 'Flops' (really MACs)", "MAC",
    "mmcv's get_model_complexity_info, the convention of mmpretrain's 'Flops': conv and linear "
    "MACs, BatchNorm 2 per element (affine), activations 1 per element, max/avg/global pooling 1 per "
    "input element; add and concat 0.",
    formula="mmcv counter (conv+linear MACs, BN 2/elt, activations 1/elt, pooling 1/input elt)",
    short="mmcv / mmpretrain",
    act=Rule(per_output=1), maxpool=Rule(per_input=1), avgpool=Rule(per_input=1))

# AlexeyAB darknet's per-layer BFLOPs: conv 2 x nweights x out_h x out_w, max and local-average
# pooling size^2 x c x out_h x out_w.  Its value is in FLOPs; Darknet's loader sums the layers' values / 1e9
# and prints 'Total BFLOPS' (explorer.io.darknet.darknet_bflops: the same without the float rounding, and
# without the shortcut term AlexeyAB darknet added in 2020).
DARKNET = BFLOPS.derive(
    "darknet", "Darknet loader FLOPs (conv + pooling; printed as BFLOPs)", "FLOP",
    "Darknet's own per-layer count, summed as its loader prints 'Total BFLOPS' (billions of FLOPs: this "
    "value / 1e9; without the shortcut term Darknet added in 2020): 2 per multiply-add of conv (and the "
    "1x1-conv classifier), plus kernel^2 per output element of every max and local-average pooling layer; "
    "everything else 0.",
    formula="Darknet BFLOPs incl. its pooling terms (2 x MACs + k^2 x C x H x W per pooling layer)",
    short="Darknet loader", maxpool=Rule(per_window=1), avgpool=Rule(per_window=1))

# thop's module hooks (ultralytics-thop, the counter behind Ultralytics' get_flops): conv and linear 1 per
# MAC (no bias), BatchNorm 2 x 2 per element (normalise, then the affine scale and shift), adaptive average
# pooling (kernel^2 + 1) per output element = 1 per input + 1 per output element, nearest upsampling 1 per output
# element (count_upsample; reproduces the detection YAMLs' printed GFLOPs: explorer.io.ultralytics_det); no rule for
# SiLU, max pooling, add, concat or a functional multiply.  The reference totals of YOLO11 (benchmarks/results/
# reference_constants.json) also hold the attention's matrix products, 1 per MAC.  Checked to the unit
# against thop on every YOLOv5/YOLOv8/YOLO11 classification model, unfused and fused, at 32, 224 and 640.
THOP = MACS.derive(
    "thop", "thop MACs (Ultralytics' counter)", "MAC",
    "thop's counting, as Ultralytics runs it: conv, linear and attention matrix-product MACs, BatchNorm 4 per "
    "element (2 to normalise, 2 for the affine scale and shift), global average pooling 1 per input plus 1 per "
    "output element, nearest upsampling 1 per output element; activations, max pooling, add, scaling and concat "
    "count 0.",
    formula="thop (conv+linear+matmul MACs, BN 4/element, global pool 1/input + 1/output element)", short="thop",
    bn=Rule(per_input=4), gap=Rule(per_input=1, per_output=1), upsample=Rule(per_output=1))

# Ultralytics prints 'FLOPs (B)' / 'GFLOPs' as 2 x thop's MACs (torch_utils.get_flops: flops * 2 / 1e9).
ULTRALYTICS = THOP.derive(
    "ultralytics", "Ultralytics FLOPs (2 x thop; printed as GFLOPs)", "FLOP",
    "Ultralytics' 'FLOPs (B)' and model.info() GFLOPs (this value / 1e9): 2 x thop's count (conv, linear and attention "
    "matrix-product MACs, BatchNorm 4 per element, global average pooling 1 per input and output element). "
    "Which model and which size it was run on is the source's choice (fused or not, at 32 px scaled or not): "
    "see explorer.paper.reproduce.",
    formula="Ultralytics GFLOPs = 2 x thop (conv+linear+matmul MACs, BN 4/element, global pool 1/input + 1/output)",
    scale=2, short="Ultralytics")

# YOLOv5's and YOLOv7's model_info (utils/torch_utils.py) runs the original thop (its requirements: thop>=0.1.1)
# on a max(stride, 32) probe, x 2, scaled: Ultralytics' table but for nearest upsampling, which thop's
# count_upsample counts 0.  Reproduces the repositories' printed GFLOPs (explorer.io.yolov5_det, yolov7_det; yolov5s
# 16.6 unfused, 16.4 fused as v7.0 prints them).  thop before 0.1 (YOLOv5 v6.1's tutorial: 16.5; v5.0-era: 17.1)
# counted BatchNorm 2 per element and a conv's bias 1 per output element: not registered (tests say so).
YOLOV5 = ULTRALYTICS.derive(
    "yolov5", "YOLOv5 / YOLOv7 model_info FLOPs (2 x thop; printed as GFLOPs)", "FLOP",
    "the GFLOPs YOLOv5's and YOLOv7's own model_info prints (this value / 1e9): 2 x the original thop's count (conv, "
    "linear and attention matrix-product MACs, BatchNorm 4 per element, global average pooling 1 per input and "
    "output element; nearest upsampling 0, where the Ultralytics convention counts 1 per output element).",
    formula="YOLOv5/YOLOv7 GFLOPs = 2 x thop (conv+linear+matmul MACs, BN 4/element, global pool 1/input + 1/output; "
    "nearest upsampling 0)", short="YOLOv5 / v7", upsample=None)

# Every convention ``count`` knows.  All of them are shown everywhere: the CLI's ``--convention``, the app's
# convention switches, the stage tables and ``summary --json``'s ``conventions`` read this registry (a design
# of any family is counted by every table: a kind the design lacks costs 0).
REGISTRY = {c.key: c for c in (MACS, FVCORE, FLOPS, BFLOPS, MMCV, DARKNET, THOP, ULTRALYTICS, YOLOV5)}
CONVENTIONS = REGISTRY      # the name the app, the CLI and the summaries import


def count(plan_or_stage, convention: str = "macs") -> int:
    """Total of ``convention`` (any key of :data:`REGISTRY`) over a plan's or a stage's ops."""
    return REGISTRY[convention].on_totals(by_kind(plan_or_stage))


# --------------------------------------------------------------------------- other per-op metrics
def _cio(op: Op) -> int:
    return op.in_elements + op.out_elements if op.kind == "conv" else 0


# metric -> op -> int, summed by :func:`totals` and :func:`group_counts`
OP_METRICS: dict[str, Callable[[Op], int]] = {
    "layers": lambda op: 1,
    "params": lambda op: op.params,
    "macs": MACS.per_op,
    "fvcore_macs": FVCORE.per_op,
    # memory traffic as the CSPNet paper measures it (HarDNet's CIO): input + output of every conv
    "cio": _cio,
    "activations": lambda op: op.out_elements,
    "conv_activations": lambda op: op.out_elements if op.kind in ("conv", "linear") else 0,
    "in_elements": lambda op: op.in_elements,
    "out_elements": lambda op: op.out_elements,
}
STAGE_METRICS = ("params", "macs", "fvcore_macs", "cio", "activations", "conv_activations")


def _kinds_total(index: int, kinds: tuple | None = None) -> Callable[[dict], int]:
    return lambda by_kind: sum(t[index] for k, t in by_kind.items() if kinds is None or k in kinds)


# the same metrics from a plan's or a stage's per-kind totals (cspnet.plan.TOTALS), without a pass over ops
TOTAL_METRICS: dict[str, Callable[[dict], int]] = {
    "layers": _kinds_total(0),
    "params": _kinds_total(1),
    "macs": MACS.on_totals,
    "fvcore_macs": FVCORE.on_totals,
    "cio": lambda by_kind: _kinds_total(3, ("conv",))(by_kind) + _kinds_total(4, ("conv",))(by_kind),
    "activations": _kinds_total(4),
    "conv_activations": _kinds_total(4, ("conv", "linear")),
    "in_elements": _kinds_total(3),
    "out_elements": _kinds_total(4),
}
KIND_METRICS = ("layers", "macs", "in_elements", "out_elements")


def _metric(name: str) -> Callable[[Op], int]:
    if name in OP_METRICS:
        return OP_METRICS[name]
    return REGISTRY[name].per_op


def by_kind(plan_or_ops) -> dict:
    """Per-kind totals of a plan or a stage (kept while planning), or of any list of ops."""
    kept = getattr(plan_or_ops, "by_kind", None)
    return kept if kept is not None else kind_totals(_ops(plan_or_ops))


def _ops(plan_or_ops) -> Iterable[Op]:
    return plan_or_ops.ops if hasattr(plan_or_ops, "ops") else plan_or_ops


def totals(plan_or_ops, metrics: Iterable[str] = STAGE_METRICS) -> dict:
    """metric -> its sum over the ops (a plan, a stage or any iterable of ops): one group of all.

    Summed from per-kind totals (a plan or a stage keeps them while planning: a few additions)."""
    kinds = by_kind(plan_or_ops)
    return {m: (TOTAL_METRICS[m](kinds) if m in TOTAL_METRICS else REGISTRY[m].on_totals(kinds)) for m in metrics}


def group_counts(plan_or_ops, by="kind", metrics: Iterable[str] = KIND_METRICS, keys: Iterable = ()) -> dict:
    """Counts summed per group: ``{group: {metric: sum}}``, groups in the order first seen.

    ``by``: ``"kind"`` (the op kind), ``"stage"`` (the stage's name; every stage of the plan gets a
    row, in order, even one without ops) or a function ``op -> group`` (``None`` leaves the op out).
    ``metrics``: keys of :data:`OP_METRICS` or of :data:`REGISTRY`.  ``keys``: groups that get a row
    (zeros) even when no op falls in them, first and in this order.
    """
    names = tuple(metrics)
    fns = [_metric(m) for m in names]
    if by == "stage":
        stages = plan_or_ops.stages if hasattr(plan_or_ops, "stages") else [plan_or_ops]
        keys = list(keys) + [sp.name for sp in stages]
        pairs = ((sp.name, op) for sp in stages for op in sp.ops)
    else:
        key = (lambda op: op.kind) if by == "kind" else by
        pairs = ((key(op), op) for op in _ops(plan_or_ops))
    sums = {k: [0] * len(names) for k in keys}
    for group, op in pairs:
        if group is None:
            continue
        row = sums.get(group)
        if row is None:
            row = sums[group] = [0] * len(names)
        for i, fn in enumerate(fns):
            row[i] += fn(op)
    return {k: dict(zip(names, row)) for k, row in sums.items()}


def cio(plan_or_stage) -> int:
    """Memory traffic as the CSPNet paper measures it (HarDNet's CIO): for every conv layer, the
    elements of its input plus its output feature map, summed (batch 1)."""
    return TOTAL_METRICS["cio"](by_kind(plan_or_stage))


def conv_activations(plan_or_stage) -> int:
    """Output elements of conv and linear layers (fvcore's ActivationCountAnalysis, timm's MActs)."""
    return TOTAL_METRICS["conv_activations"](by_kind(plan_or_stage))


def all_activations(plan_or_stage) -> int:
    """Elements written by every layer (conv, BN, activation, pooling, concat, add, linear)."""
    return TOTAL_METRICS["activations"](by_kind(plan_or_stage))


def stage_counts(stage) -> dict:
    """params, macs, fvcore_macs, cio, activations and conv_activations of one stage (or a plan)."""
    return totals(stage, STAGE_METRICS)
