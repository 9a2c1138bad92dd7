"""Modules shared by every family: activations, the CSP split and concat, conv-norm-act, the head.

Tap points are real submodules so forward hooks can see them: ``Split`` returns ``(part1, part2)``,
``Concat`` returns the concatenation.  Pure twins: ``cspnet/families/_common.py`` and the layer
methods of ``cspnet.plan.PlanBuilder``.
"""
from __future__ import annotations

import torch
from torch import nn


def make_act(name: str) -> nn.Module:
    """Plan twin: ``cspnet.plan.PlanBuilder.act``."""
    if name == "relu":
        return nn.ReLU()
    if name == "leaky_relu":
        return nn.LeakyReLU()  # timm's 'leaky_relu' default slope (0.01)
    if name == "silu":
        return nn.SiLU()
    if name == "mish":
        return nn.Mish()
    raise ValueError(f"unknown activation {name!r}")


class Split(nn.Module):
    """Split channels into part 1 (the first ``part1`` channels, bypassing the block) and part 2.

    Plan twin: ``cspnet.plan.PlanBuilder.tap`` (the ``part1`` and ``part2`` taps; a split is no layer)."""

    def __init__(self, part1: int):
        super().__init__()
        self.part1 = part1

    def forward(self, x: torch.Tensor):
        return x[:, : self.part1], x[:, self.part1:]

    def extra_repr(self) -> str:
        return f"part1={self.part1}"


class Concat(nn.Module):
    """Concatenate along channels (empty parts are skipped).

    Plan twin: ``cspnet.plan.PlanBuilder.cat``."""

    def forward(self, *parts: torch.Tensor) -> torch.Tensor:
        parts = [p for p in parts if p.shape[1] > 0]
        return parts[0] if len(parts) == 1 else torch.cat(parts, dim=1)


class ConvNormAct(nn.Sequential):
    """Conv (no bias) -> BatchNorm -> activation; children ``conv``, ``bn``, ``act``.

    Plan twin: ``cspnet.plan.PlanBuilder.conv_bn_act``."""

    def __init__(self, in_ch: int, out_ch: int, kernel: int, stride: int = 1, groups: int = 1,
                 act: str | None = "relu", padding: int | None = None):
        super().__init__()
        self.conv = nn.Conv2d(in_ch, out_ch, kernel, stride, kernel // 2 if padding is None else padding,
                              groups=groups, bias=False)
        self.bn = nn.BatchNorm2d(out_ch)
        if act:
            self.act = make_act(act)


class ClassifierHead(nn.Module):
    """[optional norm + act | optional 1x1 conv + BN + act] -> global average pool -> flatten -> linear.

    Children: ``norm``/``act`` (when ``norm_act`` is given), ``conv`` (when ``conv_ch``: Ultralytics'
    Classify, a 1x1 conv to 1280 channels), ``pool``, ``fc``.
    Plan twin: ``cspnet.families._common.plan_head``.
    """

    def __init__(self, in_ch: int, num_classes: int, norm_act: str | None = None, conv_ch: int = 0,
                 conv_act: str = "silu"):
        super().__init__()
        if norm_act:
            self.norm = nn.BatchNorm2d(in_ch)
            self.act = make_act(norm_act)
        if conv_ch:
            self.conv = ConvNormAct(in_ch, conv_ch, 1, act=conv_act)
            in_ch = conv_ch
        self.pool = nn.AdaptiveAvgPool2d(1)
        self.fc = nn.Linear(in_ch, num_classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if hasattr(self, "norm"):
            x = self.act(self.norm(x))
        if hasattr(self, "conv"):
            x = self.conv(x)
        return self.fc(torch.flatten(self.pool(x), 1))
