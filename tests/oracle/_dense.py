"""The fusion wiring shared by the dense families (DenseNet and PeleeNet): ``DenseCSPStage``.

Its channel arithmetic, checks and plan twin are in ``cspnet/families/_dense.py``.
"""
from __future__ import annotations

import torch
from torch import nn

from ._common import Concat, Split


class DenseCSPStage(nn.Module):
    """The fusion wiring around a dense block (CSPNet paper Fig. 3), shared by DenseNet and PeleeNet.

    ``ch`` holds the stage's channel arithmetic (keys ``part1``, ``block``, ``partial_transition``,
    ``concat``, ``transition``, ``pool``); ``make_transition(in_ch, out_ch, pool)`` builds the family's
    transition layer.  Submodules are the tap points: ``split``, ``block``, ``partial_transition``,
    ``concat``, ``transition`` (and ``part1_pool`` for fusion_last).
    Plan twin: ``cspnet.families._dense.plan_dense_stage``.
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
