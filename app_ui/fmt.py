"""Number formatting for display (pure functions)."""
from __future__ import annotations

import math

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
    if n_bytes is None:
        return "n/a"
    for f, p in ((2**30, "GiB"), (2**20, "MiB"), (2**10, "KiB")):
        if n_bytes >= f:
            return f"{n_bytes / f:.3g} {p}"
    return f"{n_bytes} B"


def pct(x, digits: int = 1) -> str:
    if x is None:
        return "n/a"
    return f"{x:+.{digits}f} %"
