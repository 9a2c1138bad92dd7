"""Darknet ``.cfg`` export: a design (``CSPConfig``, any family) out as a Darknet network file.

Pure Python (no torch).  :func:`cfg_from_config` writes the design's network from its plan's graph
(``cspnet.plan``: every ``Op`` with the tensors it reads, ``Op.reads``, and its group): it walks ``plan.ops`` in
order and writes each as AlexeyAB darknet's layers; no stage's wiring is described here a second time (the
design's activation and names are read for the header and the messages only):

* an imported Darknet cfg (family ``darknet_cfg``) goes out as itself (:func:`imported_cfg`): its text as
  opened, with its stage rewrites, at the design's input size, read back and checked as every export;
* ``[net]`` width, height (the design's input size), channels=3;
* a ``conv`` as ``[convolutional]`` (``groups=`` for grouped and depthwise convs; ``padding=`` where it is not
  kernel // 2), with the ``bn`` and ``act`` that read only it folded in: ``batch_normalize=1`` and the
  activation (the design's mapped: relu -> relu, leaky_relu -> leaky, silu -> swish, mish -> mish; an op's own
  sigmoid or hard sigmoid -> logistic; linear where none follows);
* a ``bn`` or ``act`` of its own (DenseNet's pre-activation, BottleneckCSP's BN + act after the concat) as
  ``[batchnorm]`` / ``[activation]``;
* a layer that reads one that is not the previous layer gets a one-input ``[route]`` first;
* a channel slice read (a CSP split's part: channels ``[0, c1)`` and ``[c1, C)`` of the expansion or the stage
  input) as ``[route] layers=x groups=G group_id=k`` slices (the k-th of G equal slices of x), written when the
  first slice of x is read, every slice of x in channel order: a part one such route where one slice is the part
  (equal halves: ``groups=2``, group_id 0 = part 1, 1 = part 2), else the fewest aligned slices covering it
  (:func:`slice_chunks`; e.g. 609 channels into 305 + 304: 11 and 10 slices) followed by a ``[route]`` concat
  of them; an op that reads only part 1 (the fusion-last dense pool) comes right after part 1, before part 2
  (the importer reads part 1 as the layers before part 2's route);
* a ``cat`` as ``[route] layers=a,b,...``; an ``add`` as ``[shortcut] from=`` (the activation that reads only
  it folded in, as Darknet does: ResNet's act after the add; linear elsewhere); a gate's product (``mul``:
  timm's squeeze-and-excitation, CSPNeXt's channel attention) as AlexeyAB's ``[scale_channels] from=`` the
  gated tensor, its ``mean`` a global ``[avgpool]`` and its biased 1x1 convs ``[convolutional]`` (the hard
  sigmoid as ``logistic``: :data:`ATTENTION_NOTE`); max pools as ``[maxpool]`` and average pools as
  AlexeyAB's ``[local_avgpool]`` (PyTorch's symmetric padding p is Darknet's ``padding=2p``);
* the head: its ``gap`` a global ``[avgpool]``, its ``linear`` a ``[connected]`` (the design's classifier, with
  its bias: the counts round-trip exactly; a 1x1 conv would count as a conv) and, after the network's last
  op, ``[softmax]``.

The cfg is the one the hand-written writer it replaced wrote (stage by stage from the families' layouts), byte
for byte, on all 60 presets and 1,353 other designs, custom and random (compared when it was replaced).

**Refused** (``ConfigError``), before a line is written: YOLO11's attention block (``psa``: matrix products,
views of its qkv and a softmax over positions; field ``format``, pointing to ``--set block_type=...`` with the
design's own block types but c3k in the attention stages (:func:`without_attention`), the same network without
attention, and for YOLO11 to the Ultralytics YAML export); an activation with no Darknet twin; any other layer
of the graph Darknet has no layer for (:data:`LAYERS`: an upsample, a softmax activation, a product by a
constant, a pool rounding up, a linear layer without a bias), naming the stage and the layer (``stage 0's
layer stages.0.block.0.pool (a maxpool rounding its output size up (ceil_mode)) has no Darknet layer``; field
``format``); a split whose part needs more slices than one ``[route]`` may concatenate
(``explorer.io.darknet.MAX_ROUTE_INPUTS``, 64: e.g. a prime width from 131 up at ratio 0.5; field
``split_ratio``, naming the stage, the channel counts and the slice count); and a cfg of more than
``explorer.io.darknet.MAX_LAYERS`` layers (field ``split_ratio`` where the slices of uneven splits
made the difference, else ``format``).

**Not exact**: Darknet's conv always has a bias where it has no BatchNorm, so a design's bare
bias-free convs (DenseNet's pre-activation convs, a stem without ``stem_norm``, BottleneckCSP's bare
cross conv and partial transition) gain one parameter per output channel (:func:`extra_biases`); the
MACs, every shape and every other count are unchanged.  ``leaky_relu`` is timm's slope 0.01 and
Darknet's ``leaky`` 0.1, and Darknet has no hard sigmoid: the channel attention's gate is written as
``logistic``, the smooth function hard sigmoid approximates (comments in the cfg say so; no count
depends on either, every convention counts one operation per activated element or none).  An uneven
split's concat of slices is a copy the design does not make: no convention of
``explorer.counts.conventions.REGISTRY`` counts a concat, but the activation totals
(``all_activations``) count its output.

Importing the file (``explorer.io.darknet.parse_cfg``) gives the design's parameters (plus
:func:`extra_biases`), its MACs in every counting convention and its layer shapes
(tests/test_darknet_export.py, on every preset).  :func:`export_cfg` does so before it returns the text
(``explorer.io.check.check_export``, the one check both writers run): every op kind's totals, stage by
stage, must be the design's but for the differences this writer states, each per stage (the conv biases,
the ``[softmax]``, the concat of an uneven split's slices: listed in the cfg's header), and the two
dataflow graphs must be the same; anything else is refused (field ``format``), naming the stage.
"""
from __future__ import annotations

from cspnet.errors import ConfigError

ACTIVATIONS = {"relu": "relu", "leaky_relu": "leaky", "silu": "swish", "mish": "mish"}
ATTENTION_NOTE = ("# channel attention: activation=logistic stands for the design's hard sigmoid (relu6(x + 3) / 6, a "
                  "piecewise-linear approximation of logistic); Darknet has no hard sigmoid (no count depends on it)")
LEAKY_NOTE = ("# activation=leaky: Darknet's leaky slope is 0.1; the design's leaky_relu is timm's 0.01 "
              "(old Darknet has no slope option; no count depends on it)")


class _Cfg:
    """The layers written so far: their sections, output shapes and the bias count the design lacks."""

    def __init__(self, size: int, act: str):
        self.sections: list = []
        self.shapes: list = []
        self.input = (3, size, size)
        self.act = act
        self.extra_biases = 0
        self.split_routes = 0      # layers uneven splits add (a part of k > 1 slices: k routes + a concat, not 1)
        self.attention = 0         # hard sigmoids written as logistic (CSPNeXt's channel attention)
        self.stage = "stem"        # the plan stage being written (the op's group stage)
        self.tally: dict = {}      # (stage, reason) -> TOTALS deltas the file has beyond the design (stated)

    def state(self, reason: str, **deltas) -> None:
        """A difference from the design this layer makes, stated (``explorer.io.check.REASONS``)."""
        from cspnet.plan import TOTALS

        acc = self.tally.setdefault((self.stage, reason), [0] * len(TOTALS))
        for name, v in deltas.items():
            acc[TOTALS.index(name)] += v

    @property
    def last(self) -> int:
        return len(self.sections) - 1

    def shape(self, i: int) -> tuple:
        return self.input if i < 0 else self.shapes[i]

    def _add(self, name: str, shape: tuple, **opts) -> int:
        lines = [f"[{name}]"] + [f"{k}={v}" for k, v in opts.items()]
        self.sections.append("\n".join(lines))
        self.shapes.append(tuple(shape))
        return self.last

    def _ref(self, j: int) -> int:
        """``layers=``/``from=`` value of layer ``j`` for the next layer (relative)."""
        return j - (self.last + 1)

    def at(self, x: int) -> int:
        """Make layer ``x`` the previous layer (a one-input [route] when it is not)."""
        return x if x == self.last else self.route([x])

    def conv(self, x: int, filters: int, size: int, stride: int, padding: int, groups: int, bn: bool,
             activation: str, bias: bool) -> int:
        x = self.at(x)
        c, h, w = self.shape(x)
        opts = {"batch_normalize": 1} if bn else {}
        opts.update(filters=filters, size=size, stride=stride)
        if padding == size // 2:
            opts["pad"] = 1
        else:
            opts["padding"] = padding
        if groups > 1:
            opts["groups"] = groups
        opts["activation"] = activation
        if not bn and not bias:   # Darknet gives a conv without BN a bias; the design's has none
            self.extra_biases += filters
            self.state("bias", params=filters)
        out = (filters, (h + 2 * padding - size) // stride + 1, (w + 2 * padding - size) // stride + 1)
        return self._add("convolutional", out, **opts)

    def pool(self, x: int, kind: str, size: int, stride: int, padding: int = 0) -> int:
        """PyTorch's max/avg pool (``padding`` on each side): Darknet's ``padding`` is the total, 2p."""
        x = self.at(x)
        c, h, w = self.shape(x)
        out = (c, (h + 2 * padding - size) // stride + 1, (w + 2 * padding - size) // stride + 1)
        return self._add(kind, out, size=size, stride=stride, padding=2 * padding)

    def route(self, xs: list, groups: int = 1, group_id: int = 0) -> int:
        c = sum(self.shape(j)[0] for j in xs) // groups
        _, h, w = self.shape(xs[0])
        opts = {"layers": ",".join(str(self._ref(j)) for j in xs)}
        if groups > 1:
            opts.update(groups=groups, group_id=group_id)
        return self._add("route", (c, h, w), **opts)


# --------------------------------------------------------------------------- what the graph may hold
# op kind -> the Darknet layer it is written as (a conv's BN and activation fold into its [convolutional], an
# add's activation into its [shortcut]); every other kind (matmul, upsample, softmax) is refused by name
LAYERS = {"conv": "convolutional", "bn": "batchnorm", "act": "activation", "cat": "route", "add": "shortcut",
          "mul": "scale_channels", "mean": "avgpool", "gap": "avgpool", "maxpool": "maxpool",
          "avgpool": "local_avgpool", "linear": "connected"}
# an activation other than the design's (``Op.attrs["act"]``) -> Darknet's; hardsigmoid is approximated
OTHER_ACTS = {"sigmoid": "logistic", "hardsigmoid": "logistic"}


def _stage_words(stage: str) -> str:
    return f"stage {stage.split('.', 1)[1]}" if stage.startswith("stages.") else stage


def _unwritable(cfg, ops: list) -> None:
    """Refuse (``ConfigError``, field ``format``) the first layer of the graph that has no Darknet layer, before
    anything is written: attention (a matrix product, a view of qkv, a product by a constant, a softmax over
    positions), a kind Darknet lacks, a pool rounding up (``ceil_mode``), an add of more than two tensors."""
    shape = {op.path: op.out_shape for op in ops}
    for op in ops:
        a = op.attrs
        if op.kind == "matmul" or "attention" in a or any(lo is None for _, lo, _ in op.reads):
            stage = op.group[1]
            types = getattr(cfg, "block_type", ())
            i = int(stage.split(".", 1)[1]) if stage.startswith("stages.") else None
            block = types[i] if i is not None and i < len(types) else None
            what = f"block_type {block}: " if block else "layer " + op.path + ": "
            raise _refuse(cfg, f"{_stage_words(stage)}'s attention block ({what}matrix products and a softmax over "
                          "positions)", psa=block == "psa")
        why = None
        if op.kind not in LAYERS:
            why = f"a {op.kind} layer"
        elif op.kind == "act" and a.get("act") is not None and a["act"] not in OTHER_ACTS:
            why = f"a {a['act']} activation"
        elif op.kind == "mul" and ("scale" in a or len(op.reads) != 2):
            why = "a product by a constant" if "scale" in a else f"a product of {len(op.reads)} tensors"
        elif op.kind == "mul" and tuple(shape.get(op.reads[1][0], ())) != (op.out_shape[0], 1, 1):
            why = "a product by more than one gate value per channel: [scale_channels] scales whole channels"
        elif op.kind in ("maxpool", "avgpool") and a.get("ceil_mode"):
            why = f"a {op.kind} rounding its output size up (ceil_mode)"
        elif op.kind == "add" and len(op.reads) != 2:
            why = f"an add of {len(op.reads)} tensors"
        elif op.kind == "linear" and op.params == op.macs:
            why = "a linear layer without a bias: Darknet's [connected] always has one"
        if why:
            raise _refuse(cfg, f"{_stage_words(op.group[1])}'s layer {op.path} ({why})")


class _Graph:
    """Writes a plan's ops in order as Darknet layers (:func:`_write`): each op's inputs are the layers its
    ``Op.reads`` name, a channel slice being ``[route] groups`` slices of the layer that wrote it."""

    def __init__(self, cfg, d: _Cfg, plan):
        self.cfg, self.d, self.plan = cfg, d, plan
        self.ops = list(plan.ops)
        self.channels = {op.path: op.out_shape[0] for op in self.ops}
        self.channels["input"] = plan.input_shape[0]
        self.readers: dict = {}      # src -> how many reads name it
        self.parts: dict = {}        # src -> its channel slices read anywhere, (lo, hi) in channel order
        self.read_by: dict = {}      # (src, lo, hi) -> indices of the ops that read only it
        for j, op in enumerate(self.ops):
            for read in op.reads:
                src, lo, hi = read
                self.readers[src] = self.readers.get(src, 0) + 1
                if not (lo == 0 and hi == self.channels[src]):
                    self.parts.setdefault(src, set()).add((lo, hi))
            if len(op.reads) == 1:
                self.read_by.setdefault(op.reads[0], []).append(j)
        self.layer = {"input": -1}   # src path or (src, lo, hi) -> the Darknet layer that holds it
        self.done = [False] * len(self.ops)

    def write(self) -> None:
        for i in range(len(self.ops)):
            if not self.done[i]:
                self.emit(i)
        last = self.ops[-1]
        if last.kind == "linear":   # Darknet's classifier ends in [softmax] (stated)
            d = self.d
            n = last.out_shape[0]
            d.state("softmax", layers=1, in_elements=n, out_elements=n)
            d._add("softmax", (n, 1, 1), groups=1)

    # ------------------------------------------------------------------ reads
    def resolve(self, read: tuple) -> int:
        src, lo, hi = read
        if lo == 0 and hi == self.channels[src]:
            return self.layer[src]
        if read not in self.layer:
            self.slices(src)
        return self.layer[read]

    def slices(self, src: str) -> None:
        """Every channel slice read of ``src``, in channel order, as ``[route] groups=G group_id=k`` slices (a
        part of several: their ``[route]`` concat); an op reading only a part that is not the last one comes
        right after it (the fusion-last dense pool: the importer reads part 1 as the layers before part 2)."""
        d = self.d
        x, channels = self.layer[src], self.channels[src]
        parts = sorted(self.parts[src])
        chunked = _check_parts(self.cfg, _stage_words(d.stage), channels, parts)
        for k, ((lo, hi), chunks) in enumerate(zip(parts, chunked)):
            routes = [d.route([x], g, gid) for g, gid in chunks]
            out = routes[0]
            if len(routes) > 1:
                d.split_routes += len(routes)
                out = d.route(routes)
                n = d.shape(out)[0] * d.shape(out)[1] * d.shape(out)[2]
                d.state("slices", layers=1, in_elements=n, out_elements=n)
            self.layer[(src, lo, hi)] = out
            if k < len(parts) - 1:
                for j in self.read_by.get((src, lo, hi), ()):
                    if not self.done[j] and self.ops[j].kind != "cat":
                        self.emit(j)

    def only_reader(self, i: int, kind: str) -> bool:
        """Op ``i + 1`` is a ``kind`` that reads all of op ``i``, and nothing else reads op ``i``."""
        if i + 1 >= len(self.ops) or self.done[i + 1]:
            return False
        op, nxt = self.ops[i], self.ops[i + 1]
        return nxt.kind == kind and nxt.reads == ((op.path, 0, op.out_shape[0]),) and self.readers[op.path] == 1

    def activation(self, op) -> str:
        other = op.attrs.get("act")
        if other is None:
            return self.d.act
        if other == "hardsigmoid":
            self.d.attention += 1
        return OTHER_ACTS[other]

    def put(self, ops: list, layer: int) -> None:
        for op in ops:
            self.layer[op.path] = layer

    # ------------------------------------------------------------------ ops
    def emit(self, i: int) -> None:
        op, d = self.ops[i], self.d
        self.done[i] = True
        d.stage = op.group[1]
        kind = op.kind
        if kind == "conv":
            x = self.resolve(op.reads[0])
            folded, j = [op], i
            bn = self.only_reader(j, "bn")
            if bn:
                j += 1
                folded.append(self.ops[j])
            act = "linear"
            if self.only_reader(j, "act"):
                j += 1
                folded.append(self.ops[j])
                act = self.activation(self.ops[j])
            for k in range(i + 1, j + 1):
                self.done[k] = True
            weight = op.out_shape[0] * (op.in_shape[0] // op.groups) * op.kernel * op.kernel
            self.put(folded, d.conv(x, op.out_shape[0], op.kernel, op.stride, op.attrs.get("padding", op.kernel // 2),
                                    op.groups, bn, act, op.params > weight))
        elif kind == "bn":
            self.put([op], d._add("batchnorm", d.shape(d.at(self.resolve(op.reads[0])))))
        elif kind == "act":
            x = d.at(self.resolve(op.reads[0]))
            self.put([op], d._add("activation", d.shape(x), activation=self.activation(op)))
        elif kind == "cat":
            self.put([op], d.route([self.resolve(r) for r in op.reads]))
        elif kind == "add":   # Darknet's [shortcut]: the previous layer + from= (an activation after it folded in)
            a, b = (self.resolve(r) for r in op.reads)
            if b == d.last and a != d.last:
                a, b = b, a
            d.at(a)
            folded, act = [op], "linear"
            if self.only_reader(i, "act"):
                self.done[i + 1] = True
                folded.append(self.ops[i + 1])
                act = self.activation(self.ops[i + 1])
            self.put(folded, d._add("shortcut", d.shape(a), **{"from": d._ref(b)}, activation=act))
        elif kind == "mul":   # a gate's product: [scale_channels] of the gate (the previous layer) from= x
            x, gate = (self.resolve(r) for r in op.reads)
            d.at(gate)
            self.put([op], d._add("scale_channels", d.shape(x), **{"from": d._ref(x)}, activation="linear"))
        elif kind in ("mean", "gap"):
            x = d.at(self.resolve(op.reads[0]))
            self.put([op], d._add("avgpool", (d.shape(x)[0], 1, 1)))
        elif kind in ("maxpool", "avgpool"):
            x = self.resolve(op.reads[0])
            self.put([op], d.pool(x, LAYERS[kind], op.kernel, op.stride, op.attrs.get("padding", 0)))
        elif kind == "linear":
            d.at(self.resolve(op.reads[0]))
            n = op.out_shape[0]
            self.put([op], d._add("connected", (n, 1, 1), output=n, activation="linear"))
        else:
            raise AssertionError(kind)   # refused before (_unwritable)


def without_attention(cfg) -> str:
    """The ``--set block_type=...`` value that replaces only ``cfg``'s attention stages (block type psa) by
    ``c3k`` (YOLO11's C3k2 block without attention), every other stage keeping its own block type (the field is
    per stage: one value would set all of them)."""
    return ",".join("c3k" if b == "psa" else b for b in cfg.block_type)


def _refuse(cfg, what: str, psa: bool = False) -> ConfigError:
    named = f" {cfg.name}" if cfg.name else ""
    hint = ""
    if psa:
        stages = ", ".join(str(i) for i, b in enumerate(cfg.block_type) if b == "psa")
        hint = (f": --set block_type={without_attention(cfg)} (stage{'s' if ',' in stages else ''} {stages} "
                "without attention, the other stages as they are) exports to Darknet")
        if cfg.family == "yolo11":
            hint += "; a YOLO11 design as it is exports as an Ultralytics YAML (--format ultralytics)"
    return ConfigError("format", f"{cfg.family} design{named}: {what} has no Darknet layer{hint}; exportable to a "
                       "Darknet cfg: convs (grouped, depthwise), BatchNorm, relu/leaky/swish/mish, max and average "
                       "pools, channel splits (aligned [route] groups slices), concats, residual adds, "
                       "global pool + linear, squeeze-and-excitation and channel attention ([scale_channels]; a "
                       "hard sigmoid as logistic); not self-attention")


def slice_chunks(channels: int, lo: int, hi: int) -> list:
    """The fewest aligned chunks covering channels ``[lo, hi)`` of a ``channels``-channel layer, as
    ``(groups, group_id)`` pairs in channel order: chunk ``(G, k)`` is Darknet's ``[route] groups=G
    group_id=k``, the slice ``[k x C/G, (k + 1) x C/G)`` (``G`` divides ``C``; a chunk of size ``s``
    starts at a multiple of ``s``).  Among the shortest covers, each step takes the largest chunk (equal
    halves are one chunk each, ``groups=2``)."""
    if not 0 <= lo < hi <= channels:
        raise ValueError(f"[{lo}, {hi}) is no part of {channels} channels")
    sizes = [s for s in range(channels, 0, -1) if channels % s == 0]    # largest first
    n = hi - lo
    best = [0] * (n + 1)              # best[p - lo]: fewest chunks covering [p, hi)
    step = [0] * (n + 1)
    for p in range(hi - 1, lo - 1, -1):
        best[p - lo] = n + 1
        for s in sizes:
            if p % s == 0 and p + s <= hi and best[p + s - lo] + 1 < best[p - lo]:
                best[p - lo], step[p - lo] = best[p + s - lo] + 1, s
    out, p = [], lo
    while p < hi:
        s = step[p - lo]
        out.append((channels // s, p // s))
        p += s
    return out


def _check_parts(cfg, where: str, channels: int, parts: list) -> list:
    """The chunks of each part (:func:`slice_chunks`), refused (field ``split_ratio``) when a part needs more
    slices than one Darknet route may concatenate (``explorer.io.darknet.MAX_ROUTE_INPUTS``)."""
    from .darknet import MAX_ROUTE_INPUTS

    chunked = [slice_chunks(channels, lo, hi) for lo, hi in parts]
    two = len(parts) == 2 and parts[0][0] == 0 and parts[0][1] == parts[1][0] and parts[1][1] == channels
    for k, ((lo, hi), chunks) in enumerate(zip(parts, chunked), 1):
        if len(chunks) <= MAX_ROUTE_INPUTS:
            continue
        if two:   # a CSP split: part 1 and part 2
            part1, part2 = parts[0][1], channels - parts[0][1]
            raise ConfigError("split_ratio", f"split ratio {cfg.split_ratio:g} splits {where}'s {channels} "
                              f"channels into {part1} + {part2}; Darknet's [route] groups=G group_id=k takes the "
                              f"k-th of G equal slices (widths dividing {channels}), so part {k} needs "
                              f"{len(chunks)} aligned slices concatenated, more than the {MAX_ROUTE_INPUTS} "
                              "inputs one [route] may take (a width with more divisors exports, e.g. an even "
                              "width at split_ratio 0.5)")
        raise ConfigError("split_ratio", f"{where} reads channels {lo}..{hi - 1} of a {channels}-channel layer; "
                          f"Darknet's [route] groups=G group_id=k takes the k-th of G equal slices (widths dividing "
                          f"{channels}), so it needs {len(chunks)} aligned slices concatenated, more than the "
                          f"{MAX_ROUTE_INPUTS} inputs one [route] may take")
    return chunked


# --------------------------------------------------------------------------- the file
def _write(cfg) -> _Cfg:
    from cspnet.plan import plan_network

    if cfg.activation not in ACTIVATIONS:
        raise _refuse(cfg, f"activation {cfg.activation}")
    plan = plan_network(cfg)
    _unwritable(cfg, list(plan.ops))
    d = _Cfg(cfg.input_size, ACTIVATIONS[cfg.activation])
    _Graph(cfg, d, plan).write()
    from .darknet import MAX_LAYERS

    if len(d.sections) > MAX_LAYERS:
        named = f" {cfg.name}" if cfg.name else ""
        uneven = d.split_routes and len(d.sections) - d.split_routes <= MAX_LAYERS   # equal halves would fit
        field, why = ("split_ratio", f", {d.split_routes} more than equal halves would take (the slices of its "
                      "uneven splits)") if uneven else ("format", "")
        raise ConfigError(field, f"{cfg.family} design{named}: the Darknet cfg would have {len(d.sections)} "
                          f"layers{why}; a cfg (and its import here) has at most {MAX_LAYERS}")
    return d


def extra_biases(cfg) -> int:
    """Parameters the exported cfg has beyond the design: the biases of the convs that have no BatchNorm
    after them (Darknet's conv always has one there; the design's bare convs have none) and the
    classifier's none (its bias is the design's)."""
    return _write(cfg).extra_biases


def export_cfg(cfg) -> tuple:
    """``(text, check)``: the Darknet cfg of design ``cfg`` and its :class:`explorer.io.check.ExportCheck`.
    The text is read back (``explorer.io.darknet.parse_cfg``) and compared with the design's plan, op kind
    by op kind and stage by stage, before it is returned; the differences this writer states (its header
    lists them: :func:`explorer.io.check.stated`) are the only ones allowed.  Raises ``ConfigError``."""
    from .check import allowances, check_export, stated

    if cfg.family == "darknet_cfg":   # an opened Darknet cfg goes out as itself
        text = imported_cfg(cfg)
        return text, check_export(cfg, text, "darknet")
    if cfg.family == "yolo_yaml":
        raise ConfigError("format", f"yolo_yaml design {cfg.name}: an opened detection YAML is made of its "
                          "repository's modules (C3, C2f, ELAN, IDetect ...), not Darknet sections, so it has no "
                          "Darknet cfg here; export it with --format ultralytics (the YAML as opened) or save its "
                          "design JSON")
    if cfg.is_detector:
        raise ConfigError("format", f"{cfg.family} design {cfg.name}: a detector's anchor-free Detect head (DFL box "
                          "distances, no anchors) has no Darknet layer: Darknet's [yolo] is anchor-based; export it "
                          "as an Ultralytics YAML (--format ultralytics), or set task=classify for its backbone")
    d = _write(cfg)
    allowed = allowances(d.tally)
    head = [f"# {cfg.name or cfg.family}: exported by CSPNet Explorer (explorer.io.darknet_export) from a "
            f"{cfg.family} design, fusion {cfg.fusion}",
            f"# {len(d.sections)} layers; the head is global [avgpool] + [connected] {cfg.num_classes} (the design's "
            "linear classifier) + [softmax]"]
    if d.extra_biases:
        head.append(f"# Darknet convs without batch_normalize have a bias: {d.extra_biases:,} parameters more "
                    "than the design, whose bare convs have none")
    if cfg.activation == "leaky_relu":
        head.append(LEAKY_NOTE)
    if d.attention:
        head.append(ATTENTION_NOTE)
    head.append("# read back and checked against the design (explorer.io.check): every op kind's totals per stage "
                "are the design's, but for these stated differences:")
    head += [f"#   {line}" for line in stated(allowed)]
    net = f"[net]\nbatch=1\nwidth={cfg.input_size}\nheight={cfg.input_size}\nchannels=3"
    text = "\n".join(head) + "\n\n" + "\n\n".join([net, *d.sections]) + "\n"
    return text, check_export(cfg, text, "darknet", allowed)


def imported_cfg(cfg) -> str:
    """An imported Darknet cfg (a ``darknet_cfg`` design) as a cfg again: its network text as opened, with its
    stage rewrites (its plain twin's, ``explorer.io.rewrite.plain_twin``, for ``fusion none``:
    ``explorer.io.family.network_text``), and the design's input size as ``[net]`` width and height (every
    ``width=`` / ``height=`` line of ``[net]`` rewritten, or added after its header); comments are kept."""
    from .family import network_text

    lines = network_text(cfg).splitlines()
    head = next((k for k, line in enumerate(lines) if line.strip().startswith("[")), None)
    if head is None:
        raise ConfigError("network", "no [net] section; open a Darknet .cfg")
    end = next((k for k in range(head + 1, len(lines)) if lines[k].strip().startswith("[")), len(lines))
    seen = set()
    for k in range(head + 1, end):
        key = "".join(lines[k].split()).split("=", 1)[0]
        if key in ("width", "height") and "=" in lines[k] and not lines[k].lstrip().startswith(("#", ";")):
            lines[k] = f"{key}={cfg.input_size}"
            seen.add(key)
    lines[head + 1:head + 1] = [f"{key}={cfg.input_size}" for key in ("width", "height") if key not in seen]
    note = (f"# {cfg.name or 'network'}: an imported Darknet cfg written back by CSPNet Explorer at input "
            f"{cfg.input_size} (read back and checked against the design: explorer.io.check)")
    return note + "\n" + "\n".join(lines) + "\n"


def cfg_from_config(cfg) -> str:
    """The Darknet cfg text of design ``cfg`` (a ``CSPConfig``), read back and checked before it is returned
    (:func:`export_cfg`).  Raises ``ConfigError`` (field ``format`` or ``split_ratio``) for a design Darknet
    cannot express; see the module docstring."""
    return export_cfg(cfg)[0]


__all__ = ["cfg_from_config", "export_cfg", "extra_biases", "imported_cfg", "slice_chunks", "without_attention",
           "ACTIVATIONS", "ATTENTION_NOTE", "LEAKY_NOTE"]
