"""Published inference speed (timm's benchmark CSVs) beside this tool's analytic compute.

The data set is ``explorer/paper/data/published_speed.csv`` (described in ``PUBLISHED.md``): the rows
of timm's ``results/benchmark-infer-*.csv`` files for the networks this project has presets for,
copied as printed. These are timm's measurements, not this app's.

:func:`speed_pairs` puts, for each CSP preset and its paper base on one device, the ratio of this
tool's conv+linear MACs (at each row's own img_size) beside the ratio of the published throughputs:
fewer MACs need not mean more images per second.

Pure Python + pandas: no Streamlit, no torch.
"""
from __future__ import annotations

from functools import lru_cache
from pathlib import Path

import pandas as pd

from explorer.paper.published import read_table

DATA_PATH = Path(__file__).resolve().parent / "data" / "published_speed.csv"
COLUMNS = ("model", "preset", "device", "precision", "layout", "batch", "img_size", "samples_per_sec",
           "step_time_ms", "source_file", "source_commit", "source_url", "note")
INT_COLUMNS = ("batch", "img_size")
FLOAT_COLUMNS = ("samples_per_sec", "step_time_ms")
PAIR_COLUMNS = ("device", "csp", "base", "csp_res", "base_res", "same_res", "csp_gmacs", "base_gmacs",
                "mac_ratio", "csp_img_s", "base_img_s", "throughput_ratio", "batch", "source_file")


@lru_cache(maxsize=1)
def _load() -> pd.DataFrame:
    return read_table(DATA_PATH, COLUMNS, {**{c: "int64" for c in INT_COLUMNS},
                                           **{c: "float64" for c in FLOAT_COLUMNS}})[1]


def load_speed() -> pd.DataFrame:
    """The speed data set as a DataFrame (a fresh copy each call; parsed once per process)."""
    return _load().copy(deep=True)


def devices() -> list[str]:
    return list(dict.fromkeys(_load()["device"]))


@lru_cache(maxsize=64)
def analytic_gmacs(preset: str, img_size: int) -> float:
    """This tool's conv+linear MACs (in G) for a preset at a square input of img_size px."""
    from cspnet import get_preset, plan_network
    from explorer.counts.conventions import count

    return count(plan_network(get_preset(preset, input_size=int(img_size))), "macs") / 1e9


def _base_row(base_rows: pd.DataFrame, res: int) -> pd.Series:
    """The base's row at the CSP row's img_size, else the nearest one (ties: the smaller size)."""
    ranked = base_rows.assign(_d=(base_rows["img_size"] - res).abs()).sort_values(["_d", "img_size"])
    return ranked.iloc[0]


def speed_pairs(device: str) -> pd.DataFrame:
    """One row per CSP preset whose paper base also has a row on ``device``: MAC ratio (this tool,
    CSP / base, each at its row's img_size) beside the published throughput ratio (CSP / base)."""
    from cspnet.presets import paper_base

    df = _load()
    rows = df[df["device"] == device]
    out = []
    for _, r in rows.iterrows():
        base = paper_base(r["preset"])
        if not base:
            continue
        base_rows = rows[rows["preset"] == base]
        if base_rows.empty:
            continue
        b = _base_row(base_rows, int(r["img_size"]))
        cg = analytic_gmacs(r["preset"], int(r["img_size"]))
        bg = analytic_gmacs(base, int(b["img_size"]))
        out.append({"device": device, "csp": r["preset"], "base": base, "csp_res": int(r["img_size"]),
                    "base_res": int(b["img_size"]), "same_res": int(b["img_size"]) == int(r["img_size"]),
                    "csp_gmacs": cg, "base_gmacs": bg, "mac_ratio": cg / bg,
                    "csp_img_s": float(r["samples_per_sec"]), "base_img_s": float(b["samples_per_sec"]),
                    "throughput_ratio": float(r["samples_per_sec"]) / float(b["samples_per_sec"]),
                    "batch": int(r["batch"]), "source_file": r["source_file"]})
    return pd.DataFrame(out, columns=list(PAIR_COLUMNS)).sort_values("csp", ignore_index=True)


def throughput_points(published: pd.DataFrame, device: str) -> pd.DataFrame:
    """Published accuracy rows (with a top-1 and a preset) that have a speed row on ``device``,
    matched through the preset: each gets the speed row at its own ``res`` if there is one, else the
    nearest img_size (ties: the smaller). Adds img_s, speed_res, batch, speed_source."""
    speed = _load()
    speed = speed[speed["device"] == device]
    out = []
    for _, r in published.iterrows():
        if not r.get("preset") or pd.isna(r["top1"]):
            continue
        rows = speed[speed["preset"] == r["preset"]]
        if rows.empty:
            continue
        res = r["res"]
        s = _base_row(rows, int(res) if not pd.isna(res) else 224)
        out.append({**r.to_dict(), "img_s": float(s["samples_per_sec"]), "speed_res": int(s["img_size"]),
                    "batch": int(s["batch"]), "speed_source": s["source_file"], "speed_url": s["source_url"]})
    cols = list(published.columns) + ["img_s", "speed_res", "batch", "speed_source", "speed_url"]
    return pd.DataFrame(out, columns=cols)


def measured_points(records: list) -> pd.DataFrame:
    """The models measured in this session (``explorer.real.latency`` records: each model's config,
    request and results), one row per model and batch, with the published top-1 where the model is a
    preset that has one (``published_accuracy``), else NaN ("accuracy unknown").  Never an estimate:
    every time comes from a measurement here."""
    from cspnet import CSPConfig
    from explorer.paper.published import published_accuracy

    rows = []
    for rec in records:
        cfg = CSPConfig.from_dict(rec["config"])
        pub = published_accuracy(cfg)
        req = rec["request"]
        for r in rec["results"]:
            rows.append({"name": rec["name"], "input_size": cfg.input_size, "batch": r["batch"],
                         "device": req["device"], "dtype": req["dtype"], "median_ms": r["median_ms"],
                         "img_s": r["throughput_img_s"], "macs": rec["macs"],
                         "top1": pub["top1"] if pub else float("nan"),
                         "top1_source": f"{pub['model']} ({pub['source_group']}, {pub['res']} px)" if pub else
                         "accuracy unknown: not a preset with a published top-1"})
    return pd.DataFrame(rows, columns=["name", "input_size", "batch", "device", "dtype", "median_ms", "img_s",
                                       "macs", "top1", "top1_source"])
