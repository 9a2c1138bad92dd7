"""Designs from text: presets, JSON files, ``key=value`` overrides and URL query parameters.

The same parser serves the CLI's ``--set``, the app's URL and uploaded JSON, so every entry point
validates the same way and reports the same ``ConfigError`` naming the field.
"""
from __future__ import annotations

import math
import os
import re

from cspnet import ConfigError, CSPConfig, all_presets, get_preset
from cspnet.config import FIELDS, MAX_JSON_CHARS

ALL_FIELDS = list(FIELDS)
MAX_VALUE_CHARS = 200
TRUE_WORDS = ("1", "true", "yes", "on")
FALSE_WORDS = ("0", "false", "no", "off")


def parse_value(field: str, text: str):
    """Parse one field's value from text, by the field's declaration; raise ConfigError naming it."""
    spec = FIELDS.get(field)
    if spec is None:
        raise ConfigError(field, f"unknown field; allowed: {', '.join(ALL_FIELDS)}")
    if not isinstance(text, str):
        raise ConfigError(field, f"expected text, got {type(text).__name__}")
    text = text.strip()
    if len(text) > MAX_VALUE_CHARS:
        raise ConfigError(field, f"value of {len(text)} characters; allowed at most {MAX_VALUE_CHARS}")
    if spec.kind in ("text", "choice"):
        return text
    if spec.kind == "bool":
        low = text.lower()
        if low in TRUE_WORDS:
            return True
        if low in FALSE_WORDS:
            return False
        raise ConfigError(field, f"{text!r} is not allowed; allowed: true or false")
    conv = _int if spec.kind == "int" else _float
    if not (spec.per_stage or spec.stages):
        return conv(field, text)
    parts = [p for p in re.split(r"[,;\s]+|(?<=\d)-(?=\d)", text) if p]  # 6,12,24,16 or 6-12-24-16
    if not parts:
        raise ConfigError(field, "empty; give one value or one per stage, e.g. 6,12,24,16")
    vals = tuple(conv(field, p) for p in parts)
    return vals[0] if len(vals) == 1 and not spec.stages else vals


def _int(field, text):
    try:
        return int(text)
    except ValueError:
        raise ConfigError(field, f"{text!r} is not an integer") from None


def _float(field, text):
    try:
        v = float(text)
    except ValueError:
        raise ConfigError(field, f"{text!r} is not a number") from None
    if not math.isfinite(v):
        raise ConfigError(field, f"{text!r} is not a finite number")
    return v


def apply_overrides(cfg: CSPConfig, items) -> CSPConfig:
    """Apply ``key=value`` strings (the CLI's ``--set``) to a config."""
    changes = {}
    for item in items or ():
        if "=" not in item:
            raise ConfigError("--set", f"{item!r} is not key=value (e.g. split_ratio=0.5)")
        key, value = item.split("=", 1)
        key = key.strip()
        changes[key] = parse_value(key, value)
    return with_changes(cfg, changes)


def with_changes(cfg: CSPConfig, changes: dict) -> CSPConfig:
    """``cfg`` with fields changed; switching family starts from that family's defaults."""
    if not changes:
        return cfg
    if "family" in changes and changes["family"] != cfg.family:
        from cspnet.families import FAMILIES, get_family

        fam = changes["family"]
        if fam not in FAMILIES:
            raise ConfigError("family", f"unknown family {fam!r}; allowed: {', '.join(FAMILIES)}")
        base = {k: v for k, v in cfg.to_dict().items() if k in ("input_size", "num_classes", "fusion",
                                                                  "split_ratio", "name")}
        base.update(get_family(fam).defaults)
        base.update(changes)
        return CSPConfig.from_dict(base)
    data = cfg.to_dict()
    data.update(changes)
    return CSPConfig.from_dict(data)


def load_design(spec: str) -> CSPConfig:
    """A preset name or the path of a versioned config JSON file."""
    if spec in all_presets():
        return get_preset(spec)
    if spec.endswith(".json") or os.path.sep in spec:
        try:
            size = os.path.getsize(spec)
        except OSError as exc:
            raise ConfigError("design", f"cannot read {spec!r}: {exc.strerror}") from None
        if size > MAX_JSON_CHARS:
            raise ConfigError("json", f"{spec} is {size} bytes; allowed at most {MAX_JSON_CHARS}")
        with open(spec, "rb") as fh:
            return CSPConfig.from_json(fh.read())
    raise ConfigError("design", f"{spec!r} is neither a preset nor a .json file; presets: "
                      f"{', '.join(all_presets())}")


# --------------------------------------------------------------------------- URL state
MAX_QUERY_PARAMS = 40


def to_query(cfg: CSPConfig, preset: str | None = None) -> dict:
    """URL query parameters for a design: the preset it starts from and the fields that differ."""
    base_name = preset if preset in all_presets() else None
    base_cfg = get_preset(base_name) if base_name else CSPConfig()
    if base_cfg.family != cfg.family:  # decoding switches family first, from that family's defaults
        base_cfg = with_changes(base_cfg, {"family": cfg.family, "fusion": cfg.fusion})
    base = base_cfg.to_dict()
    q = {"preset": base_name} if base_name else {}
    if base_cfg.family != (get_preset(base_name) if base_name else CSPConfig()).family:
        q["family"] = cfg.family
    for k, v in cfg.to_dict().items():
        if base.get(k) != v and k not in ("name", "family"):
            q[k] = format_value(v)
    return q


def format_value(v) -> str:
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, (list, tuple)):
        return ",".join(format_value(x) for x in v)
    if isinstance(v, float):
        return repr(v)
    return str(v)


def from_query(params: dict) -> tuple[CSPConfig, str | None]:
    """The design a URL describes, and the preset it starts from. Raises ConfigError."""
    if len(params) > MAX_QUERY_PARAMS:
        raise ConfigError("url", f"{len(params)} parameters; allowed at most {MAX_QUERY_PARAMS}")
    params = {str(k): (v[-1] if isinstance(v, list) and v else v) for k, v in params.items()}
    preset = params.pop("preset", None)
    params.pop("page", None)
    if preset is not None and preset not in all_presets():
        raise ConfigError("preset", f"unknown preset {preset!r}; allowed: {', '.join(all_presets())}")
    cfg = get_preset(preset) if preset else CSPConfig()
    unknown = [k for k in params if k not in ALL_FIELDS]
    if unknown:
        raise ConfigError(unknown[0], f"unknown URL parameter; allowed: preset, {', '.join(ALL_FIELDS)}")
    changes = {k: parse_value(k, v) for k, v in params.items()}
    return with_changes(cfg, changes), preset
