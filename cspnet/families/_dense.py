"""Checks shared by the two dense families (DenseNet and PeleeNet)."""
from __future__ import annotations

from ..errors import ConfigError


def check_transition_widths(cfg, name: str, ch: dict) -> None:
    """Raise ConfigError, naming the knob at fault, when a stage's transitions round to 0 channels.

    (``config._check_size`` is the backstop; it would name ``compression`` for fusion_last's only
    transition, which reads ``transition_ratio``.)
    """
    pt = ch.get("partial_transition")
    if pt is not None and pt < 1:
        raise ConfigError("transition_ratio", f"{cfg.transition_ratio!r} leaves {name} partial transition with "
                          f"floor({ch['block']} x {cfg.transition_ratio}) = 0 channels; allowed range for this "
                          f"stage: at least {1 / ch['block']:.4g}")
    t = ch.get("transition")
    if t is not None and t < 1:
        if cfg.fusion == "fusion_last":
            raise ConfigError("transition_ratio", f"{cfg.transition_ratio!r} leaves {name} transition with "
                              f"floor({ch['block']} x {cfg.transition_ratio}) = 0 channels; allowed range for "
                              f"this stage: at least {1 / ch['block']:.4g}")
        src = ch["concat"] if "concat" in ch else ch["block"]
        raise ConfigError("compression", f"{cfg.compression!r} leaves {name} transition with "
                          f"floor({src} x {cfg.compression}) = 0 channels; allowed range for this stage: "
                          f"at least {1 / src:.4g}")
