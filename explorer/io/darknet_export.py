"""Darknet ``.cfg`` export: a design (``CSPConfig``, any family) out as a Darknet network file.

Pure Python (no torch).  :func:`cfg_from_config` writes the design's network layer by layer, from the
same channel arithmetic as its plan (``cspnet/families/*.py``), in AlexeyAB darknet's sections:

* ``[net]`` width, height (the design's input size), channels=3;
* every conv as ``[convolutional]`` (``groups=`` for grouped and depthwise convs), with
  ``batch_normalize=1`` where the design has BatchNorm right after it and its activation mapped
  (relu -> relu, leaky_relu -> leaky, silu -> swish, mish -> mish; linear where it has none);
* a CSP split as two ``[route] groups=2`` halves (group_id 0 = part 1, 1 = part 2) of the expansion
  or of the stage input, or, for two split convs, part 1's conv, a ``[route]`` back and part 2's conv;
* a concat as ``[route] layers=a,b,...``; a residual add as ``[shortcut] from=`` (activation=relu for
  ResNet's act after the add, linear elsewhere); max pools as ``[maxpool]`` (PyTorch's symmetric
  padding p is Darknet's ``padding=2p``); DenseNet/PeleeNet's 2x2 average pools as AlexeyAB's
  ``[local_avgpool] padding=0``; the pre-activation BN + act of DenseNet (and BottleneckCSP's BN + act
  after the concat) as ``[batchnorm]`` + ``[activation]``;
* the head: ``[avgpool]`` (global), ``[connected]`` (the design's linear classifier, with its bias:
  the counts round-trip exactly; a 1x1 conv would count as a conv) and ``[softmax]``.

**Refused** (``ConfigError`` with field ``format``, naming the block and what exports): blocks with no
Darknet layer, i.e. squeeze-and-excitation (``se_ratio`` > 0: a mean and a sigmoid scale), CSPNeXt's
channel attention (``post_concat=attention``: a hard sigmoid) and YOLO11's attention block (``psa``:
matrix products); and (field ``split_ratio``) a split into unequal parts, since Darknet's
``[route] groups=2`` halves evenly.

**Not exact**: Darknet's conv always has a bias where it has no BatchNorm, so a design's bare
bias-free convs (DenseNet's pre-activation convs, a stem without ``stem_norm``, BottleneckCSP's bare
cross conv and partial transition) gain one parameter per output channel (:func:`extra_biases`); the
MACs, every shape and every other count are unchanged.  ``leaky_relu`` is timm's slope 0.01 and
Darknet's ``leaky`` 0.1 (a comment in the cfg says so; no count depends on it).

Importing the file (``explorer.io.darknet.parse_cfg``) gives the design's parameters (plus
:func:`extra_biases`), its MACs in every counting convention and its layer shapes
(tests/test_darknet_export.py, on every preset).
"""
from __future__ import annotations

from cspnet.errors import ConfigError

ACTIVATIONS = {"relu": "relu", "leaky_relu": "leaky", "silu": "swish", "mish": "mish"}
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

    def head(self, x: int, classes: int) -> int:
        self.at(x)
        c = self.shape(self.last)[0]
        self._add("avgpool", (c, 1, 1))
        self._add("connected", (classes, 1, 1), output=classes, activation="linear")
        return self._add("softmax", (classes, 1, 1), groups=1)


def _refuse(cfg, what: str) -> ConfigError:
    named = f" {cfg.name}" if cfg.name else ""
    return ConfigError("format", f"{cfg.family} design{named}: {what} has no Darknet layer; exportable "
                       "to a Darknet cfg: convs (grouped, depthwise), BatchNorm, relu/leaky/swish/mish, max and 2x2 "
                       "average pools, splits into equal halves, concats, residual adds, global pool + linear, "
                       "squeeze-and-excitation ([scale_channels]); not channel attention or self-attention")


def _halves(cfg, x: int, part1: int, part2: int, where: str, d: _Cfg) -> tuple:
    """Part 1 and part 2 of ``x`` as Darknet's even channel halves (refused when they are not equal)."""
    _check_halves(cfg, part1, part2, where)
    return d.route([x], 2, 0), d.route([x], 2, 1)


def _check_halves(cfg, part1: int, part2: int, where: str) -> None:
    if part1 != part2:
        raise ConfigError("split_ratio", f"{cfg.split_ratio:g} splits {where}'s {part1 + part2} channels into "
                          f"{part1} + {part2}; Darknet's [route] groups=2 halves evenly, so a Darknet cfg needs "
                          "equal parts (split_ratio 0.5 of an even width)")


# --------------------------------------------------------------------------- cross stages (ResNet .. lineage)
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
            part1, x = _halves(cfg, e, lay.part1, lay.part2, where, d)
        elif lay.split == "slice":
            part1, x = _halves(cfg, x, lay.part1, lay.part2, where, d)
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
    if lay.has_transition:
        x = d.conv(x, lay.out_ch, 1)
    return x


def _cross_network(d: _Cfg, cfg, style) -> None:
    from cspnet.families._blocks import BLOCK_TYPES

    layouts = style.layouts(cfg)
    for i, lay in enumerate(layouts):
        if lay.block == "psa":
            raise _refuse(cfg, f"stage {i}'s attention block (block_type psa: matrix products, softmax)")
        if lay.fusion != "none" and lay.post == "attention":
            raise _refuse(cfg, f"stage {i}'s channel attention (post_concat attention: mean, hard sigmoid scale)")
        assert lay.block in BLOCK_TYPES
    x = -1
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
        x = _cross_stage(d, cfg, i, lay, x)
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
        # part 1's pool comes before the block path (the importer reads part 1 as the layers before the split)
        _check_halves(cfg, ch["part1"], ch["part2"], f"stage {i}")
        p1 = d.pool(d.route([x], 2, 0), "local_avgpool", 2, 2)
        p2 = d.route([x], 2, 1)
    else:
        p1, p2 = _halves(cfg, x, ch["part1"], ch["part2"], f"stage {i}", d)
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

        x = _dense_stage(d, cfg, i, ch, x, block, transition)
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

        x = _dense_stage(d, cfg, i, ch, x, block, transition)
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
            raise _refuse(cfg, f"family {cfg.family}")
        _cross_network(d, cfg, style)
    return d


def extra_biases(cfg) -> int:
    """Parameters the exported cfg has beyond the design: the biases of the convs that have no BatchNorm
    after them (Darknet's conv always has one there; the design's bare convs have none) and the
    classifier's none (its bias is the design's)."""
    return _write(cfg).extra_biases


def cfg_from_config(cfg) -> str:
    """The Darknet cfg text of design ``cfg`` (a ``CSPConfig``).  Raises ``ConfigError`` (field ``format``
    or ``split_ratio``) for a design Darknet cannot express; see the module docstring."""
    d = _write(cfg)
    head = [f"# {cfg.name or cfg.family}: exported by CSPNet Explorer (explorer.io.darknet_export) from a "
            f"{cfg.family} design, fusion {cfg.fusion}",
            f"# {len(d.sections)} layers; the head is global [avgpool] + [connected] {cfg.num_classes} (the design's "
            "linear classifier) + [softmax]"]
    if d.extra_biases:
        head.append(f"# Darknet convs without batch_normalize have a bias: {d.extra_biases:,} parameters more "
                    "than the design, whose bare convs have none")
    if cfg.activation == "leaky_relu":
        head.append(LEAKY_NOTE)
    net = f"[net]\nbatch=1\nwidth={cfg.input_size}\nheight={cfg.input_size}\nchannels=3"
    return "\n".join(head) + "\n\n" + "\n\n".join([net, *d.sections]) + "\n"


__all__ = ["cfg_from_config", "extra_biases", "ACTIVATIONS"]
