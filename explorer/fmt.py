"""Plain output shared by the engine, the CLI and the app: numbers as text (``si``, ``gib``, ``pct``),
values made JSON-safe (``json_safe``) and the short names of the fusion strategies.

Pure functions, no Streamlit, no Plotly.
"""
from __future__ import annotations

import math
import re

from cspnet.config import FUSION_LABELS, FUSIONS

GiB = 1024**3
MiB = 1024**2
KiB = 1024

_SI = ((1e12, "T"), (1e9, "G"), (1e6, "M"), (1e3, "k"))


def si(n, unit: str = "", digits: int = 3) -> str:
    """8570408 -> '8.57 M'; with unit 'MAC' -> '8.57 MMAC'."""
    if n is None or (isinstance(n, float) and not math.isfinite(n)):
        return "n/a"
    a = abs(n)
    for f, p in _SI:
        if a >= f:
            return f"{n / f:.{digits}g} {p}{unit}".rstrip()
    return f"{n:.{digits}g} {unit}".rstrip() if isinstance(n, float) else f"{n} {unit}".rstrip()


def gib(n_bytes) -> str:
    """Bytes as '1.2 GiB' from a tenth of a GiB up, else '97 MiB' (or KiB, or B)."""
    if n_bytes is None:
        return "n/a"
    if n_bytes >= GiB / 10:
        return f"{n_bytes / GiB:.1f} GiB"
    for f, p in ((MiB, "MiB"), (KiB, "KiB")):
        if n_bytes >= f:
            return f"{n_bytes / f:.0f} {p}"
    return f"{n_bytes} B"


def pct(x, digits: int = 1) -> str:
    if x is None:
        return "n/a"
    return f"{x:+.{digits}f} %"


def json_safe(v):
    """``v`` with every value JSON can hold as is: NaN, inf and pandas' NA -> None, numpy scalars ->
    Python, tuples -> lists, dict keys -> str; nested dicts and lists all the way down."""
    if isinstance(v, dict):
        return {str(k): json_safe(x) for k, x in v.items()}
    if isinstance(v, (list, tuple)):
        return [json_safe(x) for x in v]
    if v is None or isinstance(v, (bool, str)):
        return v
    if hasattr(v, "item") and not isinstance(v, bytes):
        try:
            v = v.item()  # numpy scalar -> Python
        except (TypeError, ValueError):
            pass
    if isinstance(v, float) and not math.isfinite(v):
        return None
    if _is_na(v):
        return None
    return v


def _is_na(v) -> bool:
    try:
        import pandas as pd
    except ImportError:  # pragma: no cover
        return False
    return v is pd.NA or v is pd.NaT


# --------------------------------------------------------------------------- fusion names
# The paper figure of each fusion, read from cspnet's canonical labels ("... (Fig. 3b)").
FUSION_FIGURE = {f: re.search(r"Fig\. 3[a-d]", FUSION_LABELS[f]).group(0) for f in FUSIONS}
_SHORT_NAMES = {"none": "none: plain network", "csp": "csp: full CSP", "fusion_first": "fusion first",
                "fusion_last": "fusion last"}
# 'fusion first (Fig. 3c)': a fusion in a few words and its figure; FUSION_LABELS has the long text.
FUSION_SHORT = {f: f"{_SHORT_NAMES[f]} ({FUSION_FIGURE[f]})" for f in FUSIONS}
