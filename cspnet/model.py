"""Assemble a family's pieces into one model with stable, design-following module names.

Imports torch; ``cspnet`` imports this module only when ``build_model``, ``CSPNetModel`` or
``count_params`` is first used.  Plan twin of the whole model: ``cspnet.plan.plan_network``.
"""
from __future__ import annotations

import torch
from torch import nn

from .config import CSPConfig
from .families import get_family


class CSPNetModel(nn.Module):
    """``stem`` -> ``stages.0 .. stages.N-1`` -> ``head``; a detector: ``stem`` -> ``stages`` -> ``neck.0 ..
    neck.3`` -> ``head``, each part reading the tensors it needs (a neck stage its input and a lateral, the
    head the output scales) from what earlier parts gave (``GraphPart.inputs`` / ``exports``).

    Every stage exposes its tap points as named submodules (``split``, ``block``,
    ``partial_transition``, ``concat``, ``transition``, ...); see ``cspnet.plan.TAP_ORDER``.
    """

    def __init__(self, config: CSPConfig, stem: nn.Module, stages: list, head: nn.Module, neck: list | None = None):
        super().__init__()
        self.config = config
        self.stem = stem
        self.stages = nn.Sequential(*stages)
        if neck:
            self.neck = nn.ModuleList(neck)
        self.head = head

    def named_parts(self) -> list:
        """``[(name, module)]`` of the parts in forward order: stem, stages.i, [neck.j], head."""
        out = [("stem", self.stem)] + [(f"stages.{i}", s) for i, s in enumerate(self.stages)]
        if hasattr(self, "neck"):
            out += [(f"neck.{j}", s) for j, s in enumerate(self.neck)]
        return out + [("head", self.head)]

    def run_parts(self, x: torch.Tensor, after=None) -> torch.Tensor:
        """The forward pass part by part; ``after(name)`` once each part has run (per-part timing)."""
        if not hasattr(self, "neck"):   # a chain
            for name, part in self.named_parts():
                x = part(x)
                if after is not None:
                    after(name)
            return x
        env = {"input": x}
        y = x
        for name, part in self.named_parts():
            y = part(*[env[s] for s in part.inputs])
            if len(part.exports) > 1:
                env.update(zip(part.exports, y))
                y = y[0]
            else:
                env[part.exports[0]] = y
            if after is not None:
                after(name)
        return y

    def forward_features(self, x: torch.Tensor) -> torch.Tensor:
        return self.stages(self.stem(x))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if hasattr(self, "neck"):   # (batch, 4 + classes, anchors): Ultralytics' layout
            return self.run_parts(x).flatten(2)
        return self.head(self.forward_features(x))


def build_model(config: CSPConfig, device: str | torch.device | None = None) -> CSPNetModel:
    """Build ``config`` as a real PyTorch model in eval mode.

    ``device="meta"`` allocates nothing (shapes and parameter counts only).
    """
    if not isinstance(config, CSPConfig):
        raise TypeError(f"build_model needs a CSPConfig, got {type(config).__name__}")
    fam = get_family(config.family)
    if device is None:
        parts = fam.build(config)
    else:
        with torch.device(device):
            parts = fam.build(config)
    return CSPNetModel(config, *parts).eval()


def count_params(model: nn.Module) -> int:
    return sum(p.numel() for p in model.parameters())
