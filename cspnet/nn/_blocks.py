"""The block types a cross stage repeats: the module classes of ``cspnet.families._blocks.BLOCK_TYPES``.

Every class takes ``(in_ch, out_ch, mid, stride, groups, act)``; its plan twin is in
``cspnet/families/_blocks.py``.
"""
from __future__ import annotations

from torch import nn

from ._common import ConvNormAct, make_act


class Bottleneck(nn.Module):
    """ResNet bottleneck: 1x1 -> 3x3 (stride, groups) -> 1x1 (no act), + shortcut, then act.

    With ``stride=1`` and equal channels this is timm's CSP ``BottleneckBlock``; otherwise the
    shortcut is torchvision's ``downsample`` (strided 1x1 conv + BN) and the stride sits on the
    3x3 conv (ResNet v1.5).  Plan twin: ``cspnet.families._blocks.plan_bottleneck``.
    """

    def __init__(self, in_ch: int, out_ch: int, mid: int, stride: int = 1, groups: int = 1,
                 act: str = "relu"):
        super().__init__()
        self.conv1 = ConvNormAct(in_ch, mid, 1, act=act)
        self.conv2 = ConvNormAct(mid, mid, 3, stride, groups=groups, act=act)
        self.conv3 = ConvNormAct(mid, out_ch, 1, act=None)
        needs_projection = stride != 1 or in_ch != out_ch
        self.downsample = ConvNormAct(in_ch, out_ch, 1, stride, act=None) if needs_projection else None
        self.act = make_act(act)

    def forward(self, x):
        shortcut = x if self.downsample is None else self.downsample(x)
        return self.act(self.conv3(self.conv2(self.conv1(x))) + shortcut)


class DarkBlock(nn.Module):
    """Darknet residual block: 1x1 -> mid, 3x3 -> channels, + input (no activation after the add).

    Plan twin: ``cspnet.families._blocks.plan_dark_block``."""

    def __init__(self, in_ch: int, out_ch: int, mid: int, stride: int = 1, groups: int = 1,
                 act: str = "leaky_relu"):
        super().__init__()
        if in_ch != out_ch or stride != 1:
            raise ValueError("a DarkBlock keeps its channels and resolution")
        self.conv1 = ConvNormAct(in_ch, mid, 1, act=act)
        self.conv2 = ConvNormAct(mid, out_ch, 3, groups=groups, act=act)

    def forward(self, x):
        return self.conv2(self.conv1(x)) + x
