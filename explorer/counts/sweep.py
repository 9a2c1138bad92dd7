"""Sweeps: vary one or two knobs over ranges and count every design analytically.

A design that is invalid at some grid point (a branch rounded to 0 channels, say) becomes a row
with its error message rather than stopping the sweep.
"""
from __future__ import annotations

import itertools

import pandas as pd

from cspnet import ConfigError, CSPConfig, plan_network
from cspnet.config import FIELDS
from explorer.counts.conventions import CONVENTIONS, totals
from explorer.design.text import ALL_FIELDS, parse_value, with_changes

MAX_SWEEP_DESIGNS = 20_000
MAX_LATENCY_DESIGNS = 12
SWEEP_METRICS = ("params", "macs", "fvcore_macs", "cio", "activations")
TWIN_PCT_METRICS = ("params", "macs", "cio")  # the *_vs_twin_pct columns of sweep(with_twin=True)
# what a sweep can plot: metric -> label, and the counting conventions offered for MACs
METRIC_LABELS = {
    "params": "Parameters",
    "macs": "MACs / FLOPs",
    "cio": "Memory traffic (CIO, elements)",
    "activations": "Activations (elements)",
}
CONVENTION_LABELS = {k: c.label for k, c in CONVENTIONS.items()}       # every registered convention
# a convention's column in a sweep: macs and fvcore_macs among SWEEP_METRICS, the others under their key
CONVENTION_COLUMNS = {k: {"macs": "macs", "fvcore": "fvcore_macs"}.get(k, k) for k in CONVENTIONS}
SWEEP_COLUMNS = SWEEP_METRICS + tuple(c for c in CONVENTION_COLUMNS.values() if c not in SWEEP_METRICS)
# conventions proportional to conv+linear MACs: their % against the plain twin is the MACs'
TWIN_PCT_CONVENTIONS = ("macs", "flops", "bflops")


# --------------------------------------------------------------------------- which knobs act
# the first knob a sweep offers, best first, among those that act on the design (knob_acts); a lineage
# family whose source scales its widths (cspnet/families/lineage.py) starts with width x depth multiple
DEFAULT_FIRST_KNOBS = ("split_ratio", "growth_rate", "widths", "input_size")
SCALING_KNOBS = ("width_multiple", "depth_multiple")


NECK_PREFIX = "neck_"   # a detector's neck fields: they act on a detector only (cspnet.config)


def sweep_knobs(cfg: CSPConfig) -> list:
    """The sweepable fields the design's family reads, in declaration order (cspnet.config.FIELDS); a detector's
    neck fields only where the design is a detector (a classifier of a detect family has no neck)."""
    return [n for n, f in FIELDS.items() if f.sweepable and f.reads(cfg.family)
            and (cfg.is_detector or not n.startswith(NECK_PREFIX))]


def fusion_of(knob: str) -> str:
    """The fusion field a CSP-only knob needs: ``fusion`` for the backbone's, ``neck_fusion`` for the neck's
    counterpart of a CSP-only field (``neck_split_ratio``: the neck's ``split_ratio``)."""
    return "neck_fusion" if knob.startswith(NECK_PREFIX) else "fusion"


def _csp_only(knob: str) -> bool:
    spec = FIELDS[knob]
    if knob.startswith(NECK_PREFIX):   # the neck's counterpart of a CSP-only backbone field
        twin = FIELDS.get(knob[len(NECK_PREFIX):])
        return spec.csp_only or (twin is not None and twin.csp_only)
    return spec.csp_only


def knob_acts(cfg: CSPConfig, knob: str, swept=()) -> bool:
    """Whether varying ``knob`` can change ``cfg``'s network: the family reads it (a neck field: ``cfg`` is a
    detector), and a CSP-only knob (``FIELDS[knob].csp_only``; the neck's split ratio) needs CSP stages: its
    fusion (:func:`fusion_of`) other than 'none' in the design, or that fusion among the ``swept`` knobs."""
    spec = FIELDS.get(knob)
    if spec is None or not spec.reads(cfg.family) or (knob.startswith(NECK_PREFIX) and not cfg.is_detector):
        return False
    fusion = fusion_of(knob)
    return not (_csp_only(knob) and getattr(cfg, fusion) == "none" and fusion not in swept)


def idle_knobs(cfg: CSPConfig, keys) -> list:
    """The ``keys`` that do not act on ``cfg`` (every grid point along them is the same design)."""
    keys = [k for k in keys if k]
    return [k for k in keys if not knob_acts(cfg, k, keys)]


def default_knobs(cfg: CSPConfig) -> tuple[str, str | None]:
    """The knobs a sweep of ``cfg`` starts with: width x depth multiple where both act (a lineage family
    reads a multiple only where its source scales by it: YOLOv7 has no depth multiple); else the first of
    DEFAULT_FIRST_KNOBS that acts (a plain design does not get the split ratio), and growth_rate second
    when it acts and is not the first."""
    opts = [k for k in sweep_knobs(cfg) if knob_acts(cfg, k)] or sweep_knobs(cfg)
    if all(k in opts for k in SCALING_KNOBS):
        return SCALING_KNOBS
    first = next((k for k in DEFAULT_FIRST_KNOBS if k in opts), opts[0])
    second = "growth_rate" if "growth_rate" in opts and first != "growth_rate" else None
    return first, second


def csp_version(cfg: CSPConfig) -> tuple[CSPConfig, str | None]:
    """``cfg`` with fusion 'csp' (paper Fig. 3b), and the preset it then equals (name aside), if any.

    Its name: that preset's, else the design's with ' (CSP)'. Raises ConfigError (naming fusion)
    when the CSP version is not a valid design."""
    from cspnet import all_presets, get_preset

    new = with_changes(cfg, {"fusion": "csp"})
    for name in all_presets():
        p = get_preset(name)
        if p.family == new.family and p.replace(name=new.name) == new:
            return p, name
    label = cfg.name if cfg.name.endswith("(CSP)") else f"{cfg.name} (CSP)"[: FIELDS["name"].max_len]
    return new.replace(name=label), None


def parse_vary(spec: str) -> tuple[str, list]:
    """``key=start:stop:step`` (inclusive stop) or ``key=v1,v2,...`` -> (key, values)."""
    if "=" not in spec:
        raise ConfigError("--vary", f"{spec!r} is not key=start:stop:step or key=v1,v2")
    key, text = (t.strip() for t in spec.split("=", 1))
    if key not in ALL_FIELDS:
        raise ConfigError(key, f"unknown field; allowed: {', '.join(ALL_FIELDS)}")
    if ":" in text:
        parts = text.split(":")
        if len(parts) != 3:
            raise ConfigError(key, f"range {text!r} must be start:stop:step")
        is_float = FIELDS[key].kind == "float"
        conv = float if is_float else int
        try:
            start, stop, step = (conv(p) for p in parts)
        except ValueError:
            raise ConfigError(key, f"range {text!r} needs {'numbers' if is_float else 'integers'}") from None
        if step <= 0 or stop < start:
            raise ConfigError(key, f"range {text!r}: need step > 0 and stop >= start")
        n = int((stop - start) / step + 1e-9) + 1
        if n > MAX_SWEEP_DESIGNS:
            raise ConfigError(key, f"{n} values; allowed at most {MAX_SWEEP_DESIGNS}")
        values = [round(start + i * step, 10) if is_float else start + i * step for i in range(n)]
    elif key == "repeats" or ";" in text:   # one list per design: "3,6,9,3; 2,4,6,2" (a per-stage field's)
        values = [parse_value(key, v) for v in text.split(";") if v.strip()]
    else:
        values = [parse_value(key, v) for v in text.split(",") if v.strip()]
    if not values:
        raise ConfigError(key, "no values to sweep")
    return key, values


PARTS = ("backbone", "neck", "head")   # a detector's parts (explorer.counts.analysis.PARTS)
PART_METRICS = ("params", "macs")      # a detector sweep's per-part columns: <part>_params, <part>_macs


def part_column(part: str, metric: str) -> str:
    return f"{part}_{metric}"


def design_metrics(cfg: CSPConfig) -> dict:
    """The sweep's columns of one design: every SWEEP_COLUMNS total and, for a network with a neck (a detector),
    each part's params and MACs (:func:`part_column`; the parts add up to the totals)."""
    plan = plan_network(cfg)
    out = totals(plan, SWEEP_COLUMNS)
    if any(sp.part_name == "neck" for sp in plan.stages):
        parts = {p: dict.fromkeys(PART_METRICS, 0) for p in PARTS}
        for sp in plan.stages:
            for m, v in totals(sp, PART_METRICS).items():
                parts.setdefault(sp.part_name, dict.fromkeys(PART_METRICS, 0))[m] += v
        out.update((part_column(p, m), v) for p, c in parts.items() for m, v in c.items())
    return out


def per_part(df: pd.DataFrame, keys, metric: str) -> pd.DataFrame:
    """A detector sweep's rows once per part (backbone, neck, head): the knobs, ``part``, ``error`` and the
    part's ``metric`` (a key of PART_METRICS) as column ``value``; for a chart of one line per part.
    Raises ConfigError when the sweep has no per-part columns (no neck) or ``metric`` has none."""
    if metric not in PART_METRICS:
        raise ConfigError("metric", f"{metric!r} has no per-part columns; allowed: {', '.join(PART_METRICS)}")
    cols = [part_column(p, metric) for p in PARTS]
    if not all(c in df.columns for c in cols):
        raise ConfigError("metric", "this sweep has no per-part columns (a design with a neck: a detector)")
    frames = [df[list(keys) + ["error"]].assign(part=p, value=df[part_column(p, metric)]) for p in PARTS]
    return pd.concat(frames, ignore_index=True)


def sweep(base: CSPConfig, axes: list, with_twin: bool = False) -> pd.DataFrame:
    """One row per grid point: the varied values, the metrics, and ``error`` for invalid designs."""
    if not 1 <= len(axes) <= 2:
        raise ConfigError("--vary", f"{len(axes)} knobs; vary one or two")
    n = 1
    for _, vals in axes:
        n *= len(vals)
    if n > MAX_SWEEP_DESIGNS:
        raise ConfigError("--vary", f"{n} designs; allowed at most {MAX_SWEEP_DESIGNS}")
    keys = [k for k, _ in axes]
    rows = []
    twin_cache: dict = {}
    for combo in itertools.product(*[v for _, v in axes]):
        row = {k: (",".join(map(str, v)) if isinstance(v, tuple) else v) for k, v in zip(keys, combo)}
        try:
            cfg = with_changes(base, dict(zip(keys, combo)))
            row.update(design_metrics(cfg))
            row["error"] = ""
            if with_twin and cfg.is_csp:
                tk = cfg.twin().key()
                if tk not in twin_cache:
                    twin_cache[tk] = design_metrics(cfg.twin())
                for m in TWIN_PCT_METRICS:
                    row[f"{m}_vs_twin_pct"] = 100.0 * (row[m] - twin_cache[tk][m]) / twin_cache[tk][m]
        except ConfigError as exc:
            row.update({m: None for m in SWEEP_COLUMNS})
            row["error"] = str(exc)
        rows.append(row)
    return pd.DataFrame(rows)


def value_column(df: pd.DataFrame, metric: str, conv: str, pct: bool, cfg: CSPConfig,
                 keys) -> tuple[pd.DataFrame, str, str]:
    """What a sweep plots: (a copy of ``df`` with the plotted column, its name, its label).

    ``metric``: a key of :data:`METRIC_LABELS`; ``conv``: for MACs, a key of
    :data:`CONVENTION_LABELS` (every registered convention); ``pct``: the change against the plain twin
    (for MACs, only in :data:`TWIN_PCT_CONVENTIONS`), where a plain design (fusion 'none', the base ``cfg``
    or a swept value) is its own twin: 0 %.
    """
    df = df.copy()
    if metric == "macs":
        if conv not in CONVENTION_COLUMNS:
            raise ConfigError("convention", f"{conv!r} is not a counting convention; allowed: "
                              + ", ".join(CONVENTION_COLUMNS))
        if pct and conv not in TWIN_PCT_CONVENTIONS:
            raise ConfigError("convention", f"% vs plain twin is computed for {', '.join(TWIN_PCT_CONVENTIONS)} "
                              f"only, not {conv!r}")
        base, label = CONVENTION_COLUMNS[conv], CONVENTION_LABELS[conv]
    else:
        base, label = metric, METRIC_LABELS[metric]
    if not pct:
        return df, base, label
    col = f"{'macs' if metric == 'macs' else metric}_vs_twin_pct"
    if col not in df.columns:
        df[col] = None
    # a plain design (fusion 'none') is its own twin: 0 %
    plain = (df["error"] == "") & df[col].isna()
    if "fusion" in keys:
        plain &= df["fusion"] == "none"
    elif cfg.is_csp:
        plain &= False
    df.loc[plain, col] = 0.0
    return df, col, f"{label}, % vs plain twin"

