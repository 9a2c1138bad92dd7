"""The block types a cross stage repeats (``cspnet.families._crossstage``): one registry entry each.

A block type is a :class:`BlockType` in :data:`BLOCK_TYPES`: the dotted path of its ``nn.Module``
class (in ``cspnet/nn/_blocks.py``, imported only when a model is built) and its plan twin (here).
Both follow one contract, so a stage never needs to know which block it repeats::

    module class:  cls(in_ch, out_ch, mid, stride, groups, act)
    plan twin:     plan(b, path, shape, out_ch, mid, stride, groups) -> output shape

``mid`` is the block's inner (bottleneck) width, ``groups`` the groups of its 3x3 conv; the first
block of a stage gets the stage's input channels and, where the stage has no ``down`` conv, its
stride.  Adding a block type is a module class, its plan twin and one entry in ``BLOCK_TYPES``;
a family picks it by name (``CrossStageStyle.block_type``).  Pure Python.
"""
from __future__ import annotations

import importlib
from dataclasses import dataclass
from typing import Callable

from ..plan import PlanBuilder


@dataclass(frozen=True)
class BlockType:
    """One block type: its module class (by dotted path) and its plan twin."""

    module: str            # "cspnet.nn._blocks.Bottleneck"
    plan: Callable         # plan(b, path, shape, out_ch, mid, stride, groups) -> shape
    description: str = ""

    def module_class(self):
        """The ``nn.Module`` class (imports torch)."""
        path, _, name = self.module.rpartition(".")
        return getattr(importlib.import_module(path), name)


def plan_bottleneck(b: PlanBuilder, path: str, s, out_ch: int, mid: int, stride: int, groups: int):
    """Module twin: ``cspnet.nn._blocks.Bottleneck``."""
    x = s
    s = b.conv_bn_act(f"{path}.conv1", s, mid, 1)
    s = b.conv_bn_act(f"{path}.conv2", s, mid, 3, stride, groups=groups)
    s = b.conv_bn_act(f"{path}.conv3", s, out_ch, 1, act=False)
    if stride != 1 or x[0] != out_ch:
        b.conv_bn_act(f"{path}.downsample", x, out_ch, 1, stride, act=False)
    s = b.add(path, s)
    return b.act(f"{path}.act", s)


def plan_dark_block(b: PlanBuilder, path: str, s, out_ch: int, mid: int, stride: int, groups: int):
    """Module twin: ``cspnet.nn._blocks.DarkBlock``."""
    t = b.conv_bn_act(f"{path}.conv1", s, mid, 1)
    t = b.conv_bn_act(f"{path}.conv2", t, out_ch, 3, groups=groups)
    return b.add(path, t)


BLOCK_TYPES = {
    "bottleneck": BlockType("cspnet.nn._blocks.Bottleneck", plan_bottleneck,
                            "ResNet bottleneck 1x1 -> 3x3 -> 1x1 + shortcut, act after the add"),
    "dark": BlockType("cspnet.nn._blocks.DarkBlock", plan_dark_block,
                      "Darknet residual block 1x1 -> 3x3 + input, no act after the add"),
}
