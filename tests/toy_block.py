"""A block type added the way the README's "Where to add" says (tests/test_where_to_add.py): its plan (here
instead of ``cspnet/families/_blocks.py``) and one ``BLOCK_TYPES`` entry; the model is generated from the plan.
Its hand-written module (as tests/oracle keeps for the built-in ones) checks the generated one.
Depthwise 3x3 -> pointwise 1x1, + input."""
from __future__ import annotations

from torch import nn

from cspnet.families._blocks import BlockType, _residual
from oracle._blocks import _Residual
from oracle._common import ConvNormAct


class ToyBlock(_Residual):
    """Depthwise 3x3 -> pointwise 1x1 [+ input].  Plan twin: ``plan_toy`` below."""

    def __init__(self, in_ch, out_ch, mid, stride=1, groups=1, act="silu", residual=True, se_ratio=0.0):
        super().__init__()
        self.body = nn.Sequential()
        self.body.add_module("dw", ConvNormAct(in_ch, in_ch, 3, groups=in_ch, act=act))
        self.body.add_module("pw", ConvNormAct(in_ch, out_ch, 1, act=act))
        self.setup_residual(in_ch, out_ch, stride, residual)


def plan_toy(b, path, s, out_ch, mid, stride, groups, residual=True, se_ratio=0.0):
    x = s
    t = b.conv_bn_act(f"{path}.body.dw", s, s[0], 3, groups=s[0])
    t = b.conv_bn_act(f"{path}.body.pw", t, out_ch, 1)
    return _residual(b, path, x, t, residual)


TOY = BlockType(plan_toy, "depthwise 3x3 -> pointwise 1x1 + input (a test's toy)")
