"""Configurable Cross Stage Partial networks in pure PyTorch (no UI, no plotting).

Configs, presets, validation and the analytic plan are pure Python: ``import cspnet`` does not
import torch.  ``build_model``, ``CSPNetModel`` and ``count_params`` (``cspnet.model``) import it
the first time one of them is used.  The layout of the package is described in
``cspnet/families/__init__.py``.
"""
from .config import CONFIG_VERSION, FUSIONS, CSPConfig, family_fields
from .errors import ConfigError
from .plan import NetPlan, StagePlan, plan_network
from .presets import all_presets, get_preset, preset_names

_TORCH_NAMES = ("CSPNetModel", "build_model", "count_params")  # from .model, on first use (PEP 562)

__all__ = [
    "CONFIG_VERSION", "FUSIONS", "CSPConfig", "ConfigError", "CSPNetModel", "build_model",
    "count_params", "NetPlan", "StagePlan", "plan_network", "all_presets", "get_preset",
    "preset_names", "family_fields",
]


def __getattr__(name: str):
    if name in _TORCH_NAMES:
        from . import model

        value = getattr(model, name)
        globals()[name] = value
        return value
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def __dir__():
    return sorted(set(globals()) | set(__all__))
