"""Writers check before they write: every exported network file is read back and compared with the design.

A stage's wiring is written out several times (the plan, the modules, the Darknet writer, the Ultralytics
writer, the diagram); this is what keeps the two writers honest.  :func:`check_export` is the one check
both writers (``explorer.io.darknet_export.cfg_from_config``, ``explorer.io.ultralytics.yaml_from_config``)
run on their text before they return it, and :func:`export` the one entry point of the CLI's ``export``:

1. the text is read back with this project's own reader of the format (``explorer.io.darknet.parse_cfg``;
   ``explorer.io.ultralytics.config_from_yaml`` and its plan at the design's input size);
2. the two plans' stages are lined up: a cut where both have the same totals so far (less what a stated
   difference may change) and the same output shape (the Darknet reader cuts some stages elsewhere:
   PeleeNet's stem block, YOLOv4-CSP's stem residual block, the Ultralytics head conv, a head's BN + act;
   those stages are compared together);
3. in every such group of stages, every op kind's totals (``cspnet.plan.TOTALS``: layers, parameters,
   MACs, input, output and window elements; ``NetPlan.by_kind`` / ``StagePlan.by_kind``) must be the
   design's plus the differences the writer **states** (:class:`Allowance`), exactly; so must the whole
   network's, and its input and output shapes;
4. the two plans' dataflow graphs (``Op.reads``: which op wrote each tensor a layer reads, and which
   channels) must compute the same output the same way (:class:`_Graph`): a concat in another order or a
   residual from another layer, which no total sees, is found here, named by the design's op that has no
   counterpart in the file;
5. in a one-to-one group, every tap shape both plans have is compared: for an Ultralytics YAML (read back
   as a design of the same family) every tap, the same set; a Darknet reader's tap placed otherwise, on the
   same graph, is its reading of the stage's roles and is reported (:attr:`ExportCheck.read_otherwise`).

Anything else refuses the export (``ConfigError``, field ``format``) naming the stage and the op kind and
totals that differ, or the op without a counterpart: a network the format cannot express, or a writer bug,
is never written silently.
The stated differences (:data:`REASONS`) are the only ones: the Darknet conv's bias where it has no
BatchNorm (+2,752 parameters on densenet121, +1,920 on yolov4_csp_backbone), its ``[softmax]`` after the
classifier, and the ``[route]`` concat of an uneven split's aligned slices; each one has a kind, a total
and an amount per stage, all of which must match, and the cfg's header and the :class:`ExportCheck` list
them.  An Ultralytics YAML is allowed none.
"""
from __future__ import annotations

from dataclasses import dataclass, field

from cspnet.errors import ConfigError

FORMATS = ("darknet", "ultralytics")
FORMAT_NAMES = {"darknet": "Darknet cfg", "ultralytics": "Ultralytics YAML"}

# The differences a writer may state, each a known, documented, intended difference of its format.
REASONS = {
    "bias": "Darknet's [convolutional] without batch_normalize always has a bias; the design's bare convs have "
            "none",
    "softmax": "Darknet's classifier ends in [softmax] after [connected]; the design outputs the logits (no "
               "parameters, no MACs: no counting convention counts it)",
    "slices": "an uneven split's part is aligned [route] groups slices concatenated by a [route], a copy the design "
              "does not make (no counting convention counts a concat; the activation totals count its output)",
}
# reason -> the one (op kind, totals) it may change
REASON_KIND = {"bias": ("conv", {"params"}), "softmax": ("softmax", {"layers", "in_elements", "out_elements"}),
               "slices": ("cat", {"layers", "in_elements", "out_elements"})}


def _totals():
    from cspnet.plan import TOTALS

    return TOTALS


@dataclass(frozen=True)
class Allowance:
    """A stated difference: in design stage ``stage``, the file's op kind ``kind`` has ``deltas`` more
    (``cspnet.plan.TOTALS`` order) than the design's, for ``reason`` (a key of :data:`REASONS`)."""

    stage: str
    reason: str
    kind: str
    deltas: tuple

    def __post_init__(self):
        kind, totals = REASON_KIND[self.reason]
        names = _totals()
        assert self.kind == kind and len(self.deltas) == len(names), self
        assert all(names[i] in totals for i, v in enumerate(self.deltas) if v), self


def allowances(tally: dict) -> list:
    """``{(stage, reason): [TOTALS deltas]}`` (a writer's tally) as :class:`Allowance` rows."""
    return [Allowance(stage, reason, REASON_KIND[reason][0], tuple(d)) for (stage, reason), d in tally.items()
            if any(d)]


def _stated_rows(allowed) -> list:
    """(reason, kind, what it adds, where) per reason stated, in :data:`REASONS` order."""
    names = _totals()
    out = []
    for reason in REASONS:
        rows = [a for a in allowed if a.reason == reason]
        if not rows:
            continue
        total = [sum(a.deltas[i] for a in rows) for i in range(len(names))]
        what = ", ".join(f"{'+' if v > 0 else ''}{v:,} {names[i].replace('_', ' ')}" for i, v in enumerate(total) if v)
        where = _list(sorted({a.stage for a in rows}, key=_stage_order))
        out.append((reason, rows[0].kind, what, where))
    return out


def stated(allowed) -> list:
    """One line per reason: what it adds over the whole network and why (the file's header, the result)."""
    return [f"{kind} {what} ({where}): {REASONS[reason]}" for reason, kind, what, where in _stated_rows(allowed)]


def _stage_order(name: str):
    if name == "stem":
        return -1
    if name == "head":
        return 10**6
    return int(name.split(".")[1]) if name.startswith("stages.") else 10**5


def _list(names, n: int = 4) -> str:
    names = list(names)
    return ", ".join(names) if len(names) <= n else ", ".join(names[:n]) + f" and {len(names) - n} more"


@dataclass
class ExportCheck:
    """What the check compared and found: the format, the groups of stages compared (design stages, file
    stages), the differences stated and verified (:class:`Allowance`), and the tap shapes compared."""

    fmt: str
    groups: list = field(default_factory=list)     # [(design stage names, file stage names)]
    allowed: list = field(default_factory=list)    # [Allowance]
    taps_compared: int = 0
    read_otherwise: list = field(default_factory=list)   # [(design stage, tap, design shape, file shape)]
    params: int = 0                                # the design's
    file_params: int = 0                           # read back

    @property
    def exact(self) -> bool:
        """True when the file reads back as the design with no stated difference at all."""
        return not self.allowed

    @property
    def regrouped(self) -> list:
        """The groups where the reader cuts stages elsewhere (compared together)."""
        return [(a, b) for a, b in self.groups if len(a) > 1 or list(a) != list(b)]

    def summary(self) -> str:
        """One line: what was checked and what differs by statement."""
        name = FORMAT_NAMES[self.fmt]
        other = ""
        if self.read_otherwise:
            other = (f"; the reader places {len(self.read_otherwise)} taps otherwise: "
                     + _list([f"{st} {tap}" for st, tap, *_ in self.read_otherwise], 3))
        head = (f"checked: the {name} reads back as the design (the same dataflow graph; every op kind's totals in "
                f"{len(self.groups)} stage groups; {self.taps_compared} tap shapes{other})")
        if self.exact:
            return head + ", exactly"
        return head + "; stated differences: " + "; ".join(f"{kind} {what} ({reason})"
                                                            for reason, kind, what, _ in _stated_rows(self.allowed))

    def to_dict(self) -> dict:
        names = _totals()
        return {"format": self.fmt, "exact": self.exact, "params": self.params, "file_params": self.file_params,
                "groups": [{"design": list(a), "file": list(b)} for a, b in self.groups],
                "taps_compared": self.taps_compared,
                "taps_read_otherwise": [{"stage": st, "tap": tap, "design": list(a), "file": list(b)}
                                        for st, tap, a, b in self.read_otherwise],
                "allowed": [{"stage": a.stage, "reason": a.reason, "kind": a.kind,
                             **{n: v for n, v in zip(names, a.deltas) if v}} for a in self.allowed],
                "stated": stated(self.allowed)}


def _refuse(cfg, fmt: str, what: str) -> ConfigError:
    named = f" {cfg.name}" if cfg.name else ""
    return ConfigError("format", f"{cfg.family} design{named}: the {FORMAT_NAMES[fmt]} written for it reads back as "
                       f"a different network: {what}; refused rather than written (the format has no equivalent "
                       "for this, or its writer does not write it yet)")


def read_back(cfg, text: str, fmt: str):
    """The plan of ``text`` read by this project's reader of ``fmt`` (at the design's input size)."""
    from cspnet.plan import plan_network

    if fmt == "darknet":
        from .darknet import parse_cfg

        return parse_cfg(text).plan
    if fmt == "ultralytics" and getattr(cfg, "family", "") == "yolo_yaml":   # its own repository's planner
        from .yolo_family import planned

        return planned(text, cfg.input_size).plan
    if fmt == "ultralytics" and getattr(cfg, "is_detector", False):
        from .ultralytics_det import plan_detector

        return plan_detector(text, input_size=cfg.input_size).plan
    if fmt == "ultralytics":
        from .ultralytics import config_from_yaml

        return plan_network(config_from_yaml(text, name=cfg.name), input_size=cfg.input_size, memo=False)
    raise ConfigError("format", f"{fmt!r} is not allowed; allowed: {', '.join(FORMATS)}")


def _boundaries(stages, input_shape) -> list:
    """After 0, 1, ... stages: (every op kind's totals so far, but those a stated difference may change;
    the output shape)."""
    masked = {kind: {_totals().index(n) for n in names} for kind, names in REASON_KIND.values()}
    out, acc = [((), tuple(input_shape))], {}
    for s in stages:
        for kind, t in s.by_kind.items():
            a = acc.setdefault(kind, [0] * len(t))
            for i, v in enumerate(t):
                a[i] += v
        key = tuple(sorted((k, tuple(0 if i in masked.get(k, ()) else v for i, v in enumerate(t)))
                           for k, t in acc.items()))
        out.append((tuple(x for x in key if any(x[1])), tuple(s.output_shape)))
    return out


def line_up(design_stages, file_stages, input_shape) -> list:
    """Groups ``(design stages, file stages)`` covering both in order, cut wherever both have the same
    totals so far (every op kind's, less those a stated difference may change: the cuts do not depend on
    the allowances) and the same output shape.  Where the reader cuts a stage elsewhere, those stages are
    compared together."""
    a, b = _boundaries(design_stages, input_shape), _boundaries(file_stages, input_shape)
    groups, i0, j0 = [], 0, 0
    for i in range(1, len(a)):
        j = next((j for j in range(j0 + 1, len(b)) if b[j] == a[i]), None)
        if j is not None:
            groups.append((list(design_stages[i0:i]), list(file_stages[j0:j])))
            i0, j0 = i, j
    if i0 < len(design_stages) or j0 < len(file_stages):
        groups.append((list(design_stages[i0:]), list(file_stages[j0:])))
    merged = []   # a group with nothing on one side joins the next (or the last) one
    carry = ([], [])
    for da, fb in groups:
        da, fb = carry[0] + da, carry[1] + fb
        if not da or not fb:
            carry = (da, fb)
            continue
        merged.append((da, fb))
        carry = ([], [])
    if carry[0] or carry[1]:
        if merged:
            merged[-1] = (merged[-1][0] + carry[0], merged[-1][1] + carry[1])
        else:
            merged.append(carry)
    return merged


def _sum(parts) -> dict:
    out: dict = {}
    for by_kind in parts:
        for kind, t in by_kind.items():
            acc = out.setdefault(kind, [0] * len(t))
            for i, v in enumerate(t):
                acc[i] += v
    return out


def _differences(expected: dict, got: dict, stated_: dict) -> list:
    """'kind total: design D (+S stated), file F' for every (kind, total) that differs."""
    names = _totals()
    zero = [0] * len(names)
    out = []
    order = [names.index(n) for n in ("params", "macs", "layers")] + \
        [i for i, n in enumerate(names) if n not in ("params", "macs", "layers")]
    for i in order:     # parameters and MACs first: what a reader of the message checks first
        n = names[i]
        for kind in sorted(set(expected) | set(got)):
            e, g, s = expected.get(kind, zero), got.get(kind, zero), stated_.get(kind, zero)
            if e[i] + s[i] != g[i]:
                extra = f" + {s[i]:,} stated" if s[i] else ""
                out.append(f"{kind} {n.replace('_', ' ')} {e[i]:,}{extra} in the design, {g[i]:,} in the file")
    return out


class _Graph:
    """A plan's dataflow graph in canonical form: each op a number that stands for what it computes (its
    kind, shapes, kernel, stride, groups, parameters but a conv's bias, and, recursively, what it reads and
    which channels), the same number for the same computation in either plan whatever its path (the two
    graphs share ``ids``).  Read back from a Darknet cfg, a concat of contiguous channel slices of one tensor
    reads as that slice (the stated ``slices``), and the classifier's trailing softmax is left out (the
    stated ``softmax``)."""

    ORDERLESS = ("add", "mul")    # their inputs commute

    def __init__(self, plan, ids: dict, drop_softmax: bool = False):
        self.ids = ids                # canonical key -> number, shared by the graphs compared
        self.of: dict = {}            # op path (and "input") -> number
        self.slices: dict = {}        # a concat of contiguous slices of one tensor: its path -> (src, first channel)
        self.order: list = []         # (op, number) in the plan's order
        ops = list(plan.ops)
        if drop_softmax and ops and ops[-1].kind == "softmax":
            ops = ops[:-1]
        self.of["input"] = self._id(("input", tuple(plan.input_shape)))
        for op in ops:
            self.order.append((op, self._add(op)))
        self.numbers = {i for _, i in self.order}
        self.output = self.order[-1][1] if self.order else None

    def _id(self, key) -> int:
        return self.ids.setdefault(key, len(self.ids))

    def _read(self, src, lo, hi) -> tuple:
        if src in self.slices and lo is not None:
            src, base = self.slices[src]
            lo, hi = base + lo, base + hi
        return (self.of.get(src, -1), lo, hi)

    def _add(self, op) -> int:
        if op.kind == "cat" and len(op.reads) > 1:
            flat = [self.slices.get(src, (src, 0)) + (lo, hi) for src, lo, hi in op.reads]
            if all(lo is not None for *_, lo, _ in flat) and len({f[0] for f in flat}) == 1 and \
                    all(a[1] + a[3] == b[1] + b[2] for a, b in zip(flat, flat[1:])):
                # contiguous slices of one tensor, concatenated in order: that tensor's channel range
                src, base, lo, _ = flat[0]
                self.slices[op.path] = (src, base + lo)
                self.of[op.path] = self._id(("slice",) + self._read(src, base + lo, base + lo + op.out_shape[0]))
                return self.of[op.path]
        reads = tuple(self._read(*r) for r in op.reads)
        if op.kind in self.ORDERLESS:
            reads = tuple(sorted(reads, key=repr))
        params = 0 if op.kind == "conv" else op.params     # a conv's weights follow from its shapes; its bias is stated
        key = (op.kind, tuple(op.out_shape), op.kernel, op.stride, op.groups, params, op.macs, reads)
        self.of[op.path] = self._id(key)
        return self.of[op.path]


def _graph_difference(plan, back, fmt: str) -> str | None:
    """None when ``back`` computes what ``plan`` does (:class:`_Graph`: the same output, computed the same
    way), else the first op of the design, in its order, that nothing in the file computes: its stage,
    path, kind, output shape and what it reads."""
    ids: dict = {}
    mine = _Graph(plan, ids)
    # the Darknet writer's stated [softmax]; an imported cfg's own softmax is the design's (its plan ends in it)
    last = plan.stages[-1].ops[-1] if plan.stages and plan.stages[-1].ops else None
    theirs = _Graph(back, ids, drop_softmax=fmt == "darknet" and not (last and last.kind == "softmax"))
    if mine.output is not None and mine.output == theirs.output:
        return None
    for op, i in mine.order:
        if i not in theirs.numbers:
            stage = op.group[1] if getattr(op, "group", None) else op.path.split(".")[0]
            reads = ", ".join(f"{src}[{lo}:{hi}]" if lo is not None else src for src, lo, hi in op.reads)
            return (f"stage {stage}: the design's {op.kind} {op.path} ({_fmt_shape(op.out_shape)}, reading "
                    f"{reads}) has no counterpart in the file")
    return "every op of the design has a counterpart in the file, but not the network's output"


def _fmt_shape(s) -> str:
    return "x".join(str(v) for v in s)


def _where(design, read) -> str:
    names = " + ".join(s.name for s in design)
    where = f"stage {names}" if len(design) == 1 else f"stages {names}"
    if [s.name for s in read] != [s.name for s in design]:
        where += f" (read back as {' + '.join(s.name for s in read)})"
    return where


def check_export(cfg, text: str, fmt: str, allowed=(), all_taps: bool | None = None) -> ExportCheck:
    """Read ``text`` (the ``fmt`` export of design ``cfg``) back and compare it with the design's plan,
    op kind by op kind, stage by stage; ``allowed``: the differences the writer states
    (:class:`Allowance`), which must be exactly what differs.  Returns the :class:`ExportCheck`; raises
    ``ConfigError`` (field ``format``) naming the stage and what differs."""
    from cspnet.plan import plan_network

    allowed = list(allowed)
    if all_taps is None:
        # read back as a design of the same family: every tap, the same set (a detector reads back as one stage
        # per YAML layer: its taps are compared where both have them)
        all_taps = fmt == "ultralytics" and not getattr(cfg, "is_detector", False)
    try:
        back = read_back(cfg, text, fmt)
    except ConfigError as exc:
        raise _refuse(cfg, fmt, f"it does not read back ({exc.detail})") from None
    plan = plan_network(cfg)
    if tuple(back.input_shape) != tuple(plan.input_shape):
        raise _refuse(cfg, fmt, f"its input is {_fmt_shape(back.input_shape)}, the design's "
                      f"{_fmt_shape(plan.input_shape)}")
    by_stage: dict = {}
    for a in allowed:
        acc = by_stage.setdefault(a.stage, {}).setdefault(a.kind, [0] * len(a.deltas))
        for i, v in enumerate(a.deltas):
            acc[i] += v
    unknown = set(by_stage) - {s.name for s in plan.stages}
    assert not unknown, unknown
    groups = line_up(plan.stages, back.stages, plan.input_shape)
    result = ExportCheck(fmt, [([s.name for s in a], [s.name for s in b]) for a, b in groups], allowed,
                         params=plan.params, file_params=back.params)
    for design, read in groups:
        diffs = _differences(_sum(s.by_kind for s in design), _sum(s.by_kind for s in read),
                             _sum(by_stage.get(s.name, {}) for s in design))
        if diffs:
            where = _where(design, read)
            if len(design) == len(read) > 1:   # stages lined up only at the end: name the first that differs
                for a, b in zip(design, read):
                    first = _differences(a.by_kind, b.by_kind, by_stage.get(a.name, {}))
                    if first:
                        where, diffs = f"{_where([a], [b])}, the first stage that differs", first
                        break
            more = f" and {len(diffs) - 3} more" if len(diffs) > 3 else ""
            raise _refuse(cfg, fmt, f"{where}: {'; '.join(diffs[:3])}{more}")
    if tuple(back.output_shape) != tuple(plan.output_shape):
        raise _refuse(cfg, fmt, f"its output is {_fmt_shape(back.output_shape)}, the design's "
                      f"{_fmt_shape(plan.output_shape)}")
    wiring = _graph_difference(plan, back, fmt)
    if wiring:
        raise _refuse(cfg, fmt, wiring)
    for design, read in groups:
        if len(design) != 1 or len(read) != 1:
            continue
        where, mine, theirs = _where(design, read), design[0].taps, read[0].taps
        if all_taps and set(mine) != set(theirs):
            raise _refuse(cfg, fmt, f"{where}: taps {', '.join(sorted(set(mine) ^ set(theirs)))} are in one "
                          "plan only")
        for tap in mine:
            if tap not in theirs:
                continue
            if tuple(theirs[tap]) == tuple(mine[tap]):
                result.taps_compared += 1
            elif all_taps:
                raise _refuse(cfg, fmt, f"{where}: its {tap} is {_fmt_shape(theirs[tap])} in the file, "
                              f"{_fmt_shape(mine[tap])} in the design")
            else:
                # the same graph, a tap placed otherwise: the reader's reading of the stage's roles (a block that
                # ends in a 1x1 conv read as a partial transition, a block's first 1x1 conv after a shared
                # split read as part 2's), not another network
                result.read_otherwise.append((design[0].name, tap, tuple(mine[tap]), tuple(theirs[tap])))
    return result


def export(cfg, fmt: str) -> tuple:
    """``(text, ExportCheck)``: design ``cfg`` written as ``fmt`` (``darknet`` or ``ultralytics``), read back
    and checked (:func:`check_export`) before the text is returned.  Raises ``ConfigError``."""
    if fmt == "darknet":
        from .darknet_export import export_cfg

        return export_cfg(cfg)
    if fmt == "ultralytics":
        from .ultralytics import export_yaml

        return export_yaml(cfg)
    raise ConfigError("format", f"{fmt!r} is not allowed; allowed: {', '.join(FORMATS)}")


__all__ = ["Allowance", "ExportCheck", "FORMATS", "REASONS", "allowances", "check_export", "export", "line_up",
           "read_back", "stated"]
