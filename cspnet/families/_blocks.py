"""The block types a cross stage repeats (``cspnet.families._crossstage``): one registry entry each.

A block type is a :class:`BlockType` in :data:`BLOCK_TYPES`: its plan (here), how its inner width follows
from the block's channels, and the words the diagram uses.  Its module is generated from the plan's graph
(``cspnet.graph_model``), so the plan is the block's only description.  Every plan follows one contract, so a
stage never needs to know which block it repeats::

    plan(b, path, shape, out_ch, mid, stride, groups, residual=True, se_ratio=0.0) -> shape

``mid`` is the block's inner width (``BlockType.mid_of(channels, bottle_ratio)``; the number of
attention heads for ``psa``), ``groups`` the groups of its 3x3 conv; the first block of a stage gets
the stage's input channels and, where the stage has no ``down`` conv, its stride.  ``residual``
adds the block's input to its output where the channels allow (Ultralytics' ``shortcut``, mmdet's
``add_identity``); ``se_ratio`` > 0 puts timm's squeeze-and-excitation inside the block (dark and
edge blocks only).  Each plan names its reference (timm, Ultralytics, mmdet), and the tests keep the
hand-written module of each (tests/oracle/_blocks.py) as an independent twin of the generated one.

Adding a block type is its plan and one entry in ``BLOCK_TYPES``; a paper family picks it by name
(``CrossStageStyle.block_type``), a lineage family by the ``block_type`` field (:func:`lineage_blocks`).
Pure Python.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

from ..plan import PlanBuilder


@dataclass(frozen=True)
class BlockType:
    """One block type: its plan (the model is generated from it: ``cspnet.graph_model``) and its inner width."""

    plan: Callable         # plan(b, path, shape, out_ch, mid, stride, groups, residual, se_ratio) -> shape
    description: str = ""
    lineage: bool = True   # offered by the lineage families' ``block_type`` field
    takes_se: bool = False  # reads ``se_ratio``
    mid_rule: str = "ratio"  # "ratio": round(channels x bottle_ratio); "heads": max(channels // 64, 1)
    words: str = ""        # how the diagram names it ("1\u00d71\u21923\u00d73 block"; "": the type's name)

    def mid_of(self, channels: int, bottle_ratio: float) -> int:
        if self.mid_rule == "heads":
            return max(channels // 64, 1)
        return int(round(channels * bottle_ratio))


def se_channels(channels: int, ratio: float) -> int:
    """timm's SE width: ``make_divisible(channels x ratio, 8, round_limit=0)``."""
    return max(8, int(channels * ratio + 4) // 8 * 8)


def plan_se(b: PlanBuilder, path: str, s, ratio: float):
    """timm ``SEModule``: mean over H, W; 1x1 conv (bias) -> act -> 1x1 conv (bias) -> sigmoid; scale.

    Oracle twin: ``tests/oracle/_blocks.SqueezeExcite``."""
    c = s[0]
    rd = se_channels(c, ratio)
    t = b.mean(f"{path}.pool", s)
    t = b.conv(f"{path}.fc1", t, rd, 1, bias=True)
    t = b.act(f"{path}.act", t)
    t = b.conv(f"{path}.fc2", t, c, 1, bias=True)
    t = b.act(f"{path}.gate", t, "sigmoid")
    return b.mul(f"{path}.scale", s, t)


def plan_bottleneck(b: PlanBuilder, path: str, s, out_ch: int, mid: int, stride: int, groups: int,
                    residual: bool = True, se_ratio: float = 0.0):
    """Oracle twin: ``tests/oracle/_blocks.Bottleneck``."""
    x = s
    s = b.conv_bn_act(f"{path}.conv1", s, mid, 1)
    s = b.conv_bn_act(f"{path}.conv2", s, mid, 3, stride, groups=groups)
    s = b.conv_bn_act(f"{path}.conv3", s, out_ch, 1, act=False)
    if stride != 1 or x[0] != out_ch:
        x = b.conv_bn_act(f"{path}.downsample", x, out_ch, 1, stride, act=False)
    s = b.add(path, s, x)
    return b.act(f"{path}.act", s)


def _residual(b, path, x, s, residual):
    return b.add(path, s, x) if residual and x[0] == s[0] and x[1:] == s[1:] else s


def plan_dark_block(b: PlanBuilder, path: str, s, out_ch: int, mid: int, stride: int, groups: int,
                    residual: bool = True, se_ratio: float = 0.0):
    """1x1 -> [SE] -> 3x3, + input (no activation after the add).  Oracle twin: ``tests/oracle/_blocks.DarkBlock``."""
    x = s
    t = b.conv_bn_act(f"{path}.conv1", s, mid, 1)
    if se_ratio:
        t = plan_se(b, f"{path}.attn", t, se_ratio)
    t = b.conv_bn_act(f"{path}.conv2", t, out_ch, 3, groups=groups)
    return _residual(b, path, x, t, residual)


def plan_edge_block(b: PlanBuilder, path: str, s, out_ch: int, mid: int, stride: int, groups: int,
                    residual: bool = True, se_ratio: float = 0.0):
    """3x3 -> [SE] -> 1x1, + input.  Oracle twin: ``tests/oracle/_blocks.EdgeBlock``."""
    x = s
    t = b.conv_bn_act(f"{path}.conv1", s, mid, 3, groups=groups)
    if se_ratio:
        t = plan_se(b, f"{path}.attn", t, se_ratio)
    t = b.conv_bn_act(f"{path}.conv2", t, out_ch, 1)
    return _residual(b, path, x, t, residual)


def plan_bottleneck_3x3(b: PlanBuilder, path: str, s, out_ch: int, mid: int, stride: int, groups: int,
                        residual: bool = True, se_ratio: float = 0.0):
    """3x3 -> 3x3, + input.  Oracle twin: ``tests/oracle/_blocks.Bottleneck3x3``."""
    x = s
    t = b.conv_bn_act(f"{path}.conv1", s, mid, 3)
    t = b.conv_bn_act(f"{path}.conv2", t, out_ch, 3, groups=groups)
    return _residual(b, path, x, t, residual)


def plan_c3k(b: PlanBuilder, path: str, s, out_ch: int, mid: int, stride: int, groups: int,
             residual: bool = True, se_ratio: float = 0.0):
    """A nested C3k (two 1x1 convs to ``mid``, two 3x3-3x3 bottlenecks on one, concat, 1x1 out).

    Oracle twin: ``tests/oracle/_blocks.C3k``."""
    t = b.conv_bn_act(f"{path}.cv1", s, mid, 1)
    for j in range(2):   # (in Ultralytics' order: cv1, m, cv2)
        t = plan_bottleneck_3x3(b, f"{path}.m.{j}", t, mid, mid, 1, groups, residual)
    cross = b.conv_bn_act(f"{path}.cv2", s, mid, 1)
    t = b.cat(f"{path}.cat", [t, cross])
    return b.conv_bn_act(f"{path}.cv3", t, out_ch, 1)


def plan_cspnext_block(b: PlanBuilder, path: str, s, out_ch: int, mid: int, stride: int, groups: int,
                       residual: bool = True, se_ratio: float = 0.0):
    """3x3 -> depthwise 5x5 -> pointwise 1x1, + input.  Oracle twin: ``tests/oracle/_blocks.CSPNeXtBlock``."""
    x = s
    t = b.conv_bn_act(f"{path}.conv1", s, mid, 3)
    t = b.conv_bn_act(f"{path}.depthwise", t, mid, 5, groups=mid)
    t = b.conv_bn_act(f"{path}.pointwise", t, out_ch, 1)
    return _residual(b, path, x, t, residual)


def plan_conv_pair(b: PlanBuilder, path: str, s, out_ch: int, mid: int, stride: int, groups: int,
                   residual: bool = True, se_ratio: float = 0.0):
    """ELAN's pair of 3x3 convs (a tap after the pair) [+ input].  Oracle twin: ``tests/oracle/_blocks.ConvPair``."""
    x = s
    t = b.conv_bn_act(f"{path}.conv1", s, mid, 3, groups=groups)
    t = b.conv_bn_act(f"{path}.conv2", t, out_ch, 3, groups=groups)
    return _residual(b, path, x, t, residual)


def plan_conv(b: PlanBuilder, path: str, s, out_ch: int, mid: int, stride: int, groups: int,
              residual: bool = True, se_ratio: float = 0.0):
    """One 3x3 conv (YOLOv7-tiny's ELAN taps every conv) [+ input].  Oracle twin: ``tests/oracle/_blocks.ConvBlock``."""
    x = s
    t = b.conv_bn_act(f"{path}.conv", s, out_ch, 3, groups=groups)
    return _residual(b, path, x, t, residual)


def psa_dims(channels: int, heads: int) -> tuple:
    """(head_dim, key_dim, qkv channels) of YOLO11's ``Attention`` with attn_ratio 0.5."""
    head_dim = channels // heads
    key_dim = int(head_dim * 0.5)
    return head_dim, key_dim, channels + 2 * key_dim * heads


def plan_psa(b: PlanBuilder, path: str, s, out_ch: int, mid: int, stride: int, groups: int,
             residual: bool = True, se_ratio: float = 0.0):
    """YOLO11's PSABlock: x (+) attention(x), then x (+) FFN(x); ``mid`` is the number of heads.

    Attention (:func:`plan_attention`, key_dim half the head's width, a 3x3 positional conv).
    FFN: 1x1 to 2c (act), 1x1 back to c (BN, no act).  Oracle twin: ``tests/oracle/_blocks.PSABlock``."""
    head_dim, key_dim, _ = psa_dims(s[0], mid)
    x = s
    t = plan_attention(b, f"{path}.attn", s, mid, key_dim, head_dim, 3, inner=s[0])
    t = _residual(b, f"{path}.add1", x, t, residual)
    y = b.conv_bn_act(f"{path}.ffn.0", t, 2 * s[0], 1)
    y = b.conv_bn_act(f"{path}.ffn.1", y, out_ch, 1, act=False)
    return _residual(b, f"{path}.add2", t, y, residual)


def plan_attention(b: PlanBuilder, path: str, s, heads: int, key_dim: int, head_dim: int, pe_kernel: int,
                   area: int = 1, inner: int | None = None):
    """Ultralytics' multi-head self-attention over the H x W positions (YOLO11's ``Attention``; YOLO12's
    ``AAttn``, its area attention): 1x1 qkv (BN, no act) to ``heads`` x (q, k: ``key_dim``; v: ``head_dim``)
    channels, interleaved per head; softmax(q^T k x key_dim^-0.5); v x attn^T; plus a depthwise
    ``pe_kernel`` positional conv of v; 1x1 projection back to the input's channels (BN, no act).

    ``area`` > 1: the H x W positions, in row-major order, fall into ``area`` equal runs (horizontal strips)
    and each attends only within its own: the scores are ``area`` x heads x (HW / area)^2, so the products'
    MACs are ``1 / area`` of global attention's.  Needs HW divisible by ``area`` (Ultralytics' reshape does).
    ``inner``: v's channels, heads x head_dim unless given (YOLO11's: the input's, which its reshape needs)."""
    c, h, w = s
    n = h * w // area
    inner = heads * head_dim if inner is None else inner
    qkv = b.conv_bn_act(f"{path}.qkv", s, inner + 2 * key_dim * heads, 1, act=False)
    v = qkv.view((inner, h, w))   # q, k, v interleave per head in qkv's channels: v is no one channel slice
    q, k = qkv.view(qkv), qkv.view((key_dim * heads, h, w))   # (q keeps qkv's shape: what the conventions read)
    dims = (heads, key_dim, head_dim) + ((area,) if area > 1 else ())   # how q, k, v lie (cspnet.graph_model)
    scores = b.matmul(f"{path}.qk", q, (area * heads, n, n), area * heads * n * n * key_dim, also=(k,),
                      attrs={"attention": ("qk", *dims)})
    scores = b.mul(f"{path}.scale", scores, scale=key_dim ** -0.5)
    scores = b.act(f"{path}.softmax", scores, "softmax")
    t = b.matmul(f"{path}.av", scores, (inner, h, w), area * heads * head_dim * n * n, also=(v,),
                 attrs={"attention": ("av", *dims)})
    pe = b.conv_bn_act(f"{path}.pe", v, inner, pe_kernel, groups=inner, act=False,
                       attrs={"attention": ("v", *dims)})
    t = b.add(f"{path}.add_pe", pe, t)
    return b.conv_bn_act(f"{path}.proj", t, c, 1, act=False)


def plan_area_block(b: PlanBuilder, path: str, s, heads: int, area: int = 1, mlp_ratio: float = 1.2):
    """YOLO12's ``ABlock``: x (+) area attention(x) (:func:`plan_attention`: key and value widths both
    channels // heads, a 7x7 positional conv), then x (+) MLP(x) (1x1 to int(c x mlp_ratio), act; 1x1 back,
    BN, no act).  Layer names as Ultralytics' (``attn.qkv``, ``mlp.0``)."""
    c = s[0]
    head_dim = c // heads
    t = plan_attention(b, f"{path}.attn", s, heads, head_dim, head_dim, 7, area)
    t = b.add(f"{path}.add1", s, t)
    y = b.conv_bn_act(f"{path}.mlp.0", t, int(c * mlp_ratio), 1)
    y = b.conv_bn_act(f"{path}.mlp.1", y, c, 1, act=False)
    return b.add(f"{path}.add2", t, y)


def plan_cib(b: PlanBuilder, path: str, s, out_ch: int, mid: int, residual: bool = True, lk: bool = False):
    """YOLOv10's compact inverted block ``CIB``: depthwise 3x3, 1x1 to ``mid``, depthwise 3x3 (``lk``: a RepVGG
    pair, depthwise 7x7 and 3x3 summed, then SiLU: ``RepVGGDW``), 1x1 to ``out_ch``, depthwise 3x3; each a
    Conv (BN, act) but RepVGGDW's two (BN, no act); + input where ``residual`` and the channels match.
    Layer names ``cv1.0`` .. ``cv1.4`` (RepVGGDW: ``cv1.2.conv``, ``cv1.2.conv1``)."""
    c = s[0]
    t = b.conv_bn_act(f"{path}.cv1.0", s, c, 3, groups=c)
    t = b.conv_bn_act(f"{path}.cv1.1", t, mid, 1)
    if lk:
        big = b.conv_bn_act(f"{path}.cv1.2.conv", t, mid, 7, groups=mid, act=False)
        small = b.conv_bn_act(f"{path}.cv1.2.conv1", t, mid, 3, groups=mid, act=False)
        t = b.add(f"{path}.cv1.2.add", big, small)
        t = b.act(f"{path}.cv1.2.act", t, "silu")   # nn.SiLU of its own, whatever the network's activation
    else:
        t = b.conv_bn_act(f"{path}.cv1.2", t, mid, 3, groups=mid)
    t = b.conv_bn_act(f"{path}.cv1.3", t, out_ch, 1)
    t = b.conv_bn_act(f"{path}.cv1.4", t, out_ch, 3, groups=out_ch)
    return _residual(b, path, s, t, residual)


def plan_cib_block(b: PlanBuilder, path: str, s, out_ch: int, mid: int, stride: int, groups: int,
                   residual: bool = True, se_ratio: float = 0.0):
    """YOLOv10's CIB as a block type (C2fCIB's blocks; a C2fCIB's plain twin repeats it): :func:`plan_cib`."""
    return plan_cib(b, path, s, out_ch, mid, residual)


def plan_cib_lk_block(b: PlanBuilder, path: str, s, out_ch: int, mid: int, stride: int, groups: int,
                      residual: bool = True, se_ratio: float = 0.0):
    """YOLOv10's CIB with the large-kernel RepVGGDW (``lk``) as a block type: :func:`plan_cib`."""
    return plan_cib(b, path, s, out_ch, mid, residual, lk=True)


BLOCK_TYPES = {
    "bottleneck": BlockType(plan_bottleneck,
                            "ResNet bottleneck 1x1 -> 3x3 -> 1x1 + shortcut, act after the add", lineage=False,
                            words="bottleneck"),
    "dark": BlockType(plan_dark_block,
                      "1x1 -> [SE] -> 3x3 + input, no act after the add (Darknet, CrossStage3, C3, BottleneckCSP)",
                      takes_se=True, words="1\u00d71\u21923\u00d73 block"),
    "edge": BlockType(plan_edge_block,
                      "3x3 -> [SE] -> 1x1 + input (timm cs3edgenet)", takes_se=True,
                      words="3\u00d73\u21921\u00d71 edge block"),
    "bottleneck_3x3": BlockType(plan_bottleneck_3x3,
                                "3x3 -> 3x3 + input (Ultralytics Bottleneck k=(3,3): C2f e=1.0, C3k2 e=0.5)",
                                words="3\u00d73\u21923\u00d73 bottleneck"),
    "c3k": BlockType(plan_c3k,
                     "a nested C3k: two 1x1 convs, two 3x3-3x3 bottlenecks, concat, 1x1 (YOLO11 m/l/x)",
                     words="C3k block"),
    "cspnext": BlockType(plan_cspnext_block,
                         "3x3 -> depthwise 5x5 -> 1x1 + input (RTMDet CSPNeXtBlock)",
                         words="3\u00d73 + dw 5\u00d75 block"),
    "conv_pair": BlockType(plan_conv_pair,
                           "two 3x3 convs, tapped after the pair (YOLOv7 ELAN)", words="3\u00d73 conv pair"),
    "conv": BlockType(plan_conv, "one 3x3 conv, tapped after each (YOLOv7-tiny ELAN)",
                      words="3\u00d73 conv"),
    "cib": BlockType(plan_cib_block, "YOLOv10 CIB: dw 3x3 -> 1x1 to mid -> dw 3x3 -> 1x1 -> dw 3x3 + input (C2fCIB)",
                     lineage=False, words="CIB block"),
    "cib_lk": BlockType(plan_cib_lk_block, "YOLOv10 CIB with RepVGGDW (dw 7x7 + dw 3x3) in the middle (C2fCIB lk)",
                        lineage=False, words="CIB block (large kernel)"),
    "psa": BlockType(plan_psa,
                     "YOLO11 PSABlock: multi-head self-attention + FFN, each with a residual (C2PSA)",
                     mid_rule="heads", words="attention (PSA) block"),
}

def lineage_blocks() -> tuple:
    """The block types the lineage families offer (``block_type`` field): every entry of BLOCK_TYPES with
    ``lineage=True``, including one registered after import."""
    return tuple(name for name, t in BLOCK_TYPES.items() if t.lineage)


LINEAGE_BLOCKS = lineage_blocks()   # the built-in ones
