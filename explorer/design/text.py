"""Designs from text: presets, JSON files, ``key=value`` overrides and URL query parameters.

The same parser serves the CLI's ``--set``, the app's URL and uploaded JSON, so every entry point
validates the same way and reports the same ``ConfigError`` naming the field.
"""
from __future__ import annotations

import math
import os
import re

from cspnet import ConfigError, CSPConfig, all_presets, get_preset
from cspnet.config import FIELDS, INPUT_SIZE_RANGE, STAGE_FIELDS, min_input_size

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
    if spec.kind == "text" or (spec.kind == "choice" and not spec.per_stage):
        return text
    conv = {"int": _int, "float": _float, "bool": _bool, "choice": _word}[spec.kind]
    if not (spec.per_stage or spec.stages):
        return conv(field, text)
    if spec.kind in ("bool", "choice"):    # last,all,all or true,false
        parts = [p for p in re.split(r"[,;\s]+", text) if p]
    else:
        parts = [p for p in re.split(r"[,;\s]+|(?<=\d)-(?=\d)", text) if p]  # 6,12,24,16 or 6-12-24-16
    if not parts:
        raise ConfigError(field, "empty; give one value or one per stage, e.g. 6,12,24,16")
    vals = tuple(conv(field, p) for p in parts)
    return vals[0] if len(vals) == 1 and not spec.stages else vals


def _bool(field, text):
    low = text.lower()
    if low in TRUE_WORDS:
        return True
    if low in FALSE_WORDS:
        return False
    raise ConfigError(field, f"{text!r} is not allowed; allowed: true or false")


def _word(field, text):
    return text


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
    """``cfg`` with fields changed; switching family starts from that family's defaults.  A name that states
    an Ultralytics scale (``yolov8n-cls.yaml (scale n)``, an opened YAML's) states the new multiples instead
    once ``depth_multiple``, ``width_multiple`` or ``max_channels`` change (the scale letter would be false),
    and such a name follows every later change of them."""
    return _relabel_scale(cfg, _with_changes(cfg, changes), changes)


_SCALE_LABEL = re.compile(r"(?P<base>.*?)(?: \(scale [^()]+\)| scale \S+| \(depth_multiple [^()]+\))")


def _relabel_scale(cfg: CSPConfig, out: CSPConfig, changes: dict) -> CSPConfig:
    """``out`` renamed where its name states a scale whose multiples it no longer has (see with_changes)."""
    m = _SCALE_LABEL.fullmatch(out.name or "")
    if m is None or "name" in changes or out.name != cfg.name or not FIELDS["width_multiple"].reads(out.family):
        return out
    d, w, cap = out.depth_multiple, out.width_multiple, out.max_channels
    if (d, w, cap) == (cfg.depth_multiple, cfg.width_multiple, cfg.max_channels):
        return out
    label = f" (depth_multiple {d:g}, width_multiple {w:g}" + (f", max_channels {cap}" if cap else "") + ")"
    return out.replace(name=m["base"][:80 - len(label)] + label)


def _with_changes(cfg: CSPConfig, changes: dict) -> CSPConfig:
    """:func:`with_changes` without the renaming; the rules:

    The CLI's ``--set``, the URL, the sweep and the Design page's knobs all change a design here, so
    they share two rules:

    * a new number of stages (``repeats``) carries per-stage fields along: a field whose stages
      all hold one value keeps that value for every new stage (``growth_rate=32`` follows);
    * an error is about a field the user gave: when a change of X makes another field Y invalid
      (the new stage count leaves Y with the old number of values, or the stages no longer fit the
      input size), the ConfigError names X, says why, and for a stage count gives the allowed range.
    """
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
        data = dict(base)
        data.update(changes)
        try:
            return CSPConfig.from_dict(data)
        except ConfigError as exc:
            if exc.field in changes or exc.field not in _BLAMABLE:
                raise
            try:  # the family's default design (with what the old design carries over) is the start
                start = CSPConfig.from_dict(base)
            except ConfigError as start_exc:
                raise ConfigError("family", f"{fam}: its default design does not fit this one ({start_exc})") from None
            raise _blame(start, {k: v for k, v in changes.items() if k != "family"}, exc) from None
    out = _try(cfg, changes)
    if isinstance(out, ConfigError):
        raise _blame(cfg, changes, out) from None
    return out


# the fields an error can be moved away from: design fields and whole-design limits
_BLAMABLE = frozenset(FIELDS) | {"design"}


def follow_stage_count(cfg: CSPConfig, changes: dict) -> dict:
    """``changes`` plus the per-stage fields that follow a new stage count: a field not changed
    whose stages all hold one value becomes that one value (it then fills every new stage).

    (Per-stage fields the family does not read follow any stage count in ``CSPConfig`` itself.)"""
    reps = changes.get("repeats")
    if not isinstance(reps, (list, tuple)) or len(reps) == cfg.num_stages:
        return dict(changes)
    out = dict(changes)
    for name in STAGE_FIELDS:
        if name in out:
            continue
        v = getattr(cfg, name)
        if isinstance(v, tuple) and len(set(v)) == 1:
            out[name] = v[0]
    return out


def _try(cfg: CSPConfig, changes: dict):
    """The changed design, or the ConfigError that refused it (returned, not raised)."""
    data = cfg.to_dict()
    data.update(follow_stage_count(cfg, changes))
    try:
        return CSPConfig.from_dict(data)
    except ConfigError as exc:
        return exc


def _blame(cfg: CSPConfig, changes: dict, exc: ConfigError) -> ConfigError:
    """``exc`` (raised by applying ``changes`` to the valid ``cfg``) as an error about a changed field."""
    given = [k for k in changes if k != "name"]
    if exc.field in changes or exc.field not in _BLAMABLE or not given:
        return exc
    culprit = given[0]
    if len(given) > 1:  # the change without which the rest is valid
        alone = [k for k in given if not isinstance(_try(cfg, {j: changes[j] for j in changes if j != k}),
                                                    ConfigError)]
        culprit = alone[0] if alone else ("repeats" if "repeats" in given else given[0])
    value = changes[culprit]
    if culprit == "repeats" and isinstance(value, (list, tuple)) and len(value) != cfg.num_stages:
        return _stage_count_error(cfg, changes, tuple(value), exc)
    return ConfigError(culprit, f"{format_value(value)} is not allowed with the rest of this design: {exc}")


def _stage_count_error(cfg: CSPConfig, changes: dict, reps: tuple, exc: ConfigError) -> ConfigError:
    """Why ``len(reps)`` stages do not fit, and how many do: a ConfigError about ``repeats``."""
    n = len(reps)
    spec = FIELDS.get(exc.field)
    if spec is not None and spec.per_stage and "values for" in exc.detail:
        v = getattr(cfg, exc.field)
        return ConfigError("repeats", f"{n} stages, but {exc.field} has {len(v)} values ({format_value(v)}), one "
                                      f"per stage of the current design; give {exc.field} as one value or {n} "
                                      f"values too, or keep {len(v)} stages")
    fit = [k for k in range(n - 1, 0, -1) if not isinstance(_try(cfg, {**changes, "repeats": reps[:k]}), ConfigError)]
    if exc.field == "input_size":
        where = exc.detail.split("is too small: ", 1)[-1].split(";")[0]
        msg = f"{n} stages are too many for input {cfg.input_size}: {where}"
        if fit:
            msg += f"; allowed 1 to {fit[0]} stages at input {cfg.input_size}"
        bigger = _try(cfg, {**changes, "input_size": INPUT_SIZE_RANGE[1]})
        if not isinstance(bigger, ConfigError):
            msg += f"{', or' if fit else '; allowed with'} input_size {min_input_size(bigger)} or more for {n} stages"
        return ConfigError("repeats", msg)
    msg = f"{n} stages do not fit this design ({exc})"
    if fit:
        msg += f"; allowed 1 to {fit[0]} stages here"
    return ConfigError("repeats", msg)


def load_design(spec: str) -> CSPConfig:
    """A preset name or the path of a network file (a design JSON, a Darknet cfg, an Ultralytics YAML: which
    reader opens it is decided in one place, ``explorer.design.files``, by its extension and content)."""
    if spec in all_presets():
        return get_preset(spec)
    from explorer.design.files import load_file

    check_design_spec(spec)
    return load_file(spec)


def check_design_spec(spec: str) -> None:
    """Raise ConfigError (field ``design``) where ``spec`` names neither a preset nor a file: no such path, no
    folder and no extension (a misspelt preset)."""
    if spec in all_presets() or os.path.lexists(spec) or os.path.sep in spec or "/" in spec \
            or "." in os.path.basename(spec):
        return
    import difflib

    near = difflib.get_close_matches(spec, list(all_presets()), n=3)
    raise ConfigError("design", f"{spec!r} is neither a preset nor a file" +
                      (f" (did you mean {', '.join(near)}?)" if near else "") +
                      f"; presets: {', '.join(all_presets())}; files: a design .json, a Darknet .cfg, an "
                      "Ultralytics .yaml")


# --------------------------------------------------------------------------- URL state
MAX_QUERY_PARAMS = 40


def to_query(cfg: CSPConfig, preset: str | None = None) -> dict:
    """URL query parameters for a design: the preset it starts from and the fields that differ."""
    base_name = preset if preset in all_presets() else None
    if cfg.network and not _is_default_network(cfg) and not (
            base_name and all_presets()[base_name].config.get("network") == cfg.network):   # a preset's: named
        # an imported network is no link's business (up to 256 KiB of text): the link names the family and
        # says a network was opened; opening it says how to get the design back (the Config JSON carries it)
        return {"family": cfg.family, "network": NETWORK_NOT_IN_LINK}
    base_cfg = get_preset(base_name) if base_name else CSPConfig()
    if base_cfg.family != cfg.family:  # decoding switches family first, from that family's defaults
        base_cfg = with_changes(base_cfg, {"family": cfg.family})
    base = base_cfg.to_dict()
    q = {"preset": base_name} if base_name else {}
    if base_cfg.family != (get_preset(base_name) if base_name else CSPConfig()).family:
        q["family"] = cfg.family
    for k, v in cfg.to_dict().items():
        if k in ("name", "family") or base.get(k) == v or FIELDS[k].group == "hidden":
            continue
        if k in STAGE_FIELDS and len(set(v)) == 1:  # one value in every stage: written once
            if len(set(base[k])) == 1 and base[k][0] == v[0]:
                continue  # the same one value: it follows the stage count when the URL is read
            v = v[0]
        q[k] = format_value(v)
    return q


NETWORK_NOT_IN_LINK = "uploaded"


def _is_default_network(cfg: CSPConfig) -> bool:
    """Whether ``cfg``'s network is its family's default one (the darknet_cfg example, the yolo_yaml default
    preset's text: a link can name them)."""
    from cspnet.families import FAMILIES, get_family

    return cfg.family in FAMILIES and cfg.network == get_family(cfg.family).defaults.get("network")


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
    if "network" in params:
        raise ConfigError("network", "a link does not carry an opened network file: open the .cfg (or the design's "
                          "Config JSON) again with 'Open your own network' on the Design page")
    unknown = [k for k in params if k not in ALL_FIELDS]
    if unknown:
        raise ConfigError(unknown[0], f"unknown URL parameter; allowed: preset, {', '.join(ALL_FIELDS)}")
    changes = {k: parse_value(k, v) for k, v in params.items()}
    return with_changes(cfg, changes), preset
