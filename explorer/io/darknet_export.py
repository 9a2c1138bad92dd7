"""Darknet ``.cfg`` export: a design (``CSPConfig``, any family) out as a Darknet network file.

Pure Python (no torch).  :func:`cfg_from_config` writes the design's network layer by layer, from the
same channel arithmetic as its plan (``cspnet/families/*.py``), in AlexeyAB darknet's sections:

* an imported Darknet cfg (family ``darknet_cfg``) goes out as itself (:func:`imported_cfg`): its text as
  opened, with its stage rewrites, at the design's input size, read back and checked as every export;
* ``[net]`` width, height (the design's input size), channels=3;
* every conv as ``[convolutional]`` (``groups=`` for grouped and depthwise convs), with
  ``batch_normalize=1`` where the design has BatchNorm right after it and its activation mapped
  (relu -> relu, leaky_relu -> leaky, silu -> swish, mish -> mish; linear where it has none);
* a CSP split of layer x (the expansion or the stage input) into channels ``[0, c1)`` and ``[c1, C)`` as
  ``[route] layers=x groups=G group_id=k`` slices (the k-th of G equal slices of x): each part one
  such route where one slice is the part (equal halves: ``groups=2``, group_id 0 = part 1, 1 = part 2),
  else the fewest aligned slices covering it (:func:`slice_chunks`; e.g. 609 channels into 305 + 304:
  11 and 10 slices) followed by a ``[route]`` concat of them; part 1's layers (and part 1's own path,
  the fusion-last dense pool) come before part 2's.  For two split convs: part 1's conv, a ``[route]``
  back and part 2's conv (the CSPNet authors' layout);
* a concat as ``[route] layers=a,b,...``; a residual add as ``[shortcut] from=`` (activation=relu for
  ResNet's act after the add, linear elsewhere); max pools as ``[maxpool]`` (PyTorch's symmetric
  padding p is Darknet's ``padding=2p``); DenseNet/PeleeNet's 2x2 average pools as AlexeyAB's
  ``[local_avgpool] padding=0``; the pre-activation BN + act of DenseNet (and BottleneckCSP's BN + act
  after the concat) as ``[batchnorm]`` + ``[activation]``;
* timm's squeeze-and-excitation as a global ``[avgpool]``, two biased 1x1 ``[convolutional]`` (the
  design's act, then ``logistic``) and AlexeyAB's ``[scale_channels]``; CSPNeXt's channel attention
  after the concat (``post_concat=attention``: mean, 1x1 conv with bias, hard sigmoid, scale) as
  ``[avgpool]``, one biased 1x1 ``[convolutional]`` with ``activation=logistic`` and
  ``[scale_channels]`` from the concat;
* the head: ``[avgpool]`` (global), ``[connected]`` (the design's linear classifier, with its bias:
  the counts round-trip exactly; a 1x1 conv would count as a conv) and ``[softmax]``.

**Refused** (``ConfigError``): YOLO11's attention block (``psa``: matrix products and a softmax over
positions; field ``format``, pointing to ``--set block_type=...`` with the design's own block types but c3k
in the attention stages (:func:`without_attention`), the same network without attention, and for YOLO11 to the
Ultralytics YAML export); an activation or family with no Darknet twin (field ``format``);
a split whose part needs more slices than one ``[route]`` may concatenate
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
        self.attention = 0         # channel attentions written (their hard sigmoid as logistic)
        self.stage = "stem"        # the design stage being written (the plan's stage name)
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

    def conv(self, x: int, filters: int, size: int, stride: int = 1, padding: int | None = None, groups: int = 1,
             bn: bool = True, act: bool = True, activation: str | None = None, design_bias: bool = False) -> int:
        x = self.at(x)
        c, h, w = self.shape(x)
        padding = size // 2 if padding is None else padding
        opts = {"batch_normalize": 1} if bn else {}
        opts.update(filters=filters, size=size, stride=stride)
        if padding == size // 2:
            opts["pad"] = 1
        else:
            opts["padding"] = padding
        if groups > 1:
            opts["groups"] = groups
        opts["activation"] = activation or (self.act if act else "linear")
        if not bn and not design_bias:   # Darknet gives a conv without BN a bias; the design's has none
            self.extra_biases += filters
            self.state("bias", params=filters)
        out = (filters, (h + 2 * padding - size) // stride + 1, (w + 2 * padding - size) // stride + 1)
        return self._add("convolutional", out, **opts)

    def bn_act(self, x: int, act: bool = True) -> int:
        x = self._add("batchnorm", self.shape(self.at(x)))
        return self._add("activation", self.shape(x), activation=self.act) if act else x

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

    def shortcut(self, frm: int, act: bool = False) -> int:
        return self._add("shortcut", self.shape(self.last), **{"from": self._ref(frm)},
                         activation=self.act if act else "linear")

    def residual(self, x: int, y: int, residual: bool = True) -> int:
        """``y + x`` where the design adds (its ``_residual``: same shape), else ``y``."""
        if residual and self.shape(x) == self.shape(y):
            self.at(y)
            return self.shortcut(x)
        return y

    def squeeze_excite(self, x: int, ratio: float) -> int:
        """timm's SE on layer ``x``: global [avgpool], 1x1 conv (bias) + act, 1x1 conv (bias) + logistic,
        [scale_channels] back onto ``x`` (AlexeyAB darknet's layers for SE)."""
        from cspnet.families._blocks import se_channels

        c = self.shape(x)[0]
        self.at(x)
        self._add("avgpool", (c, 1, 1))
        t = self.conv(self.last, se_channels(c, ratio), 1, bn=False, design_bias=True)
        self.conv(t, c, 1, bn=False, activation="logistic", design_bias=True)
        return self._add("scale_channels", self.shape(x), **{"from": self._ref(x)}, activation="linear")

    def channel_attention(self, x: int) -> int:
        """CSPNeXt's channel attention on layer ``x``: global [avgpool] (a mean), 1x1 conv C -> C (bias),
        its hard sigmoid as ``logistic`` (Darknet has no hard sigmoid; :data:`ATTENTION_NOTE`),
        [scale_channels] back onto ``x``."""
        c = self.shape(x)[0]
        self.at(x)
        self._add("avgpool", (c, 1, 1))
        self.conv(self.last, c, 1, bn=False, activation="logistic", design_bias=True)
        self.attention += 1
        return self._add("scale_channels", self.shape(x), **{"from": self._ref(x)}, activation="linear")

    def head(self, x: int, classes: int) -> int:
        self.at(x)
        c = self.shape(self.last)[0]
        self._add("avgpool", (c, 1, 1))
        self._add("connected", (classes, 1, 1), output=classes, activation="linear")
        self.state("softmax", layers=1, in_elements=classes, out_elements=classes)
        return self._add("softmax", (classes, 1, 1), groups=1)


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
                       "Darknet cfg: convs (grouped, depthwise), BatchNorm, relu/leaky/swish/mish, max and 2x2 "
                       "average pools, channel splits (aligned [route] groups slices), concats, residual adds, "
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


def _check_split(cfg, where: str, channels: int, part1: int, part2: int) -> tuple:
    """The chunks of part 1 and part 2 (:func:`slice_chunks`), refused (field ``split_ratio``) when a part
    needs more slices than one Darknet route may concatenate (``explorer.io.darknet.MAX_ROUTE_INPUTS``)."""
    from .darknet import MAX_ROUTE_INPUTS

    assert part1 + part2 == channels and part1 > 0 and part2 > 0, (where, channels, part1, part2)
    parts = slice_chunks(channels, 0, part1), slice_chunks(channels, part1, channels)
    for k, chunks in enumerate(parts, 1):
        if len(chunks) > MAX_ROUTE_INPUTS:
            raise ConfigError("split_ratio", f"split ratio {cfg.split_ratio:g} splits {where}'s {channels} "
                              f"channels into {part1} + {part2}; Darknet's [route] groups=G group_id=k takes the "
                              f"k-th of G equal slices (widths dividing {channels}), so part {k} needs "
                              f"{len(chunks)} aligned slices concatenated, more than the {MAX_ROUTE_INPUTS} "
                              "inputs one [route] may take (a width with more divisors exports, e.g. an even "
                              "width at split_ratio 0.5)")
    return parts


def _split(cfg, d: _Cfg, x: int, part1: int, part2: int, where: str, path1=None) -> tuple:
    """Part 1 and part 2 of layer ``x`` (its channels ``[0, part1)`` and ``[part1, C)``): each part one
    ``[route] groups=G group_id=k`` of ``x``, or several such aligned chunks and a ``[route]`` concat of
    them (:func:`slice_chunks`).  Part 1's layers come first, then ``path1`` (part 1's own path, e.g. the
    fusion-last dense pool), then part 2's; returns (part 1's last layer, part 2)."""
    chunks1, chunks2 = _check_split(cfg, where, d.shape(x)[0], part1, part2)

    def part(chunks):
        routes = [d.route([x], g, k) for g, k in chunks]
        if len(routes) > 1:
            d.split_routes += len(routes)
            cat = d.route(routes)
            n = d.shape(cat)[0] * d.shape(cat)[1] * d.shape(cat)[2]
            d.state("slices", layers=1, in_elements=n, out_elements=n)
            return cat
        return routes[0]

    p1 = part(chunks1)
    if path1 is not None:
        p1 = path1(p1)
    return p1, part(chunks2)


# --------------------------------------------------------------------------- cross stages (ResNet .. lineage)
# the block types _block writes (cspnet.families._blocks.BLOCK_TYPES; psa has no Darknet layer)
WRITTEN_BLOCKS = ("bottleneck", "dark", "edge", "bottleneck_3x3", "cspnext", "conv_pair", "conv", "c3k")


def _block(d: _Cfg, kind: str, x: int, out: int, mid: int, stride: int, groups: int, residual: bool,
           se: float = 0.0) -> int:
    """One block of ``cspnet.families._blocks`` (same layers, same order of shapes; ``se``: its SE ratio)."""
    if kind == "bottleneck":
        t = d.conv(x, mid, 1)
        t = d.conv(t, mid, 3, stride, groups=groups)
        t = d.conv(t, out, 1, act=False)
        if stride != 1 or d.shape(x)[0] != out:
            d.conv(x, out, 1, stride, act=False)
            return d.shortcut(t, act=True)
        return d.shortcut(x, act=True)
    if kind == "dark":
        t = d.conv(x, mid, 1)
        t = d.conv(d.squeeze_excite(t, se) if se else t, out, 3, groups=groups)
    elif kind == "edge":
        t = d.conv(x, mid, 3, groups=groups)
        t = d.conv(d.squeeze_excite(t, se) if se else t, out, 1)
    elif kind == "bottleneck_3x3":
        t = d.conv(d.conv(x, mid, 3), out, 3, groups=groups)
    elif kind == "cspnext":
        t = d.conv(d.conv(d.conv(x, mid, 3), mid, 5, groups=mid), out, 1)
    elif kind == "conv_pair":
        t = d.conv(d.conv(x, mid, 3, groups=groups), out, 3, groups=groups)
    elif kind == "conv":
        t = d.conv(x, out, 3, groups=groups)
    elif kind == "c3k":
        t = d.conv(x, mid, 1)
        cross = d.conv(x, mid, 1)
        for _ in range(2):
            t = _block(d, "bottleneck_3x3", t, mid, mid, 1, groups, residual)
        return d.conv(d.route([t, cross]), out, 1)
    else:
        raise AssertionError(kind)   # refused before (psa)
    return d.residual(x, t, residual)


def _cross_stage(d: _Cfg, cfg, i: int, lay, x: int) -> int:
    """One stage of ``cspnet.families._crossstage.plan_stage``."""
    if lay.down_ch:
        if lay.down_kind == "mp":
            half = lay.down_ch // 2
            a = d.conv(d.pool(x, "maxpool", 2, 2), half, 1)
            c = d.conv(d.conv(x, half, 1), half, 3, 2)
            x = d.route([c, a])
        else:
            x = d.conv(x, lay.down_ch, 3, lay.stride, groups=lay.down_groups)
    if lay.spp:
        t = d.conv(x, d.shape(x)[0] // 2, 1)
        pools = [d.pool(t, "maxpool", k, 1, k // 2) for k in (5, 9, 13)]
        x = d.conv(d.route([t, *pools]), d.shape(x)[0], 1)
    part1 = None
    if lay.fusion != "none":
        where = f"stage {i}"
        if lay.split == "one":
            e = d.conv(x, lay.expand_ch, 1, act=lay.expand_act)
            part1, x = _split(cfg, d, e, lay.part1, lay.part2, where)
        elif lay.split == "slice":
            part1, x = _split(cfg, d, x, lay.part1, lay.part2, where)
        elif lay.split == "shared":   # BottleneckCSP2: part 2's conv, then part 1 a bare 1x1 conv of part 2
            x = d.conv(x, lay.part2, 1)
            part1 = d.conv(x, lay.part1, 1, bn=False, act=False)
        else:   # two / two_bare: part 1's conv, a route back, part 2's conv (the CSPNet authors' cfgs)
            bare = lay.split == "two_bare"
            part1 = d.conv(x, lay.part1, 1, bn=not bare, act=not bare)
            x = d.conv(x, lay.part2, 1)
    outs = [x]
    stride = lay.block_stride
    for _ in range(lay.repeats):
        x = _block(d, lay.block, x, lay.block_ch, lay.mid, stride, lay.groups, lay.residual, lay.se_ratio)
        outs.append(x)
        stride = 1
    if lay.taps == "all":
        x = d.route(outs)
    if lay.fusion != "none":
        if lay.partial_ch:
            bare = lay.split == "two_bare"
            x = d.conv(x, lay.partial_ch, 1, bn=not bare, act=not bare)
        x = d.route([part1, x])
        if lay.post == "bn_act":
            x = d.bn_act(x)
        elif lay.post == "attention":
            x = d.channel_attention(x)
    if lay.has_transition:
        x = d.conv(x, lay.out_ch, 1)
    return x


def _cross_network(d: _Cfg, cfg, style) -> None:
    from cspnet.families._blocks import BLOCK_TYPES

    layouts = style.layouts(cfg)
    for i, lay in enumerate(layouts):
        if lay.block == "psa":
            raise _refuse(cfg, f"stage {i}'s attention block (block_type psa: matrix products and a softmax over "
                          "positions)", psa=True)
        if lay.block not in WRITTEN_BLOCKS:   # a block type registered without a Darknet writing
            raise ConfigError("format", f"{cfg.family} design {cfg.name}: stage {i}'s block type {lay.block!r} "
                              f"({BLOCK_TYPES[lay.block].description}) has no Darknet writing here; exportable "
                              f"block types: {', '.join(WRITTEN_BLOCKS)}")
    x = -1
    d.stage = "stem"
    stem = style.stem_layers(cfg)
    if stem:
        for layer in stem:
            if layer.kind == "dark":
                x = _block(d, "dark", x, layer.out_ch, layer.mid, 1, 1, True)
            else:
                x = d.conv(x, layer.out_ch, layer.kernel, layer.stride, padding=layer.padding)
    else:
        x = d.conv(x, cfg.stem_channels, cfg.stem_kernel, cfg.stem_stride)
        if cfg.stem_pool == "max":
            x = d.pool(x, "maxpool", 3, 2, 1)
    for i, lay in enumerate(layouts):
        d.stage = f"stages.{i}"
        x = _cross_stage(d, cfg, i, lay, x)
    d.stage = "head"
    if style.head_conv:
        x = d.conv(x, style.head_conv, 1)
    d.head(x, cfg.num_classes)


# --------------------------------------------------------------------------- dense families
def _dense_stage(d: _Cfg, cfg, i: int, ch: dict, x: int, block, transition) -> int:
    """One stage of ``cspnet.families._dense.plan_dense_stage``."""
    pool = ch["pool"]
    if cfg.fusion == "none":
        x = block(x)
        return transition(x, ch["transition"], pool) if ch["transition"] is not None else x
    if not ch["part1"]:     # split_ratio 1.0: no bypass
        p1, p2 = None, x
    elif cfg.fusion == "fusion_last" and pool:
        # part 1's pool comes before part 2 (the importer reads part 1 as the layers before part 2's route)
        p1, p2 = _split(cfg, d, x, ch["part1"], ch["part2"], f"stage {i}",
                        lambda p: d.pool(p, "local_avgpool", 2, 2))
    else:
        p1, p2 = _split(cfg, d, x, ch["part1"], ch["part2"], f"stage {i}")
    y = block(p2)
    if cfg.fusion == "fusion_last":
        y = transition(y, ch["transition"], pool)
        return d.route([p1, y]) if p1 is not None else y
    if cfg.fusion == "csp":
        y = transition(y, ch["partial_transition"], False)
    x = d.route([p1, y]) if p1 is not None else y
    return transition(x, ch["transition"], pool) if ch["transition"] is not None else x


def _densenet(d: _Cfg, cfg) -> None:
    from cspnet.families.densenet import all_stage_channels

    x = d.conv(-1, cfg.stem_channels, cfg.stem_kernel, cfg.stem_stride, bn=cfg.stem_norm, act=cfg.stem_norm)
    if cfg.stem_pool == "max":
        x = d.pool(x, "maxpool", 3, 2, 1)

    def transition(x, out_ch, pool):   # BN, act, 1x1 conv (no BN after it: Darknet adds a bias), 2x2 avg pool
        x = d.conv(d.bn_act(x), out_ch, 1, bn=False, act=False)
        return d.pool(x, "local_avgpool", 2, 2) if pool else x

    for i, ch in enumerate(all_stage_channels(cfg)):
        growth, bn_size, repeats = cfg.growth_rate[i], cfg.bn_size[i], cfg.repeats[i]

        def block(x, growth=growth, bn_size=bn_size, repeats=repeats):
            feats = [x]
            for _ in range(repeats):
                t = d.route(feats) if len(feats) > 1 else feats[0]
                t = d.conv(d.bn_act(t), bn_size * growth, 1)
                feats.append(d.conv(t, growth, 3, bn=False, act=False))
            return d.route(feats) if len(feats) > 1 else feats[0]

        d.stage = f"stages.{i}"
        x = _dense_stage(d, cfg, i, ch, x, block, transition)
    d.stage = "head"
    if cfg.head_norm:
        x = d.bn_act(x)
    d.head(x, cfg.num_classes)


def _peleenet(d: _Cfg, cfg) -> None:
    from cspnet.families.peleenet import all_stage_channels

    c, k = cfg.stem_channels, cfg.stem_kernel
    x = d.conv(-1, c, k, cfg.stem_stride)
    y = d.conv(d.conv(x, c // 2, 1), c, 3, 2)
    if cfg.stem_pool == "max":
        y = d.route([d.pool(x, "maxpool", 2, 2), y])
    x = d.conv(y, c, 1)

    def transition(x, out_ch, pool):
        x = d.conv(x, out_ch, 1)
        return d.pool(x, "local_avgpool", 2, 2) if pool else x

    for i, ch in enumerate(all_stage_channels(cfg)):
        half = cfg.growth_rate[i] // 2

        def block(x, layers=ch["layers"], half=half):
            for _, inter in layers:
                b1 = d.conv(d.conv(x, inter, 1), half, 3)
                b2 = d.conv(d.conv(d.conv(x, inter, 1), half, 3), half, 3)
                x = d.route([x, b1, b2])
            return x

        d.stage = f"stages.{i}"
        x = _dense_stage(d, cfg, i, ch, x, block, transition)
    d.stage = "head"
    if cfg.head_norm:
        x = d.bn_act(x)
    d.head(x, cfg.num_classes)


# --------------------------------------------------------------------------- the file
def _write(cfg) -> _Cfg:
    from cspnet.families import get_family

    if cfg.activation not in ACTIVATIONS:
        raise _refuse(cfg, f"activation {cfg.activation}")
    d = _Cfg(cfg.input_size, ACTIVATIONS[cfg.activation])
    if cfg.family == "densenet":
        _densenet(d, cfg)
    elif cfg.family == "peleenet":
        _peleenet(d, cfg)
    else:
        family = get_family(cfg.family)
        style = getattr(family.plan, "__self__", None)   # a cross-stage family's plan is its style's method
        if style is None:
            named = f" {cfg.name}" if cfg.name else ""
            raise ConfigError("format", f"{cfg.family} design{named}: the {cfg.family} family has no Darknet cfg "
                              "writer (it is no cross-stage network of the stage abstraction); save it as a design "
                              "JSON")
        _cross_network(d, cfg, style)
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
    stage rewrites, and the design's input size as ``[net]`` width and height (every ``width=`` / ``height=``
    line of ``[net]`` rewritten, or added after its header); comments are kept."""
    lines = cfg.network.splitlines()
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
