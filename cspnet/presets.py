"""Named designs gathered from every family: ``get_preset("densenet121")`` -> CSPConfig.

Each family keeps its presets as a data table (``PRESETS`` in ``cspnet/families/<family>.py``, built
with ``cspnet.families.preset_table``); their descriptions are in ``cspnet/preset_text.py``.  A CSP
preset's *paper base* (:func:`paper_base`) is a column of the same tables.  Pure Python: no torch.
"""
from __future__ import annotations

from functools import lru_cache

from .config import CSPConfig
from .errors import ConfigError
from .families import FAMILIES, get_family


@lru_cache(maxsize=1)
def all_presets() -> dict:
    """name -> Preset, in family order."""
    out = {}
    for fam_name in FAMILIES:
        for p in get_family(fam_name).presets:
            if p.name in out:
                continue  # a name two families list: keep the first
            out[p.name] = p
    return out


def preset_names() -> list:
    return list(all_presets())


def get_preset(name: str, **overrides) -> CSPConfig:
    presets = all_presets()
    if name not in presets:
        raise ConfigError("preset", f"unknown preset {name!r}; allowed: {', '.join(presets)}")
    kwargs = dict(presets[name].config)
    kwargs.setdefault("name", name)
    kwargs.update(overrides)
    return CSPConfig(**kwargs)


def paper_base(name: str | None) -> str | None:
    """The plain preset the CSPNet paper compares preset ``name`` against (its *paper base*, the
    ``base`` column of the preset tables: cspresnet50 -> resnet50), or None: for a plain preset, a
    preset without a fair base, a name that is no preset, or None (a design not started from one)."""
    p = all_presets().get(name) if isinstance(name, str) else None
    return p.base if p is not None else None


def base_config(name: str, input_size: int) -> CSPConfig:
    """Paper base ``name`` (a preset) at ``input_size``: what a design at that size is compared with."""
    return get_preset(name, input_size=input_size)
