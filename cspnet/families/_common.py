"""Plans every family shares (the tests' hand-written twins: ``tests/oracle/_common.py``).

``Split``, ``Concat``, ``ConvNormAct`` and the activations are single layers whose twins are the
methods of ``cspnet.plan.PlanBuilder`` (the ``part1``/``part2`` taps, ``cat``, ``conv_bn_act``,
``act``); the classifier head is planned here.
"""
from __future__ import annotations

from ..plan import PlanBuilder, StagePlan


def plan_head(cfg, s, norm_act: bool, conv_ch: int = 0) -> StagePlan:
    """The ``head`` stage: [BN + act | 1x1 conv to ``conv_ch`` + BN + act] -> global average pool -> linear
    to ``cfg.num_classes``.

    Oracle twin: ``tests/oracle/_common.py: ClassifierHead``."""
    b = PlanBuilder("head", "head")
    b.tap("input", s)
    if norm_act:
        s = b.bn("norm", s)
        s = b.act("act", s)
    if conv_ch:
        s = b.conv_bn_act("conv", s, conv_ch, 1)
    s = b.gap("pool", s)
    b.tap("pool", s)
    s = b.linear("fc", s, cfg.num_classes)
    b.tap("output", s)
    return b.stage
