"""Building blocks shared by the families: the CSP split and concat, conv-norm-act, heads.

Tap points are real submodules so forward hooks can see them: ``Split`` returns
``(part1, part2)``, ``Concat`` returns the concatenation.
"""
from __future__ import annotations

import torch
from torch import nn


def make_act(name: str) -> nn.Module:
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
    """Split channels into part 1 (the first ``part1`` channels, bypassing the block) and part 2."""

    def __init__(self, part1: int):
        super().__init__()
        self.part1 = part1

    def forward(self, x: torch.Tensor):
        return x[:, : self.part1], x[:, self.part1:]

    def extra_repr(self) -> str:
        return f"part1={self.part1}"


class Concat(nn.Module):
    """Concatenate along channels (empty parts are skipped)."""

    def forward(self, *parts: torch.Tensor) -> torch.Tensor:
        parts = [p for p in parts if p.shape[1] > 0]
        return parts[0] if len(parts) == 1 else torch.cat(parts, dim=1)


class ConvNormAct(nn.Sequential):
    """Conv (no bias) -> BatchNorm -> activation; children ``conv``, ``bn``, ``act``."""

    def __init__(self, in_ch: int, out_ch: int, kernel: int, stride: int = 1, groups: int = 1,
                 act: str | None = "relu", padding: int | None = None):
        super().__init__()
        self.conv = nn.Conv2d(in_ch, out_ch, kernel, stride, kernel // 2 if padding is None else padding,
                              groups=groups, bias=False)
        self.bn = nn.BatchNorm2d(out_ch)
        if act:
            self.act = make_act(act)


class ClassifierHead(nn.Module):
    """[optional norm + act] -> global average pool -> flatten -> linear.

    Children: ``norm``/``act`` (when ``norm_act`` is given), ``pool``, ``fc``.
    """

    def __init__(self, in_ch: int, num_classes: int, norm_act: str | None = None):
        super().__init__()
        if norm_act:
            self.norm = nn.BatchNorm2d(in_ch)
            self.act = make_act(norm_act)
        self.pool = nn.AdaptiveAvgPool2d(1)
        self.fc = nn.Linear(in_ch, num_classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if hasattr(self, "norm"):
            x = self.act(self.norm(x))
        return self.fc(torch.flatten(self.pool(x), 1))


def plan_head(builder, s, num_classes: int, norm_act: bool):
    """The plan twin of ``ClassifierHead`` (builder prefix ``head``)."""
    builder.tap("input", s)
    if norm_act:
        s = builder.bn("norm", s)
        s = builder.act("act", s)
    s = builder.gap("pool", s)
    builder.tap("pool", s)
    s = builder.linear("fc", s, num_classes)
    builder.tap("output", s)
    return s


class DenseCSPStage(nn.Module):
    """The fusion wiring around a dense block (CSPNet paper Fig. 3), shared by DenseNet and PeleeNet.

    ``ch`` holds the stage's channel arithmetic (keys ``part1``, ``block``, ``partial_transition``,
    ``concat``, ``transition``, ``pool``); ``make_transition(in_ch, out_ch, pool)`` builds the family's
    transition layer.  Submodules are the tap points: ``split``, ``block``, ``partial_transition``,
    ``concat``, ``transition`` (and ``part1_pool`` for fusion_last).
    """

    def __init__(self, fusion: str, ch: dict, block: nn.Module, make_transition):
        super().__init__()
        self.fusion = fusion
        pool = ch["pool"]
        if fusion != "none":
            self.split = Split(ch["part1"])
        self.block = block
        if fusion == "none":
            if ch["transition"] is not None:
                self.transition = make_transition(ch["block"], ch["transition"], pool)
            return
        if fusion == "csp":
            self.partial_transition = make_transition(ch["block"], ch["partial_transition"], False)
        if fusion == "fusion_last":
            self.transition = make_transition(ch["block"], ch["transition"], pool)
            if pool and ch["part1"] > 0:
                self.part1_pool = nn.AvgPool2d(2, 2)
        self.concat = Concat()
        if fusion in ("csp", "fusion_first") and ch["transition"] is not None:
            self.transition = make_transition(ch["concat"], ch["transition"], pool)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.fusion == "none":
            x = self.block(x)
            return self.transition(x) if hasattr(self, "transition") else x
        part1, part2 = self.split(x)
        y = self.block(part2)
        if self.fusion == "fusion_last":
            y = self.transition(y)
            if hasattr(self, "part1_pool"):
                part1 = self.part1_pool(part1)
            return self.concat(part1, y)
        if self.fusion == "csp":
            y = self.partial_transition(y)
        x = self.concat(part1, y)
        return self.transition(x) if hasattr(self, "transition") else x
