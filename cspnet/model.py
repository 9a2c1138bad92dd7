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
    """``stem`` -> ``stages.0 .. stages.N-1`` -> ``head``.

    Every stage exposes its tap points as named submodules (``split``, ``block``,
    ``partial_transition``, ``concat``, ``transition``, ...); see ``cspnet.plan.TAP_ORDER``.
    """

    def __init__(self, config: CSPConfig, stem: nn.Module, stages: list, head: nn.Module):
        super().__init__()
        self.config = config
        self.stem = stem
        self.stages = nn.Sequential(*stages)
        self.head = head

    def forward_features(self, x: torch.Tensor) -> torch.Tensor:
        return self.stages(self.stem(x))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.forward_features(x))


def build_model(config: CSPConfig, device: str | torch.device | None = None) -> CSPNetModel:
    """Build ``config`` as a real PyTorch model in eval mode.

    ``device="meta"`` allocates nothing (shapes and parameter counts only).
    """
    if not isinstance(config, CSPConfig):
        raise TypeError(f"build_model needs a CSPConfig, got {type(config).__name__}")
    fam = get_family(config.family)
    if device is None:
        stem, stages, head = fam.build(config)
    else:
        with torch.device(device):
            stem, stages, head = fam.build(config)
    return CSPNetModel(config, stem, stages, head).eval()


def count_params(model: nn.Module) -> int:
    return sum(p.numel() for p in model.parameters())
