"""Knob edits as typed in a UI: apply them to a design, or say why not and what would work.

A UI keeps the last valid design and the user's pending (not yet valid) edits as text.  This
module turns ``{field: text}`` edits into a new :class:`CSPConfig` or into per-field errors, each
with the nearest valid value where one can be computed.  Pure Python: no Streamlit.

Rules a form needs that the config alone does not give:

* changing the number of stages (``repeats``) turns per-stage fields whose stages all hold the
  same value back into one value, so ``growth_rate=32`` follows a new stage count (the rule lives
  in ``explorer.design.text.with_changes``, shared with the URL and the CLI, and so does the rule
  that an error names an edited field, never a field the edit made invalid);
* several pending edits are tried together (a new stage count usually needs new ``widths`` and
  ``strides`` at the same time); when that fails, the latest edit alone is tried, so one bad
  field does not block the others;
* the nearest valid value is searched between the typed value and the design's current (valid)
  value, so it is always a value that builds.
"""
from __future__ import annotations

from dataclasses import dataclass, field

from cspnet import ConfigError, CSPConfig
from cspnet.config import FIELDS, STAGE_FIELDS
from explorer.design.text import format_value, parse_value

MAX_BISECT_STEPS = 40


@dataclass
class EditOutcome:
    """The result of applying edits: the design to show, what is still pending, and why."""

    cfg: CSPConfig                       # the new design, or the unchanged last valid one
    changed: bool                        # whether cfg differs from the input design
    pending: dict = field(default_factory=dict)   # field -> text still not applied
    errors: dict = field(default_factory=dict)    # field -> {"message", "field", "nearest"}


def display_value(cfg: CSPConfig, name: str) -> str:
    """A field's value as a form shows it: per-stage fields with equal stages as one value."""
    v = getattr(cfg, name)
    if name in STAGE_FIELDS and isinstance(v, tuple) and len(set(v)) == 1:
        v = v[0]
    return format_value(v)


def _parse_all(edits: dict) -> tuple[dict, dict]:
    parsed, errors = {}, {}
    for name, text in edits.items():
        try:
            parsed[name] = parse_value(name, text)
        except ConfigError as exc:
            errors[name] = {"message": str(exc), "field": exc.field, "nearest": None}
    return parsed, errors


def try_changes(cfg: CSPConfig, parsed: dict) -> CSPConfig:
    """``cfg`` with parsed edits applied (stage-count aware). Raises ConfigError naming an edited field."""
    from explorer.design.text import with_changes

    return with_changes(cfg, parsed)


def _valid(cfg: CSPConfig, parsed: dict) -> bool:
    try:
        try_changes(cfg, parsed)
        return True
    except ConfigError:
        return False


def _bisect(ok, bad_value, good_value, integer: bool):
    """A valid value between ``bad_value`` (invalid) and ``good_value`` (valid), nearest the bad one."""
    lo, hi = bad_value, good_value  # invariant: ok(hi), not ok(lo)
    for _ in range(MAX_BISECT_STEPS):
        if integer:
            if abs(hi - lo) <= 1:
                break
            mid = (lo + hi) // 2
        else:
            if abs(hi - lo) < 1e-4:
                break
            mid = (lo + hi) / 2
        if ok(mid):
            hi = mid
        else:
            lo = mid
    if not integer:
        for digits in (2, 3, 4):  # a round number if one is valid and no further from the typed one
            r = round(hi, digits)
            if min(bad_value, good_value) <= r <= max(bad_value, good_value) and ok(r):
                if abs(r - bad_value) <= abs(hi - bad_value) + 10 ** -digits:
                    return r
    return hi


NEAR_PROBES = 16   # integers: try this many values on each side of the typed one before bisecting


def _nearest(ok, bad_value, good_value, integer: bool):
    """The valid value nearest the typed ``bad_value``: for integers, the closest of the few values either
    side of it (validity need not be monotone: a width must split into attention heads or groups); else,
    or when none of those is valid, :func:`_bisect` towards the current ``good_value``."""
    if integer:
        for d in range(1, NEAR_PROBES + 1):
            for v in (bad_value - d, bad_value + d):
                if ok(v):
                    return v
    return _bisect(ok, bad_value, good_value, integer)


def nearest_valid(cfg: CSPConfig, name: str, text: str, others: dict | None = None) -> str | None:
    """The valid value of ``name`` nearest to the typed ``text``, given the other edits; or None.

    Integers are first tried a few steps either side of the typed value, then (as floats) searched
    between the typed value and the current value of ``cfg`` (which is valid); per-stage lists element
    by element.  None when there is nothing numeric to search
    (text fields, unparsable text, a changed number of values).
    """
    others = {k: v for k, v in (others or {}).items() if k != name}
    spec = FIELDS.get(name)
    if spec is None or not spec.is_number:
        return None
    try:
        typed = parse_value(name, text)
    except ConfigError:
        return None
    base = cfg
    if others:
        try:
            base = try_changes(cfg, others)
        except ConfigError:
            base = cfg
            others = {}
    current = getattr(base, name)

    def check(value):
        return _valid(base, {name: value})

    if check(typed):
        return format_value(typed)
    if not isinstance(current, tuple):  # scalar field
        if isinstance(typed, tuple):
            return None
        return format_value(_nearest(check, typed, current, spec.is_integer))
    # per-stage field (or repeats): element by element
    n = len(current)
    vals = list(typed) if isinstance(typed, tuple) else [typed] * n
    if name == "repeats" and len(vals) > n:  # too many stages: the longest valid start of the typed list
        for k in range(len(vals) - 1, n, -1):
            if check(tuple(vals[:k])):
                return format_value(tuple(vals[:k]))
        vals = vals[:n]
    if len(vals) != n:
        return None
    if len(set(current)) == 1 and len(set(vals)) == 1 and name != "repeats":  # keep one value
        v = _nearest(lambda x: check(x), vals[0], current[0], spec.is_integer)
        return format_value(v) if check(v) else None
    cand = list(vals)
    for i in range(n):
        if check(tuple(cand[: i + 1]) + tuple(current[i + 1:])):
            continue

        def ok_i(x, i=i):
            return check(tuple(cand[:i]) + (x,) + tuple(current[i + 1:]))

        if not ok_i(current[i]):
            return None
        cand[i] = _nearest(ok_i, vals[i], current[i], spec.is_integer)
    result = tuple(cand)
    return format_value(result) if check(result) else None


def apply_edits(cfg: CSPConfig, edits: dict, latest: str | None = None) -> EditOutcome:
    """Apply text edits ``{field: text}`` to ``cfg``.

    All edits together if they make a valid design; else the ``latest`` edit alone if that is
    valid (the rest stay pending); errors name the field, the reason and the nearest valid value.
    """
    if not edits:
        return EditOutcome(cfg, False)
    parsed, errors = _parse_all(edits)
    if not errors:
        try:
            new = try_changes(cfg, parsed)
            return EditOutcome(new, new != cfg)
        except ConfigError as exc:
            first_error = exc
    else:
        first_error = None
    base = cfg
    pending = dict(edits)
    if latest in parsed and len(edits) > 1:
        try:
            base = try_changes(cfg, {latest: parsed[latest]})
            pending.pop(latest)
        except ConfigError:
            pass
    # what is still pending: its reason and nearest valid value, against the new base
    still_parsed = {k: v for k, v in parsed.items() if k in pending}
    out_errors = {k: v for k, v in errors.items() if k in pending}
    if still_parsed and not out_errors:
        try:
            new = try_changes(base, still_parsed)
            return EditOutcome(new, new != cfg)
        except ConfigError as exc:
            first_error = exc
    for name in still_parsed:
        try:
            try_changes(base, {name: still_parsed[name]})
            reason = first_error
        except ConfigError as exc:
            reason = exc
        if reason is None:
            continue
        out_errors[name] = {"message": str(reason), "field": reason.field,
                            "nearest": nearest_valid(base, name, pending[name])}
    return EditOutcome(base, base != cfg, pending, out_errors)
