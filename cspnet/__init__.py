"""Configurable Cross Stage Partial networks in pure PyTorch (no UI, no plotting)."""
from .config import CONFIG_VERSION, FUSIONS, CSPConfig
from .errors import ConfigError
from .model import CSPNetModel, build_model, count_params
from .plan import NetPlan, StagePlan, plan_network
from .presets import all_presets, get_preset, preset_names

__all__ = [
    "CONFIG_VERSION", "FUSIONS", "CSPConfig", "ConfigError", "CSPNetModel", "build_model",
    "count_params", "NetPlan", "StagePlan", "plan_network", "all_presets", "get_preset",
    "preset_names",
]
