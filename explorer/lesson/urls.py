"""Shareable addresses: the lesson's part of the URL (``l_step`` and the step's control values) and
its parsing back, out-of-range or unknown values left out.
"""
from __future__ import annotations

from explorer.lesson.steps import STEP_KEYS, get_step

URL_PREFIX = "l_"


def url_params(step_key: str, values: dict) -> dict:
    """The lesson's part of the address: ``l_step`` and the step's control values (``l_<name>``)."""
    out = {f"{URL_PREFIX}step": step_key}
    for c in get_step(step_key).controls:
        v = (values or {}).get(c.name, c.default)
        out[f"{URL_PREFIX}{c.name}"] = ("1" if v else "0") if isinstance(v, bool) else f"{v:g}" if isinstance(
            v, float) else str(v)
    return out


def parse_url_params(params: dict) -> tuple:
    """(step key, {control: value}) from an address's lesson params (``l_*``); unknown or out-of-range
    values are left out (the control keeps its default); (None, {}) without a valid ``l_step``."""
    p = {k: (v[-1] if isinstance(v, list) and v else v) for k, v in (params or {}).items()}
    key = p.get(f"{URL_PREFIX}step")
    if key not in STEP_KEYS:
        return None, {}
    values = {}
    for c in get_step(key).controls:
        raw = p.get(f"{URL_PREFIX}{c.name}")
        if raw is None:
            continue
        try:
            if c.options == (True, False):
                v = {"1": True, "true": True, "0": False, "false": False}[str(raw).lower()]
            elif c.kind == "select":
                if raw not in c.options:
                    continue
                v = raw
            else:
                num = float(raw)
                if not (c.min <= num <= c.max) or abs((num - c.min) / c.step - round((num - c.min) / c.step)) > 1e-6:
                    continue
                is_int = all(float(x).is_integer() for x in (c.min, c.max, c.step, c.default))
                v = int(num) if is_int else num
        except (KeyError, ValueError):
            continue
        values[c.name] = v
    return key, values
