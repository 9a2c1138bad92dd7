"""The block types a cross stage repeats: the module classes of ``cspnet.families._blocks.BLOCK_TYPES``.

Every class takes ``(in_ch, out_ch, mid, stride, groups, act, residual=True, se_ratio=0.0)``; its
plan twin is in ``cspnet/families/_blocks.py``.
"""
from __future__ import annotations

from torch import nn

from cspnet.families._blocks import psa_dims, se_channels

from ._common import Concat, ConvNormAct, make_act


class Bottleneck(nn.Module):
    """ResNet bottleneck: 1x1 -> 3x3 (stride, groups) -> 1x1 (no act), + shortcut, then act.

    With ``stride=1`` and equal channels this is timm's CSP ``BottleneckBlock``; otherwise the
    shortcut is torchvision's ``downsample`` (strided 1x1 conv + BN) and the stride sits on the
    3x3 conv (ResNet v1.5).  Plan twin: ``cspnet.families._blocks.plan_bottleneck``.
    """

    def __init__(self, in_ch: int, out_ch: int, mid: int, stride: int = 1, groups: int = 1,
                 act: str = "relu", residual: bool = True, se_ratio: float = 0.0):
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


class SqueezeExcite(nn.Module):
    """timm's SEModule: mean over H, W -> 1x1 conv (bias) -> act -> 1x1 conv (bias) -> sigmoid; x x gate.

    Plan twin: ``cspnet.families._blocks.plan_se``."""

    def __init__(self, channels: int, ratio: float, act: str):
        super().__init__()
        rd = se_channels(channels, ratio)
        self.fc1 = nn.Conv2d(channels, rd, 1, bias=True)
        self.act = make_act(act)
        self.fc2 = nn.Conv2d(rd, channels, 1, bias=True)
        self.gate = nn.Sigmoid()

    def forward(self, x):
        return x * self.gate(self.fc2(self.act(self.fc1(x.mean((2, 3), keepdim=True)))))


class _Residual(nn.Module):
    """A block whose ``body`` output gets the input added where ``residual`` and the shapes allow.

    Plan twin: ``cspnet.families._blocks._residual``."""

    def setup_residual(self, in_ch: int, out_ch: int, stride: int, residual: bool):
        self.add = residual and in_ch == out_ch and stride == 1

    def forward(self, x):
        y = self.body(x)
        return y + x if self.add else y


class DarkBlock(_Residual):
    """1x1 -> mid, [SE], 3x3 -> out_ch, + input (no activation after the add): Darknet, timm's
    CrossStage3 DarkBlock, YOLOv5's and Scaled-YOLOv4's Bottleneck.

    Plan twin: ``cspnet.families._blocks.plan_dark_block``."""

    def __init__(self, in_ch: int, out_ch: int, mid: int, stride: int = 1, groups: int = 1,
                 act: str = "leaky_relu", residual: bool = True, se_ratio: float = 0.0):
        super().__init__()
        if stride != 1:
            raise ValueError("a DarkBlock keeps its resolution")
        self.conv1 = ConvNormAct(in_ch, mid, 1, act=act)
        self.attn = SqueezeExcite(mid, se_ratio, act) if se_ratio else None
        self.conv2 = ConvNormAct(mid, out_ch, 3, groups=groups, act=act)
        self.setup_residual(in_ch, out_ch, stride, residual)

    def body(self, x):
        t = self.conv1(x)
        if self.attn is not None:
            t = self.attn(t)
        return self.conv2(t)


class EdgeBlock(DarkBlock):
    """3x3 -> mid, [SE], 1x1 -> out_ch, + input (timm's EdgeBlock).

    Plan twin: ``cspnet.families._blocks.plan_edge_block``."""

    def __init__(self, in_ch: int, out_ch: int, mid: int, stride: int = 1, groups: int = 1,
                 act: str = "silu", residual: bool = True, se_ratio: float = 0.0):
        nn.Module.__init__(self)
        self.conv1 = ConvNormAct(in_ch, mid, 3, groups=groups, act=act)
        self.attn = SqueezeExcite(mid, se_ratio, act) if se_ratio else None
        self.conv2 = ConvNormAct(mid, out_ch, 1, act=act)
        self.setup_residual(in_ch, out_ch, stride, residual)


class Bottleneck3x3(_Residual):
    """3x3 -> mid, 3x3 -> out_ch, + input (Ultralytics' Bottleneck with k=(3, 3)).

    Plan twin: ``cspnet.families._blocks.plan_bottleneck_3x3``."""

    def __init__(self, in_ch: int, out_ch: int, mid: int, stride: int = 1, groups: int = 1,
                 act: str = "silu", residual: bool = True, se_ratio: float = 0.0):
        super().__init__()
        self.conv1 = ConvNormAct(in_ch, mid, 3, act=act)
        self.conv2 = ConvNormAct(mid, out_ch, 3, groups=groups, act=act)
        self.setup_residual(in_ch, out_ch, stride, residual)

    def body(self, x):
        return self.conv2(self.conv1(x))


class C3k(nn.Module):
    """A nested C3k: 1x1 convs ``cv1`` and ``cv2`` to ``mid``; two 3x3-3x3 bottlenecks on cv1's
    output; concat with cv2's; 1x1 ``cv3`` to ``out_ch``.  Plan twin: ``cspnet.families._blocks.plan_c3k``."""

    def __init__(self, in_ch: int, out_ch: int, mid: int, stride: int = 1, groups: int = 1,
                 act: str = "silu", residual: bool = True, se_ratio: float = 0.0):
        super().__init__()
        self.cv1 = ConvNormAct(in_ch, mid, 1, act=act)
        self.cv2 = ConvNormAct(in_ch, mid, 1, act=act)
        self.m = nn.Sequential(*(Bottleneck3x3(mid, mid, mid, 1, groups, act, residual) for _ in range(2)))
        self.cat = Concat()
        self.cv3 = ConvNormAct(2 * mid, out_ch, 1, act=act)

    def forward(self, x):
        return self.cv3(self.cat(self.m(self.cv1(x)), self.cv2(x)))


class CSPNeXtBlock(_Residual):
    """3x3 -> mid; depthwise 5x5 (BN, act); pointwise 1x1 -> out_ch (BN, act); + input (mmdet).

    Plan twin: ``cspnet.families._blocks.plan_cspnext_block``."""

    def __init__(self, in_ch: int, out_ch: int, mid: int, stride: int = 1, groups: int = 1,
                 act: str = "silu", residual: bool = True, se_ratio: float = 0.0):
        super().__init__()
        self.conv1 = ConvNormAct(in_ch, mid, 3, act=act)
        self.depthwise = ConvNormAct(mid, mid, 5, groups=mid, act=act)
        self.pointwise = ConvNormAct(mid, out_ch, 1, act=act)
        self.setup_residual(in_ch, out_ch, stride, residual)

    def body(self, x):
        return self.pointwise(self.depthwise(self.conv1(x)))


class ConvPair(Bottleneck3x3):
    """Two 3x3 convs, tapped after the pair (YOLOv7's ELAN; ``residual=False`` there).

    Plan twin: ``cspnet.families._blocks.plan_conv_pair``."""

    def __init__(self, in_ch: int, out_ch: int, mid: int, stride: int = 1, groups: int = 1,
                 act: str = "silu", residual: bool = True, se_ratio: float = 0.0):
        _Residual.__init__(self)
        self.conv1 = ConvNormAct(in_ch, mid, 3, groups=groups, act=act)
        self.conv2 = ConvNormAct(mid, out_ch, 3, groups=groups, act=act)
        self.setup_residual(in_ch, out_ch, stride, residual)


class ConvBlock(_Residual):
    """One 3x3 conv (YOLOv7-tiny's ELAN taps every conv).  Plan twin: ``cspnet.families._blocks.plan_conv``."""

    def __init__(self, in_ch: int, out_ch: int, mid: int, stride: int = 1, groups: int = 1,
                 act: str = "silu", residual: bool = True, se_ratio: float = 0.0):
        super().__init__()
        self.conv = ConvNormAct(in_ch, out_ch, 3, groups=groups, act=act)
        self.setup_residual(in_ch, out_ch, stride, residual)

    def body(self, x):
        return self.conv(x)


class CIB(_Residual):
    """YOLOv10's CIB: depthwise 3x3, 1x1 to mid, depthwise 3x3 (``lk``: depthwise 7x7 + depthwise 3x3, each with
    BN and no act, summed, then SiLU), 1x1 to out_ch, depthwise 3x3; + input.

    Plan twin: ``cspnet.families._blocks.plan_cib_block``."""

    lk = False

    def __init__(self, in_ch: int, out_ch: int, mid: int, stride: int = 1, groups: int = 1,
                 act: str = "silu", residual: bool = True, se_ratio: float = 0.0):
        super().__init__()
        self.conv1 = ConvNormAct(in_ch, in_ch, 3, groups=in_ch, act=act)
        self.conv2 = ConvNormAct(in_ch, mid, 1, act=act)
        if self.lk:
            self.big = ConvNormAct(mid, mid, 7, groups=mid, act=None)
            self.small = ConvNormAct(mid, mid, 3, groups=mid, act=None)
            self.rep_act = nn.SiLU()
        else:
            self.conv3 = ConvNormAct(mid, mid, 3, groups=mid, act=act)
        self.conv4 = ConvNormAct(mid, out_ch, 1, act=act)
        self.conv5 = ConvNormAct(out_ch, out_ch, 3, groups=out_ch, act=act)
        self.setup_residual(in_ch, out_ch, stride, residual)

    def body(self, x):
        t = self.conv2(self.conv1(x))
        t = self.rep_act(self.big(t) + self.small(t)) if self.lk else self.conv3(t)
        return self.conv5(self.conv4(t))


class CIBLargeKernel(CIB):
    """CIB with RepVGGDW.  Plan twin: ``cspnet.families._blocks.plan_cib_lk_block``."""

    lk = True


class Attention(nn.Module):
    """YOLO11's multi-head self-attention over H x W positions (attn_ratio 0.5).

    The ``attn.*`` rows of the plan twin: ``cspnet.families._blocks.plan_psa``.
    Plan twin: ``cspnet.families._blocks.plan_psa``."""

    def __init__(self, channels: int, heads: int):
        super().__init__()
        self.heads = heads
        self.head_dim, self.key_dim, qkv = psa_dims(channels, heads)
        self.scale = self.key_dim ** -0.5
        self.qkv = ConvNormAct(channels, qkv, 1, act=None)
        self.proj = ConvNormAct(channels, channels, 1, act=None)
        self.pe = ConvNormAct(channels, channels, 3, groups=channels, act=None)

    def forward(self, x):
        b, c, h, w = x.shape
        n = h * w
        q, k, v = self.qkv(x).view(b, self.heads, self.key_dim * 2 + self.head_dim, n).split(
            [self.key_dim, self.key_dim, self.head_dim], dim=2)
        attn = ((q.transpose(-2, -1) @ k) * self.scale).softmax(dim=-1)
        y = (v @ attn.transpose(-2, -1)).view(b, c, h, w) + self.pe(v.reshape(b, c, h, w))
        return self.proj(y)


class PSABlock(nn.Module):
    """YOLO11's PSABlock: x (+) attention(x), then x (+) FFN(x) (1x1 to 2c with act, 1x1 back without).

    ``mid`` is the number of heads.  Plan twin: ``cspnet.families._blocks.plan_psa``."""

    def __init__(self, in_ch: int, out_ch: int, mid: int, stride: int = 1, groups: int = 1,
                 act: str = "silu", residual: bool = True, se_ratio: float = 0.0):
        super().__init__()
        if in_ch != out_ch or stride != 1:
            raise ValueError("a PSABlock keeps its channels and resolution")
        self.attn = Attention(in_ch, mid)
        self.ffn = nn.Sequential(ConvNormAct(in_ch, 2 * in_ch, 1, act=act), ConvNormAct(2 * in_ch, in_ch, 1, act=None))
        self.add = residual

    def forward(self, x):
        x = x + self.attn(x) if self.add else self.attn(x)
        return x + self.ffn(x) if self.add else self.ffn(x)


# block type name (cspnet.families._blocks.BLOCK_TYPES) -> its hand-written module class
ORACLE_BLOCKS = {"bottleneck": Bottleneck, "dark": DarkBlock, "edge": EdgeBlock, "bottleneck_3x3": Bottleneck3x3,
                 "c3k": C3k, "cspnext": CSPNeXtBlock, "conv_pair": ConvPair, "conv": ConvBlock, "psa": PSABlock,
                 "cib": CIB, "cib_lk": CIBLargeKernel}
