"""Published COCO detection results (AP, parameters, compute) of CSP-built detectors, with sources.

The data set is ``explorer/paper/data/published_detection.csv``: a byte-for-byte copy of the vetted reference
``../shared/reference/published_detection.csv`` (119 rows: the CSPNet paper's and repository's detectors, YOLOv4,
Scaled-YOLOv4, YOLOv5/5u, YOLOv7, YOLOv8, YOLOv10, YOLO11, RTMDet, YOLOX, PP-YOLOE and a YOLOv3 reference), with
its notes ``published_detection.md`` beside it.  Every value is as its source prints it; this module loads it,
checks it (every row has a source, an AP and its definition, a resolution, and a compute with a unit and a counting
convention, or says why it has none) and adds derived columns:

* ``compute``: the published compute as a number (``"120 (60 FMA)"`` -> 120.0; ``flops_value`` stays as printed);
* ``convention`` / ``convention_label``: how the source counted it (:data:`CONVENTIONS`, recognised from the
  row's ``flops_convention_note``; an unknown note raises) and ``scale``: what one unit of it counts
  (:data:`SCALES`: FLOPs = 2 x MACs, MACs, or not stated).  Values of different conventions are never merged
  into one number here: a chart groups them by scale and marks each convention (:data:`COMPARABILITY`);
* ``compute_res``: the input size the compute was counted at (YOLOv5's P6 rows: 640, while their AP is at
  1280) and ``one_point`` (compute and AP at the same size: a point on an AP-compute chart);
* ``ap`` / ``ap50_pct``: COCO AP@[.5:.95] / AP50 in percent (COCOeval fractions such as 0.48656 become 48.656),
  ``ap_scale`` (how the source printed it), ``ap_split`` (val2017, test-dev or not stated) and
  ``ap_definition`` (the metric and split in words);
* ``series`` (the family without its parenthesis, for colours), ``is_csp``, ``source_repo``, ``source_url``;
* ``plot_note``: why a row is not a point on the AP-compute chart ('' when it is);
* ``preset`` / ``preset_note``: this project's detector preset that builds the row's network
  (:data:`PRESET_MAP`: YOLOv5u, YOLOv8 and YOLO11, and the file-backed YOLOv5, YOLOv7, YOLOv4-CSP and
  CSPResNeXt50-PANet-SPP), or None with why not.

Pure Python + pandas: no Streamlit, no torch.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from decimal import Decimal
from functools import lru_cache
from pathlib import Path

import pandas as pd

from explorer.fmt import json_safe

DATA_PATH = Path(__file__).resolve().parent / "data" / "published_detection.csv"
NOTES_PATH = DATA_PATH.with_suffix(".md")

COLUMNS = (
    "model", "family", "year", "source_title", "source_url_or_repo_path", "input_size", "coco_split", "ap50_95",
    "ap50", "params_m", "flops_value", "flops_unit", "flops_convention_note", "speed_value", "speed_unit",
    "speed_device", "notes",
)
NUMBER_COLUMNS = {"year": "int64", "input_size": "int64", "params_m": "float64"}


# --------------------------------------------------------------------------- counting conventions
@dataclass(frozen=True)
class Scale:
    """What one unit of a convention counts: values of one scale can share an axis (labelled by convention)."""

    key: str
    short: str     # a table's word for it
    title: str     # a chart panel's title
    axis: str      # the x-axis title of a chart of this scale
    words: str     # what it counts, in words


SCALES: dict[str, Scale] = {s.key: s for s in (
    Scale("flops", "2 x MACs", "FLOPs = 2 x MACs (Darknet, thop-based YOLO tools)", "GFLOPs (2 x MACs), as published",
          "2 FLOPs per multiply-accumulate (Darknet's 'BFLOPS', thop's MACs doubled)"),
    Scale("macs", "MACs", "MACs (mmdetection's 'FLOPS(G)')", "GMACs, as published",
          "1 per multiply-add: the source's 'FLOPs' are multiply-accumulates, about half a 2 x MAC figure"),
    Scale("unstated", "not stated", "not stated (PaddleDetection 'FLOPs(G)')", "'FLOPs(G)', as published",
          "the source does not say whether it counts a multiply-add once or twice"),
)}


@dataclass(frozen=True)
class Convention:
    """How one source counted compute: the note prefixes that name it and the units it is printed in."""

    key: str
    label: str
    scale: str
    counts: str                 # what exactly is counted, on which model and input
    note_prefixes: tuple        # the row's flops_convention_note starts with one of these
    units: tuple                # the flops_unit strings this convention is printed in


NO_COMPUTE = "none"
CONVENTIONS: dict[str, Convention] = {c.key: c for c in (
    Convention("darknet", "Darknet BFLOPs", "flops",
               "Darknet's 'Total BFLOPS': 2 x the multiply-accumulates of the conv layers plus small "
               "shortcut/maxpool/route terms, at the cfg's input size",
               ("Darknet BFLOPs as printed by darknet", "BFLOPs from AlexeyAB/darknet README"), ("BFLOPs",)),
    Convention("darknet_style", "Darknet-style BFLOPs (ultralytics/yolov3)", "flops",
               "the ultralytics/yolov3 codebase's Darknet-style BFLOPs of the cfg at the row's size (2 x MACs; "
               "YOLOv3-SPP at 608 prints Darknet's own 141.5)",
               ("Darknet-style BFLOPs of the cfg",), ("BFLOPs",)),
    Convention("yolov5", "YOLOv5 repo thop x2", "flops",
               "yolov5 model_info: thop's MACs x 2 on a stride-sized probe image scaled to 640 px (fused or not is "
               "not stated; the P6 models' FLOPs are at 640 too)",
               ("thop MACs x2 (yolov5 model_info",), ("GFLOPs (README: 'B')",)),
    Convention("ultralytics_fused", "Ultralytics get_flops, fused", "flops",
               "Ultralytics get_flops: thop's MACs x 2 on a stride-32 probe scaled to 640 px, of the fused model "
               "(BatchNorm folded; the YAML comments give the unfused model, e.g. YOLOv8n 8.9 against 8.7)",
               ("Ultralytics get_flops",), ("GFLOPs (docs: 'B')",)),
    Convention("yolov7", "YOLOv7 paper / repo thop x2", "flops",
               "the YOLOv7 paper's FLOPs; the repo's model_info is thop's MACs x 2 at 640 px through a stride probe",
               ("YOLOv7 paper FLOPs",), ("GFLOPs (G)",)),
    Convention("thu_mig", "YOLOv10 (THU-MIG) thop x2, full 640", "flops",
               "the THU-MIG fork of Ultralytics 8.1.34: thop's MACs x 2 on a full 640 x 640 input, fused, with the "
               "one-to-many head removed",
               ("THU-MIG fork of ultralytics",), ("GFLOPs (G)",)),
    Convention("yolox", "YOLOX thop x2, 64 px probe", "flops",
               "YOLOX get_model_info: thop's MACs on a 64 x 64 probe, scaled to the test size, x 2; unfused model",
               ("YOLOX get_model_info",), ("GFLOPs (G)",)),
    Convention("mmengine", "mmengine (OpenMMLab) MACs", "macs",
               "OpenMMLab get_flops -> mmengine get_model_complexity_info: one multiply-add = 1 'flop' (MACs), at "
               "640 x 640",
               ("OpenMMLab get_flops",), ("GFLOPs as labelled 'FLOPS(G)' (actually GMACs)",)),
    Convention("paddle", "PaddleDetection FLOPs(G), convention not stated", "unstated",
               "PaddleDetection's 'FLOPs(G)'; its README does not say how it counts (do not assume x 2)",
               ("PaddleDetection 'FLOPs(G)'",), ("GFLOPs (G)",)),
)}
# notes of rows whose source gives no compute (flops_value and flops_unit empty)
NO_COMPUTE_NOTES = ("no FLOPs in this table", "no FLOPs stated", "Table 4 BFLOPs not retrievable", "not stated",
                    "no params/FLOPs in README", "no FLOPs in README", "n/a")

COMPARABILITY = (
    "GFLOPs of different sources are not one quantity. Darknet and the thop-based YOLO tools count 2 FLOPs per "
    "multiply-accumulate; mmdetection's 'FLOPS(G)' counts 1 (RTMDet's 8.1 'GFLOPs' would be about 16 in "
    "YOLO's terms); PaddleDetection does not say. Within the 2 x MAC tools the counted model differs too: fused "
    "(BatchNorm folded, as in Ultralytics' docs) or not (YOLOX, the YAML comments), a probe image scaled up or the "
    "full input, YOLOv10's second head removed or kept, and Darknet adds shortcut and pool terms. Each row is "
    "therefore drawn in its own source's convention: one panel per scale, one marker per convention, and the "
    "values are never converted.")

# --------------------------------------------------------------------------- AP
AP_SPLITS = ("val2017", "test-dev", "not stated")
AP_METRIC = "COCO box AP@[.5:.95]"
_COMPUTE_TEXT = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(?:\((\d+(?:\.\d+)?) FMA\))?\s*$")
_OTHER_COMPUTE_RES = re.compile(r"FLOPs column is still @(\d+)")
_REPO = re.compile(r"^([A-Za-z0-9_.-]+/[A-Za-z0-9_.-]+)@([0-9a-f]{40})\b")
_NON_CSP_FAMILIES = ("YOLOv3 (non-CSP reference)", "YOLOX (Darknet53 backbone)")


def convention_of(note: str, unit: str, value: str) -> str:
    """The :data:`CONVENTIONS` key of a row (``NO_COMPUTE`` for a row without compute); raises ValueError for a
    note no convention names, a unit the convention is not printed in, or a value without a unit."""
    note, unit, value = (str(s).strip() for s in (note, unit, value))
    if not value:
        if unit:
            raise ValueError(f"flops_unit {unit!r} without a flops_value")
        if not any(note.startswith(p) for p in NO_COMPUTE_NOTES):
            raise ValueError(f"a row without compute must say why (one of {NO_COMPUTE_NOTES}), got {note!r}")
        return NO_COMPUTE
    matches = [c for c in CONVENTIONS.values() if any(note.startswith(p) for p in c.note_prefixes)]
    if len(matches) != 1:
        raise ValueError(f"flops_convention_note {note[:60]!r} names no known counting convention; "
                         f"known: {', '.join(CONVENTIONS)} (add one to CONVENTIONS)")
    conv = matches[0]
    if unit not in conv.units:
        raise ValueError(f"flops_unit {unit!r} is not a unit of convention {conv.key!r} ({', '.join(conv.units)})")
    return conv.key


def parse_compute(text: str) -> float | None:
    """'71.3' -> 71.3, '120 (60 FMA)' -> 120.0 (the FMA figure checked to be half of it), '' -> None."""
    s = str(text).strip()
    if not s:
        return None
    m = _COMPUTE_TEXT.match(s)
    if not m:
        raise ValueError(f"flops_value {text!r} is not a number (or 'N (M FMA)')")
    value = float(m.group(1))
    if m.group(2) is not None and abs(2 * float(m.group(2)) - value) > 1.0:
        raise ValueError(f"flops_value {text!r}: the FMA figure is not half the FLOPs")
    return value


def parse_ap(text: str, other: str = "") -> tuple[float | None, str]:
    """(AP in percent, how it was printed): '37.3' -> (37.3, 'percent'); a COCOeval fraction '0.48656' (with its
    AP50 ``other`` a fraction too, or absent) -> (48.656, 'COCOeval fraction x 100'); '' -> (None, '')."""
    s = str(text).strip()
    if not s:
        return None, ""
    v = Decimal(s)
    if not 0 < v <= 100:
        raise ValueError(f"AP {text!r} is outside (0, 100]")
    o = str(other).strip()
    if v < 1 and (not o or Decimal(o) < 1):
        return float(v * 100), "COCOeval fraction x 100"
    return float(v), "percent"


def ap_split(text: str) -> str:
    """'val2017 (docs: mAP val 50-95)' -> 'val2017'; 'test-dev (per ...)' -> 'test-dev'; unknown raises."""
    s = str(text).strip()
    for split in AP_SPLITS:
        if s.startswith(split):
            return split
    raise ValueError(f"coco_split {text!r} is none of {', '.join(AP_SPLITS)}")


def source_repo(locator: str) -> tuple[str, str]:
    """(short source, a link): 'owner/repo@<sha>:README.md' -> ('owner/repo', its tree at that commit); an
    https address -> (its host and path start, the address)."""
    s = str(locator).strip()
    m = _REPO.match(s)
    if m:
        return m.group(1), f"https://github.com/{m.group(1)}/tree/{m.group(2)}"
    if s.startswith("https://"):
        url = s.split()[0]
        return url.removeprefix("https://").split("/")[0] + " " + url.rsplit("/", 1)[-1], url
    raise ValueError(f"source {locator!r} is neither 'owner/repo@<40-hex commit>...' nor an https address")


def series(family: str) -> str:
    """'YOLOv5 (anchor-based, v6.0+/v7.0 weights)' -> 'YOLOv5': the detector line a colour stands for."""
    return str(family).split(" (")[0].strip()


# --------------------------------------------------------------------------- presets
# Published model name -> (preset, note): a preset only where it builds the row's network (the same YAML at the
# same scale: cspnet/families/_detect.py, exact params).  Rows without a preset say why by their line (SERIES_NOTES).
PRESET_MAP: dict[str, tuple[str, str]] = {
    **{f"YOLOv5{k}u": (f"yolov5{k}u", f"Ultralytics yolov5{k}u (v5/yolov5.yaml, anchor-free Detect)") for k in "nsmlx"},
    **{f"YOLOv8{k}": (f"yolov8{k}", f"Ultralytics yolov8{k} (v8/yolov8.yaml)") for k in "nsmlx"},
    **{f"YOLO11{k}": (f"yolo11{k}", f"Ultralytics yolo11{k} (11/yolo11.yaml)") for k in "nsmlx"},
    # the file-backed presets (explorer.io.yolo_family, explorer.io.family): the repositories' own files
    **{f"YOLOv5{k}": (f"yolov5{k}", f"ultralytics/yolov5 models/yolov5{k}.yaml (anchor-based Detect)")
       for k in "nsmlx"},
    "YOLOv7": ("yolov7", "WongKinYiu/yolov7 cfg/training/yolov7.yaml (the training form of the published deploy "
                         "model: RepConv and the implicit layers not merged)"),
    "YOLOv4-CSP": ("yolov4_csp", "AlexeyAB/darknet cfg/yolov4-csp.cfg"),
    "CSPResNeXt50-PANet-SPP (early weights)": ("cspresnext50_panet_spp",
                                               "WongKinYiu/CrossStagePartialNetworks csresnext50-panet-spp.cfg"),
    "CSPResNeXt50-PANet-SPP (PyTorch, from scratch)": ("cspresnext50_panet_spp",
                                                       "the same cfg, run by the ultralytics/yolov3 PyTorch code"),
}
# detector line (``series``) -> why its rows have no preset (and what opens them instead, where something does)
SERIES_NOTES = {
    "YOLOv5": "no preset of this model (the P6 files open as YAMLs: python -m explorer summary yolov5s6.yaml)",
    "YOLOv7": ("no preset of this model (its own YAML file opens as a detector: python -m explorer summary "
               "yolov7x.yaml)"),
    "YOLOv10": "no preset (its own YAML file opens as a detector: python -m explorer summary yolov10n.yaml)",
}
NO_PRESET_NOTE = "no preset builds this detector"
MAPPED_PRESETS = frozenset(p for p, _ in PRESET_MAP.values())


def preset_for(model: str, series_: str = "") -> tuple[str | None, str]:
    """(detector preset or None, note) for a published row's model name (and its detector line, for the note)."""
    if model in PRESET_MAP:
        return PRESET_MAP[model]
    return None, SERIES_NOTES.get(series_, NO_PRESET_NOTE)


# --------------------------------------------------------------------------- loading
def _row_error(i: int, model: str, exc: Exception) -> ValueError:
    return ValueError(f"{DATA_PATH.name} row {i + 2} ({model}): {exc}")


@lru_cache(maxsize=1)
def _load() -> pd.DataFrame:
    raw = pd.read_csv(DATA_PATH, dtype=str, keep_default_na=False, encoding="utf-8")
    if tuple(raw.columns) != COLUMNS:
        raise ValueError(f"{DATA_PATH.name}: unexpected columns {list(raw.columns)}")
    df = raw.copy()
    for col, dtype in NUMBER_COLUMNS.items():
        text = raw[col].str.strip()
        if dtype == "int64" and (text == "").any():
            raise ValueError(f"{DATA_PATH.name}: column {col} has an empty value")
        df[col] = pd.to_numeric(text.where(text != ""), errors="raise").astype(dtype)
    derived: dict[str, list] = {k: [] for k in (
        "compute", "convention", "compute_res", "ap", "ap50_pct", "ap_scale", "ap_split", "source_repo", "source_url")}
    for i, r in raw.iterrows():
        try:
            for col in ("model", "family", "source_title", "source_url_or_repo_path", "coco_split",
                        "flops_convention_note"):
                if not r[col].strip():
                    raise ValueError(f"{col} is empty")
            derived["compute"].append(parse_compute(r["flops_value"]))
            derived["convention"].append(convention_of(r["flops_convention_note"], r["flops_unit"], r["flops_value"]))
            other = _OTHER_COMPUTE_RES.search(r["flops_convention_note"])
            derived["compute_res"].append(int(other.group(1)) if other else int(r["input_size"]))
            ap, scale = parse_ap(r["ap50_95"], r["ap50"])
            ap50, scale50 = parse_ap(r["ap50"], r["ap50_95"])
            if ap is None and ap50 is None:
                raise ValueError("no AP: neither ap50_95 nor ap50 is given")
            derived["ap"].append(ap)
            derived["ap50_pct"].append(ap50)
            derived["ap_scale"].append(scale or scale50)
            derived["ap_split"].append(ap_split(r["coco_split"]))
            repo, url = source_repo(r["source_url_or_repo_path"])
            derived["source_repo"].append(repo)
            derived["source_url"].append(url)
        except ValueError as exc:
            raise _row_error(i, r["model"], exc) from None
    for col in ("compute", "ap", "ap50_pct"):
        df[col] = pd.Series([float("nan") if v is None else v for v in derived.pop(col)], index=df.index,
                            dtype="float64")
    for col, values in derived.items():
        df[col] = values
    df["compute_res"] = df["compute_res"].astype("int64")
    df["convention_label"] = [CONVENTIONS[c].label if c in CONVENTIONS else "no compute published"
                              for c in df["convention"]]
    df["scale"] = [CONVENTIONS[c].scale if c in CONVENTIONS else "" for c in df["convention"]]
    df["one_point"] = (df["compute_res"] == df["input_size"]).astype(bool)
    df["ap_definition"] = [
        (f"{AP_METRIC}, {s}" if pd.notna(a) else f"COCO box AP50 only (no AP@[.5:.95] published), {s}")
        for a, s in zip(df["ap"], raw["coco_split"])]
    df["series"] = [series(f) for f in df["family"]]
    df["is_csp"] = (~df["family"].isin(_NON_CSP_FAMILIES) & ~df["model"].str.startswith("YOLOv3")).astype(bool)
    df["plot_note"] = [_plot_note(r) for _, r in df.iterrows()]
    mapped = [preset_for(m, s) for m, s in zip(df["model"], df["series"])]
    df["preset"] = pd.Series([p for p, _ in mapped], index=df.index, dtype=object)
    df["preset_note"] = [n for _, n in mapped]
    return df


def _plot_note(r) -> str:
    """Why a row is not a point on the AP-compute chart ('' when it is)."""
    if pd.isna(r["ap"]):
        return "only AP50 published, no AP@[.5:.95]"
    if r["convention"] == NO_COMPUTE:
        return f"no compute published ({r['flops_convention_note']})"
    if not r["one_point"]:
        return (f"compute counted at {r['compute_res']} px, AP measured at {r['input_size']} px: not one point on "
                "an AP-compute chart")
    return ""


def load_detection() -> pd.DataFrame:
    """The data set with its derived columns (a fresh copy each call; parsed and checked once per process)."""
    return _load().copy(deep=True)


# --------------------------------------------------------------------------- queries
def detection_families() -> list[str]:
    return sorted(_load()["family"].unique().tolist())


def detection_series() -> list[str]:
    """The detector lines (``series``), oldest first."""
    df = _load()
    first = df.groupby("series")["year"].min()
    return sorted(first.index, key=lambda s: (int(first[s]), s))


def plottable_detection(df: pd.DataFrame) -> pd.DataFrame:
    """Rows that are one point on an AP-compute chart: AP@[.5:.95] and a compute at the same input size."""
    return df[df["plot_note"] == ""]


def _check(name: str, given, known) -> list:
    values = [given] if isinstance(given, (str, int)) else list(given)
    unknown = [v for v in values if v not in set(known)]
    if unknown:
        raise ValueError(f"unknown {name} {', '.join(map(repr, unknown))}; known: {', '.join(map(str, known))}")
    return values


def filter_detection(df: pd.DataFrame | None = None, family=None, series_=None, year=None, convention=None,
                     split=None, resolution=None) -> pd.DataFrame:
    """Rows of ``df`` (default: the whole data set) matching every given filter (None: no filter).

    ``family``: family names; ``series_``: detector lines; ``year``: years; ``convention``: :data:`CONVENTIONS`
    keys (or ``"none"``); ``split``: :data:`AP_SPLITS`; ``resolution``: input sizes.  An unknown value raises
    ``ValueError`` naming the filter and the known values (a typo is not an empty result).
    """
    out = load_detection() if df is None else df
    full = _load()
    mask = pd.Series(True, index=out.index)
    if family is not None:
        mask &= out["family"].isin(_check("family", family, detection_families()))
    if series_ is not None:
        mask &= out["series"].isin(_check("series", series_, detection_series()))
    if year is not None:
        mask &= out["year"].isin([int(y) for y in _check("year", year, sorted(set(full["year"])))])
    if convention is not None:
        mask &= out["convention"].isin(_check("convention", convention, list(CONVENTIONS) + [NO_COMPUTE]))
    if split is not None:
        mask &= out["ap_split"].isin(_check("split", split, AP_SPLITS))
    if resolution is not None:
        mask &= out["input_size"].isin([int(r) for r in _check("resolution", resolution,
                                                               sorted(set(full["input_size"])))])
    return out[mask].copy()


def conventions_table(df: pd.DataFrame | None = None) -> pd.DataFrame:
    """One row per counting convention: key, label, scale, what it counts and how many rows of ``df`` use it."""
    df = _load() if df is None else df
    counts = df["convention"].value_counts()
    return pd.DataFrame([{"convention": c.key, "label": c.label, "scale": c.scale, "counts": c.counts,
                          "units": " / ".join(c.units), "rows": int(counts.get(c.key, 0))}
                         for c in CONVENTIONS.values()])


# --------------------------------------------------------------------------- export
CLI_COLUMNS = ("model", "year", "input_size", "ap", "ap_split", "params_m", "flops_value", "convention",
               "source_repo")


def detection_records(family=None) -> list[dict]:
    """The data set (optionally one family or several) as JSON-safe dicts: NaN -> None."""
    df = filter_detection(family=family)
    cols = list(df.columns)
    return [{c: json_safe(v) for c, v in zip(cols, row)} for row in df.itertuples(index=False, name=None)]


def detection_csv(family=None) -> str:
    """The data set (optionally filtered by family) with the derived columns, as CSV text."""
    return filter_detection(family=family).to_csv(index=False)
