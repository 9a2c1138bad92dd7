"""The real PyTorch model of an imported Darknet cfg: one module per Darknet layer, run in order.

``build_model(net)`` takes the :class:`explorer.io.darknet.DarknetNet` that ``parse_cfg`` returned;
the model's modules are named ``layers.<i>`` (and ``layers.<i>.conv``/``.bn``/``.act``/``.linear``), the
paths of the plan's ops, so hooks and the analytic plan match by name.  Its parameters equal the
analytic count and every layer's output shape the analytic shape (tests/test_darknet_cfg.py).

Semantics follow AlexeyAB darknet: a conv pads ``padding`` on every side; a maxpool pads
``padding // 2`` before and the rest after (with -inf); a route concatenates its inputs' ``group_id``-th
channel slices; a shortcut adds the ``from`` output onto the previous output over their common channels
(subsampled with stride k when the ``from`` map is k times larger, as ``shortcut_cpu``); the leaky
activation has slope 0.1.  [yolo] and [cost] are identities whose outputs the model returns (a tuple
when there are several); otherwise the model returns the last layer's output.
"""
from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from explorer.io.darknet import DarknetNet, Layer


class HardMish(nn.Module):
    """Darknet's hard_mish: x * min(max(x + 2, 0), 2) / 2."""

    def forward(self, x):
        return x * torch.clamp(x + 2, 0, 2) / 2


def make_act(name: str) -> nn.Module | None:
    if name == "linear":
        return None
    return {"leaky": lambda: nn.LeakyReLU(0.1), "relu": nn.ReLU, "relu6": nn.ReLU6, "logistic": nn.Sigmoid,
            "tanh": nn.Tanh, "swish": nn.SiLU, "mish": nn.Mish, "hard_mish": HardMish, "elu": nn.ELU,
            "selu": nn.SELU, "gelu": nn.GELU}[name]()


class DarknetConv(nn.Module):
    """[convolutional]: conv (bias only without BatchNorm), BatchNorm, activation."""

    def __init__(self, layer: Layer):
        super().__init__()
        a = layer.attrs
        bn = bool(a["batch_normalize"])
        self.conv = nn.Conv2d(layer.in_shape[0], a["filters"], a["size"], a["stride"], a["padding"],
                              groups=a["groups"], bias=not bn)
        self.bn = nn.BatchNorm2d(a["filters"]) if bn else None
        self.act = make_act(a["activation"])

    def forward(self, x):
        x = self.conv(x)
        if self.bn is not None:
            x = self.bn(x)
        return x if self.act is None else self.act(x)


class DarknetMaxPool(nn.Module):
    """[maxpool]: Darknet pads ``padding // 2`` before and ``padding - padding // 2`` after."""

    def __init__(self, layer: Layer):
        super().__init__()
        a = layer.attrs
        self.size, self.stride, self.padding = a["size"], a["stride"], a["padding"]

    def forward(self, x):
        if self.padding:
            lo = self.padding // 2
            hi = self.padding - lo
            x = F.pad(x, (lo, hi, lo, hi), value=float("-inf"))
        return F.max_pool2d(x, self.size, self.stride)


class DarknetLocalAvgPool(DarknetMaxPool):
    """[local_avgpool]: Darknet's padding as [maxpool]; the mean over the window's pixels inside the map."""

    def forward(self, x):
        lo = self.padding // 2
        pad = (lo, self.padding - lo, lo, self.padding - lo)
        total = F.avg_pool2d(F.pad(x, pad), self.size, self.stride, divisor_override=1)
        if not self.padding:
            return total / (self.size * self.size)
        ones = F.pad(torch.ones_like(x[:1, :1]), pad)
        return total / F.avg_pool2d(ones, self.size, self.stride, divisor_override=1)


class BatchNormLayer(nn.Module):
    """[batchnorm]: BatchNorm alone (module ``bn``, the plan's op path)."""

    def __init__(self, layer: Layer):
        super().__init__()
        self.bn = nn.BatchNorm2d(layer.in_shape[0])

    def forward(self, x):
        return self.bn(x)


class ActivationLayer(nn.Module):
    """[activation]: an activation alone (module ``act``)."""

    def __init__(self, layer: Layer):
        super().__init__()
        self.act = make_act(layer.attrs["activation"])

    def forward(self, x):
        return x if self.act is None else self.act(x)


class Route(nn.Module):
    """[route]: the ``group_id``-th of ``groups`` channel slices of each input, concatenated."""

    def __init__(self, layer: Layer):
        super().__init__()
        self.groups, self.group_id = layer.attrs["groups"], layer.attrs["group_id"]

    def forward(self, xs: list):
        if self.groups > 1:
            sliced = []
            for x in xs:
                n = x.shape[1] // self.groups
                sliced.append(x[:, self.group_id * n:(self.group_id + 1) * n])
            xs = sliced
        return xs[0] if len(xs) == 1 else torch.cat(xs, 1)


class Shortcut(nn.Module):
    """[shortcut]: previous output + the ``from`` output over their common channels, then activation."""

    def __init__(self, layer: Layer):
        super().__init__()
        self.step, self.channels = layer.attrs["step"], layer.attrs["channels"]
        self.act = make_act(layer.attrs["activation"])

    def forward(self, x, src):
        if src.shape != x.shape:
            if self.step > 1:
                src = src[:, :, ::self.step, ::self.step]
            m = self.channels
            src = src[:, :m]
            # fewer from-channels: the rest of x passes unchanged (src zero-padded: one add, as the plan has it)
            x = x + src if m == x.shape[1] else x + F.pad(src, (0, 0, 0, 0, 0, x.shape[1] - m))
        else:
            x = x + src
        return x if self.act is None else self.act(x)


class SqueezeMean(nn.Module):
    """The global [avgpool] of a squeeze-and-excitation: ``x.mean((2, 3), keepdim=True)``."""

    def forward(self, x):
        return x.mean((2, 3), keepdim=True)


class ScaleChannels(nn.Module):
    """[scale_channels]: the ``from`` map times the previous layer's C x 1 x 1 output (SE's scaling)."""

    def forward(self, x, src):
        return src * x


class Upsample(nn.Module):
    """[upsample]: nearest, ``stride`` times, values times ``scale``."""

    def __init__(self, layer: Layer):
        super().__init__()
        self.stride, self.scale = layer.attrs["stride"], layer.attrs["scale"]

    def forward(self, x):
        if self.stride > 1:
            x = F.interpolate(x, scale_factor=self.stride, mode="nearest")
        return x if self.scale == 1 else x * self.scale


class Connected(nn.Module):
    """[connected]: flatten, linear (bias only without BatchNorm), BatchNorm, activation; N x out x 1 x 1."""

    def __init__(self, layer: Layer):
        super().__init__()
        a = layer.attrs
        c, h, w = layer.in_shape
        bn = bool(a["batch_normalize"])
        self.linear = nn.Linear(c * h * w, a["output"], bias=not bn)
        self.bn = nn.BatchNorm1d(a["output"]) if bn else None
        self.act = make_act(a["activation"])

    def forward(self, x):
        x = self.linear(x.flatten(1))
        if self.bn is not None:
            x = self.bn(x)
        if self.act is not None:
            x = self.act(x)
        return x[:, :, None, None]


class Softmax(nn.Module):
    """[softmax] (groups=1): softmax over all of a sample's values, divided by ``temperature`` first."""

    def __init__(self, layer: Layer):
        super().__init__()
        self.temperature = layer.attrs["temperature"]

    def forward(self, x):
        return torch.softmax(x.flatten(1) / self.temperature, 1).view_as(x)


def _module(layer: Layer) -> nn.Module:
    kind = layer.kind
    if kind == "conv":
        return DarknetConv(layer)
    if kind == "maxpool":
        return DarknetMaxPool(layer)
    if kind == "local_avgpool":
        return DarknetLocalAvgPool(layer)
    if kind == "batchnorm":
        return BatchNormLayer(layer)
    if kind == "activation":
        return ActivationLayer(layer)
    if kind == "avgpool":   # an SE's squeeze is a mean over H, W (as timm's SE: fvcore counts no pool)
        return SqueezeMean() if layer.attrs.get("squeeze") else nn.AdaptiveAvgPool2d(1)
    if kind == "route":
        return Route(layer)
    if kind == "shortcut":
        return Shortcut(layer)
    if kind == "upsample":
        return Upsample(layer)
    if kind == "scale_channels":
        return ScaleChannels()
    if kind == "connected":
        return Connected(layer)
    if kind == "softmax":
        return Softmax(layer)
    if kind == "dropout":
        return nn.Dropout(layer.attrs["probability"])
    return nn.Identity()     # [yolo], [cost]: the model's outputs


TWO_INPUTS = ("shortcut", "scale_channels")    # (previous output, the ``from`` layer's output)
READS_BACK = ("route",) + TWO_INPUTS             # layers that read earlier outputs by index


def run_layer(module: nn.Module, kind: str, ins: tuple, i: int, x, saved: dict):
    """Layer ``i``'s output from the previous output ``x`` and the ``saved`` earlier outputs it reads."""
    if kind == "route":
        return module([x if j == i - 1 else saved[j] for j in ins])
    if kind in TWO_INPUTS:
        return module(x, x if ins[1] == i - 1 else saved[ins[1]])
    return module(x)


class DarknetModel(nn.Module):
    """Runs the layers in order; routes and shortcuts read earlier outputs by index (only the outputs
    some later layer reads are kept)."""

    def __init__(self, net: DarknetNet):
        super().__init__()
        self.name = net.name
        self.input_shape = tuple(net.input_shape)
        self.layers = nn.ModuleList(_module(layer) for layer in net.layers)
        self.kinds = [layer.kind for layer in net.layers]
        self.inputs = [tuple(layer.inputs) for layer in net.layers]
        self.heads = net.head_layers
        read = {j for layer in net.layers if layer.kind in READS_BACK for j in layer.inputs}
        self.keep = frozenset(read | set(self.heads))

    def forward(self, x):
        saved = {}
        for i, (module, kind, ins) in enumerate(zip(self.layers, self.kinds, self.inputs)):
            x = run_layer(module, kind, ins, i, x, saved)
            if i in self.keep:
                saved[i] = x
        if self.heads:
            outs = tuple(saved[h] for h in self.heads)
            return outs[0] if len(outs) == 1 else outs
        return x


def build_model(net: DarknetNet) -> DarknetModel:
    """The model in eval mode (random weights), on the CPU."""
    return DarknetModel(net).eval()


def count_params(model: nn.Module) -> int:
    return sum(p.numel() for p in model.parameters())


__all__ = ["DarknetModel", "build_model", "count_params", "make_act"]
