"""The registry of network families.

A family is one module under ``cspnet/families/`` that defines a :class:`Family` object named
``FAMILY`` (or several, listed in ``FAMILIES`` below) with four pieces:

* ``validate(cfg)``: family-specific checks, raising ``ConfigError`` naming the field;
* ``plan(cfg, input_size) -> list[StagePlan]``: the analytic plan (stem, stages..., head);
* ``build(cfg) -> (stem, [stage modules], head)``: the real ``nn.Module`` pieces;
* ``presets``: named designs, each with its reference and (where there is one) the reference
  implementation's exact parameter count.

Adding a family is one new module and one line in ``FAMILIES``.
"""
from __future__ import annotations

import importlib
from dataclasses import dataclass, field
from typing import Callable

# family name -> (module path, attribute holding the Family)
FAMILIES = {
    "densenet": ("cspnet.families.densenet", "FAMILY"),
    "resnet": ("cspnet.families.resnet", "RESNET"),
    "resnext": ("cspnet.families.resnet", "RESNEXT"),
    "darknet": ("cspnet.families.darknet", "FAMILY"),
    "peleenet": ("cspnet.families.peleenet", "FAMILY"),
}


@dataclass(frozen=True)
class Preset:
    name: str
    config: dict                      # CSPConfig keyword arguments (family included)
    description: str
    reference: str = ""               # what it reproduces, e.g. "torchvision densenet121"
    reference_params: int | None = None
    source: str = ""                  # where the reference number comes from


@dataclass(frozen=True)
class Family:
    name: str
    description: str
    validate: Callable
    plan: Callable
    build: Callable
    defaults: dict = field(default_factory=dict)   # field values that make a sensible design
    fields: tuple = ()                             # config fields this family reads
    presets: tuple = ()                            # Preset objects


_cache: dict = {}


def get_family(name: str) -> Family:
    if name not in _cache:
        module, attr = FAMILIES[name]
        _cache[name] = getattr(importlib.import_module(module), attr)
    return _cache[name]
