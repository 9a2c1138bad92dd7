"""What a design field is: its kind, bounds, who reads it and how a UI shows it, declared once.

Every field of :class:`cspnet.config.CSPConfig` is declared with :func:`knob`, which stores a
:class:`FieldSpec` in the dataclass field's metadata.  Everything that needs to know about a field
reads that spec instead of keeping its own list:

* validation (``CSPConfig.__post_init__``: kind, bounds, one-value-or-per-stage broadcasting);
* text parsing (``explorer.design.text.parse_value``: the CLI's ``--set``, URL parameters, JSON);
* the Design page's widgets (label, help, step, main or advanced group, which families show it);
* the Sweep page's knob list and default ranges (``sweep``);
* the lesson's controls that are config fields (label, help, bounds);
* the README's field table (:func:`field_table`, checked by a test).

Adding a knob is one ``knob(...)`` line in ``CSPConfig`` plus the family code that reads it.
Pure Python: no torch.
"""
from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass
from typing import Any, Callable

from .errors import ConfigError

KINDS = ("int", "float", "bool", "choice", "text")

# CSPNet's default split: half of a stage's channels C go through the block (the paper's gamma = 0.5).
# Declared once: the ``split_ratio`` field's default, what a family's switch to a CSP fusion starts from
# (``cspnet.families.preset_defaults``) and the lesson's designs read it.  A preset's own split (e.g. the
# lineage's halves, which its reference networks fix) is data and written in its table.
SPLIT_RATIO_DEFAULT = 0.5
GROUPS = ("identity", "main", "advanced", "hidden")   # hidden: no knob widget (an imported network's text)

# Families that read only some of the fields declared for every family (``families=None``): family ->
# those field names (and any field declared for other families that it reads too: an opened detection YAML
# reads darknet_cfg's ``network`` text).  Filled by ``cspnet.families.register_family`` (an imported network,
# whose file fixes its stages, classes and activations, reads ``input_size`` and nothing else of them).
GENERIC_READS: dict = {}


@dataclass(frozen=True)
class FieldSpec:
    """One design field. ``name`` is filled in from the dataclass field it annotates."""

    kind: str                                  # int | float | bool | choice | text
    label: str
    help: str
    families: tuple | None = None              # the families that read it; None: every family
    per_stage: bool = False                    # one value (all stages) or one per stage
    axis: str = "stages"                       # per_stage over: "stages" (the backbone's, len(repeats)) or
                                               # "neck" (a detector's neck stages, cspnet.config.NECK_STAGES)
    stages: bool = False                       # this field's length sets the number of stages (repeats)
    lo: float | None = None
    hi: float | None = None
    low_open: bool = False                     # lo itself is not allowed
    choices: tuple | Callable[[], tuple] = ()  # allowed values of a choice field (or a function giving them)
    choice_labels: dict | None = None          # value -> short label for a widget
    step: float | None = None                  # a number widget's +/- step
    group: str = "main"                        # identity (family, name) | main | advanced | hidden
    csp_only: bool = False                     # acts only in CSP stages (fusion != none)
    sweep: str | Callable | None = None        # default sweep range, or f(cfg) -> range; None: not sweepable
    max_len: int = 0                           # text fields: longest allowed text
    name: str = ""

    # ---------------------------------------------------------------- who reads it
    def reads(self, family: str) -> bool:
        only = GENERIC_READS.get(family)
        if self.families is None:
            return only is None or self.group == "identity" or self.name in only
        # a plug-in family may read a field declared for another one (yolo_yaml: darknet_cfg's network text)
        return family in self.families or (only is not None and self.name in only)

    @property
    def sweepable(self) -> bool:
        return self.sweep is not None

    def default_sweep(self, cfg) -> str:
        """The range a sweep of this field starts from in design ``cfg``; a choice field's, only the values the
        design's family allows it (``cspnet.families.field_choices``: an opened YAML's fusion, its own and none)."""
        values = self.sweep(cfg) if callable(self.sweep) else (self.sweep or "")
        if self.kind != "choice" or not values:
            return values
        from .families import field_choices

        allowed = field_choices(cfg, self.name)
        return ",".join(v for v in values.split(",") if v in allowed) or values

    def allowed_choices(self) -> tuple:
        return tuple(self.choices()) if callable(self.choices) else tuple(self.choices)

    # ---------------------------------------------------------------- allowed values, in words
    @property
    def is_integer(self) -> bool:
        return self.kind == "int"

    @property
    def is_number(self) -> bool:
        return self.kind in ("int", "float")

    def allowed(self) -> str:
        """The allowed values, as error messages and the README say them."""
        if self.kind == "int":
            return f"integers {_num(self.lo)} to {_num(self.hi)}"
        if self.kind == "float":
            left = "(" if self.low_open else "["
            return f"range {left}{_num(self.lo)}, {_num(self.hi)}]"
        if self.kind == "bool":
            return "true or false"
        if self.kind == "choice":
            return ", ".join(map(str, self.allowed_choices()))
        return f"text of at most {self.max_len} characters"

    # ---------------------------------------------------------------- validation of one value
    def check_value(self, v, where: str | None = None) -> Any:
        """``v`` converted to the field's type; raises ConfigError naming the field and the range.

        ``where`` ("stage 2 has ") locates one value of a per-stage list in the message."""
        if self.is_number:
            ok = (_is_int(v) and self.lo <= v <= self.hi) if self.kind == "int" else (
                _is_num(v) and (self.lo < v if self.low_open else self.lo <= v) and v <= self.hi)
            if not ok:
                said = f"{v!r} is not allowed" if where is None else f"{where}{v!r}"
                raise ConfigError(self.name, f"{said}; allowed {self.allowed()}")
            return int(v) if self.kind == "int" else float(v)
        if self.kind == "bool":
            if not isinstance(v, bool):
                raise ConfigError(self.name, f"{v!r} is not allowed; allowed: true or false")
            return v
        if self.kind == "choice":
            if not isinstance(v, str) or v not in self.allowed_choices():
                raise ConfigError(self.name, f"{v!r} is not allowed; allowed: {self.allowed()}")
            return v
        if not isinstance(v, str) or len(v) > self.max_len:
            raise ConfigError(self.name, f"must be text of at most {self.max_len} characters")
        return v

    @property
    def stage_word(self) -> str:
        """What one of its per-stage values belongs to, as messages say it."""
        return "neck stage" if self.axis == "neck" else "stage"

    def follow_stages(self, v, n_stages: int) -> Any:
        """A per-stage value of a field the family does not read, fitted to ``n_stages`` silently.

        Such a value changes nothing in the network, so it must never make a design invalid by its
        length (a new stage count from ``repeats``): equal values become one value (it then fills
        every stage), other lists are cut to ``n_stages`` or padded with their last value.  Each
        value is still checked against the field's bounds by :meth:`check` (a value the user gave
        is reported under this field's name)."""
        if not self.per_stage or not isinstance(v, (list, tuple)) or not v or len(v) == n_stages:
            return v
        vals = tuple(v)
        if len(set(map(repr, vals))) == 1:
            return vals[0]
        return vals[:n_stages] + (vals[-1],) * (n_stages - len(vals))

    def check(self, v, n_stages: int) -> Any:
        """The field's value after construction: per-stage fields become a tuple of ``n_stages``."""
        if self.stages:
            vals = _as_tuple(self.name, v)
            if not vals:
                raise ConfigError(self.name, "empty; give at least one stage (e.g. 6,12,24,16)")
            if len(vals) > n_stages:
                raise ConfigError(self.name, f"{len(vals)} stages; allowed 1 to {n_stages}")
            return tuple(self.check_value(x, f"stage {i} has ") for i, x in enumerate(vals))
        if not self.per_stage:
            return self.check_value(v)
        vals = tuple(v) if isinstance(v, (list, tuple)) else (v,) * n_stages
        if len(vals) == 1 and n_stages > 1:
            vals = vals * n_stages
        if len(vals) != n_stages:
            raise ConfigError(self.name, f"{len(vals)} values for {n_stages} {self.stage_word}s; give one value or "
                              f"{n_stages}")
        listed = n_stages > 1 and isinstance(v, (list, tuple))
        return tuple(self.check_value(x, f"{self.stage_word} {i} has " if listed else "") for i, x in enumerate(vals))


def knob(default, kind: str, label: str, help: str, **spec) -> dataclasses.Field:
    """A dataclass field whose metadata holds its :class:`FieldSpec` (see the module docstring)."""
    if kind not in KINDS:
        raise ValueError(f"unknown field kind {kind!r}")
    return dataclasses.field(default=default, metadata={"spec": FieldSpec(kind, label, help, **spec)})


def specs_of(cls) -> dict:
    """``{name: FieldSpec}`` of a dataclass declared with :func:`knob`, in declaration order."""
    out = {}
    for f in dataclasses.fields(cls):
        spec = f.metadata.get("spec")
        if spec is None:
            raise TypeError(f"{cls.__name__}.{f.name} is not declared with knob()")
        if spec.group not in GROUPS:
            raise ValueError(f"{f.name}: unknown group {spec.group!r}")
        out[f.name] = dataclasses.replace(spec, name=f.name)
    return out


# --------------------------------------------------------------------------- small helpers
def _num(x) -> str:
    return str(x)


def _is_int(v) -> bool:
    return isinstance(v, int) and not isinstance(v, bool)


def _is_num(v) -> bool:
    return isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v)


def _as_tuple(name: str, v) -> tuple:
    if isinstance(v, (list, tuple)):
        return tuple(v)
    if _is_int(v):
        return (v,)
    raise ConfigError(name, f"{v!r} is not allowed; give an integer or a list of integers")


# --------------------------------------------------------------------------- documentation
def field_rows(specs: dict) -> list:
    """One row per field, for the README's table and ``explorer fields``."""
    rows = []
    for name, f in specs.items():
        rows.append({
            "field": name,
            "families": "all" if f.families is None else ", ".join(f.families),
            "values": (f"one or one per {f.stage_word}: " if f.per_stage else "one per stage: " if f.stages else "")
                      + f.allowed(),
            "csp_only": f.csp_only,
            "sweepable": f.sweepable,
            "label": f.label,
            "help": f.help,
        })
    return rows


def field_table(specs: dict) -> str:
    """The README's field table (markdown), generated from the declarations."""
    lines = ["| field | families | allowed | meaning |", "|---|---|---|---|"]
    for r in field_rows(specs):
        csp = " (CSP stages only)" if r["csp_only"] else ""
        lines.append(f"| `{r['field']}` | {r['families']} | {r['values']} | {r['label']}{csp}: {r['help']} |")
    return "\n".join(lines)
