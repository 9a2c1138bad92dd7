"""The hand-written modules of every design family: the tests' independent twin of the generated model.

The product builds every design's modules from its plan's graph (``cspnet.graph_model``).  These classes were
the product's modules until then, written by hand from the same sources (timm, torchvision, Ultralytics, mmdet,
the CSPNet and PeleeNet repositories); the tests keep them as an oracle: the generated model must load their
weights under the same names and compute the same outputs, and their tap modules must see the plan's shapes
(tests/test_graph_model.py).  Each class names its plan twin in ``cspnet/families/``.
"""
from __future__ import annotations

from cspnet.model import CSPNetModel


def build_oracle(cfg, device=None):
    """The hand-written model of design ``cfg`` (eval mode), as ``cspnet.build_model`` assembles parts
    (``device="meta"``: shapes only)."""
    import torch

    if device is not None:
        with torch.device(device):
            return build_oracle(cfg)
    from cspnet.families import get_family

    fam = get_family(cfg.family)
    if cfg.family == "densenet":
        from .densenet import build
        parts = build(cfg)
    elif cfg.family == "peleenet":
        from .peleenet import build
        parts = build(cfg)
    else:   # the cross-stage families: their CrossStageStyle (the family's bound validate's owner)
        from ._crossstage import build
        style = fam.validate.__self__
        parts = build(cfg, style.layouts(cfg), style.stem_layers(cfg), style.head_conv)
    stem, stages, head = parts
    return CSPNetModel(cfg, stem, stages, head).eval()
