"""Two to four designs side by side: every number from the engine, with its convention, and what changed.

A *subject* is what a user names: a preset (``yolov8n_cls``), a network file as the CLI opens it (a design
``.json``, a Darknet ``.cfg``, an Ultralytics ``.yaml``: ``explorer.design.files``; a detection YAML is a
``yolo_yaml`` design, with its plain twin), a link's design (a URL or its query string:
``explorer.design.text.from_query``), a pasted design JSON, or a design already built (the app's current
design, an uploaded file: :func:`subject_from_file`), or, from a script, a planned detector
(``explorer.io.ultralytics_det``: its layers without a twin).

:func:`compare` summarises each with the existing summaries (``explorer.counts.analysis.summarize`` /
``compare_with_twin``, ``explorer.io.ultralytics_det.summarize_detector``) and the roofline
(``explorer.real.roofline.roofline``) and lays them out as rows:

* ``rows``: totals in every registered convention (``explorer.counts.conventions.REGISTRY``, each row naming
  its convention and unit), per part (backbone / neck / head: the summaries' ``parts``), CIO, activation
  memory, the delta against the design's own plain twin, the roofline bound and estimate on a chosen device,
  and the measured latency where the caller passes measurements.  Each cell holds the value, its delta against
  the first subject and a verdict (``better`` / ``worse`` / ``same``: every numeric row here is better lower,
  ``better: "lower"``); a cell that cannot be computed holds ``value`` None and ``why`` (no twin, a detector
  without a field, no measurement), never an exception.
* ``stages``: stages aligned by role and resolution, not by index: key (part, output stride, order within that
  part and stride), so YOLOv8's ``model.2`` C2f sits beside YOLO11's ``model.2`` C3k2 and a classification
  stem beside a detector's first conv; a subject without a stage in a slot says so.
* ``what_changed``: for each subject after the first, against the first: :func:`what_changed`.

Pure Python (no Streamlit, no Plotly): the CLI (``python -m explorer compare``) and the Compare page both
read it.
"""
from __future__ import annotations

import os
from dataclasses import dataclass, field, replace
from urllib.parse import parse_qs, urlsplit

from cspnet import ConfigError, CSPConfig, all_presets, get_preset
from cspnet.config import FIELDS, STAGE_FIELDS
from explorer.counts.conventions import REGISTRY

MIN_SUBJECTS, MAX_SUBJECTS = 2, 4
MAX_SPEC_CHARS = 4000          # a pasted URL or query string (a pasted design JSON: CSPConfig's own limit)
LOWER = "lower"                # every numeric row: lower is better (less compute, memory, time)
SAME_TOLERANCE = 1e-9          # a relative difference under this is "same" (float sums of the roofline)
PARTS_ORDER = ("backbone", "neck", "head")
NO_TWIN_DETECTOR = "a detector has no plain twin (the twin is a design's fusion='none' version)"
NOT_MEASURED = "not measured (the Latency page or python -m explorer bench measures it)"


# --------------------------------------------------------------------------- subjects
@dataclass
class Subject:
    """One design or detector to compare: ``label`` what the user named (a preset, a file name, "current
    design"), ``cfg`` the design (None for a detector), ``detector`` the planned detection YAML (None for a
    design), ``link`` the text that names it in a URL (None where a link cannot carry it: an uploaded
    network), ``warnings`` what the file's reader read otherwise than written (a detector: its dead layer
    outputs, ``Detector.warnings``)."""

    label: str
    cfg: CSPConfig | None = None
    detector: object = None
    link: str | None = None
    warnings: list = field(default_factory=list)

    @property
    def kind(self) -> str:
        return "design" if self.cfg is not None else "detector"

    @property
    def net(self):
        """What the plan, the roofline and the sizes are read from: the design or the detector."""
        return self.cfg if self.cfg is not None else self.detector

    @property
    def name(self) -> str:
        return self.net.name

    @property
    def input_size(self) -> int:
        return self.net.input_size

    def plan(self):
        from explorer.real.roofline import network_plan

        return network_plan(self.net)


def _design_link(cfg: CSPConfig, preset: str | None) -> str | None:
    """The text that names ``cfg`` in a link: the preset's name when it is that preset unchanged, else the
    design's query string (``explorer.design.text.to_query``); None for an imported network (no link carries
    one)."""
    from urllib.parse import urlencode

    from explorer.design.text import NETWORK_NOT_IN_LINK, to_query

    if preset in all_presets() and get_preset(preset) == cfg:
        return preset
    q = to_query(cfg, preset)
    if q.get("network") == NETWORK_NOT_IN_LINK:
        return None
    return "?" + urlencode(q, safe=",")


def design_subject(cfg: CSPConfig, label: str | None = None, preset: str | None = None) -> Subject:
    """A design already built (the app's current design) as a subject."""
    return Subject(label or cfg.name, cfg=cfg, link=_design_link(cfg, preset))


def _looks_like_url(spec: str) -> bool:
    low = spec.lower()
    return low.startswith(("http://", "https://", "?")) or ("=" in spec and not os.path.lexists(spec)
                                                            and "\n" not in spec)


def _query_subject(spec: str) -> Subject:
    """A link's design: a URL or its query string (``?preset=yolov8n_cls&width_multiple=0.5``); the app's own
    parameters that are no design field (the Compare page's ``cmp*``, the Learn page's ``l_*``) are ignored."""
    from explorer.design.text import from_query

    if len(spec) > MAX_SPEC_CHARS:
        raise ConfigError("design", f"a link of {len(spec):,} characters; allowed at most {MAX_SPEC_CHARS:,}")
    query = urlsplit(spec).query if "://" in spec else spec.lstrip("?")
    params = {k: v for k, v in parse_qs(query, keep_blank_values=True).items()
              if not k.startswith(("cmp", "l_"))}
    cfg, preset = from_query(params)
    label = preset if preset is not None else cfg.name
    if preset is None or get_preset(preset) != cfg:   # a changed preset: named by its changes
        label += " + " + ", ".join(f"{k}={v[-1]}" for k, v in params.items() if k != "preset" and v)
    return Subject(label[:80], cfg=cfg, link=_design_link(cfg, preset))


def subject_from_file(name: str, data: bytes, input_size: int | None = None) -> Subject:
    """A network file's bytes (an upload) as a subject: the design ``explorer.design.files`` opens (a detection
    YAML: a ``yolo_yaml`` design at 640 px, compared with its plain twin as every design is), at ``input_size``
    where given."""
    from explorer.design.files import design_from_file, file_warnings

    base = os.path.basename(str(name)) or str(name)
    cfg = design_from_file(name, data)
    if input_size is not None:
        cfg = _at_size(cfg, input_size)
    return Subject(base, cfg=cfg, link=_design_link(cfg, None), warnings=file_warnings(cfg))


def _at_size(cfg: CSPConfig, input_size: int) -> CSPConfig:
    from explorer.design.text import with_changes

    return with_changes(cfg, {"input_size": input_size})


def resolve(spec, input_size: int | None = None) -> Subject:
    """The subject ``spec`` names (see the module docstring); ``input_size`` (None: each its own) plans it
    at that size.  A :class:`Subject`, a ``CSPConfig`` or a planned detector pass through (re-planned at
    ``input_size`` where given).  Raises ConfigError naming the field (``design``: neither a preset nor a
    file nor a link)."""
    if isinstance(spec, Subject):
        subj = spec
    elif isinstance(spec, CSPConfig):
        subj = design_subject(spec)
    elif hasattr(spec, "plan") and hasattr(spec, "at"):     # a planned detector (explorer.io.ultralytics_det)
        subj = Subject(spec.name, detector=spec)
    elif not isinstance(spec, str) or not spec.strip():
        raise ConfigError("design", "empty; give a preset name, a network file, a link or a design JSON")
    else:
        spec = spec.strip()
        if spec in all_presets():
            subj = Subject(spec, cfg=get_preset(spec), link=spec)
        elif spec.startswith("{"):
            cfg = CSPConfig.from_json(spec)
            subj = Subject(cfg.name, cfg=cfg, link=_design_link(cfg, None))
        elif _looks_like_url(spec):
            subj = _query_subject(spec)
        else:
            from explorer.design.files import read_file
            from explorer.design.text import check_design_spec

            check_design_spec(spec)
            subj = subject_from_file(spec, read_file(spec), input_size)
            subj.label = spec
            return subj
    if input_size is not None and subj.input_size != input_size:
        if subj.cfg is not None:
            subj = Subject(subj.label, cfg=_at_size(subj.cfg, input_size), link=None, warnings=subj.warnings)
            subj.link = _design_link(subj.cfg, subj.label if subj.label in all_presets() else None)
        else:
            subj = Subject(subj.label, detector=subj.detector.at(input_size), warnings=subj.warnings)
    return subj


def resolve_all(specs, input_size: int | None = None) -> list:
    """:func:`resolve` of each of 2 to 4 specs; a ConfigError names the subject (``subject 2``) and why."""
    specs = list(specs)
    if not MIN_SUBJECTS <= len(specs) <= MAX_SUBJECTS:
        raise ConfigError("subjects", f"{len(specs)} given; allowed {MIN_SUBJECTS} to {MAX_SUBJECTS} designs")
    out = []
    for i, spec in enumerate(specs, 1):
        try:
            subj = resolve(spec, input_size)
        except ConfigError as exc:
            raise ConfigError(f"subject {i}", f"{exc.field}: {exc.detail}") from None
        if subj.label in [s.label for s in out]:   # one column per subject: the same design twice told apart
            subj = replace(subj, label=f"{subj.label} ({i})")   # a copy: the caller's subject keeps its label
        out.append(subj)
    return out


# --------------------------------------------------------------------------- cells and rows
def _cell(value, why: str | None = None) -> dict:
    return {"value": value, "why": None if value is not None else (why or "not computed")}


def _judge(cells: list, better: str | None, unit: str = "") -> list:
    """Each cell's delta against the first cell (absolute and in %) and its verdict: ``baseline`` (the first),
    ``better`` / ``worse`` / ``same`` (``better``: "lower" means lower is better), None where either value is
    missing or the row is no number.  A row in % (``unit``) has its delta in points and no delta in %."""
    base = cells[0]["value"]
    out = []
    for i, c in enumerate(cells):
        c = dict(c)
        numeric = isinstance(c["value"], (int, float)) and not isinstance(c["value"], bool)
        if i == 0:
            c.update(delta=None, delta_pct=None, verdict="baseline" if numeric else None)
        elif numeric and isinstance(base, (int, float)) and not isinstance(base, bool):
            d = c["value"] - base
            c["delta"] = d
            c["delta_pct"] = 100.0 * d / base if base and unit != "%" else None
            same = abs(d) <= SAME_TOLERANCE * max(abs(base), abs(c["value"]), 1e-300)
            c["verdict"] = "same" if same else (("better" if d < 0 else "worse") if better == LOWER else None)
        else:
            c.update(delta=None, delta_pct=None, verdict=None)
        out.append(c)
    return out


def _row(section: str, key: str, label: str, cells: list, unit: str = "", convention: str | None = None,
         better: str | None = LOWER, note: str = "") -> dict:
    return {"section": section, "key": key, "label": label, "unit": unit, "convention": convention,
            "better": better, "note": note, "cells": _judge(cells, better, unit)}


def _shape_text(shape) -> str | None:
    return "x".join(str(d) for d in shape) if shape else None


# --------------------------------------------------------------------------- per subject
def _summary(subj: Subject, batch: int) -> dict:
    """The subject's summary (a design's with its plain twin's deltas; a detector's) and its plan."""
    if subj.cfg is not None:
        from explorer.counts.analysis import compare_with_twin

        cmp = compare_with_twin(subj.cfg, batch=batch)
        s = dict(cmp["design"])   # (a file's stages name their module: StagePlan.module)
        s["twin_deltas"] = cmp["deltas"] if cmp.get("twin") is not None else None
        s["twin_error"] = cmp.get("twin_error") or (None if subj.cfg.is_csp else
                                                    "a plain design: its twin is itself")
        return s
    from explorer.io.ultralytics_det import summarize_detector

    s = summarize_detector(subj.detector, batch=batch)
    s["twin_deltas"], s["twin_error"] = None, NO_TWIN_DETECTOR
    return s


def _roofline(subj: Subject, device: str, dtype: str, batch: int):
    """(the roofline result, None) or (None, why not)."""
    from explorer.real.roofline import RooflineError, roofline

    try:
        return roofline(subj.net, device=device, dtype=dtype, batch=batch), None
    except (RooflineError, ConfigError) as exc:
        return None, str(exc)


def _measured_ms(record, batch: int):
    """The median ms of a latency record (``explorer.real.latency.benchmark``'s) at ``batch``: (ms, None) or
    (None, why not)."""
    if not record:
        return None, NOT_MEASURED
    for r in record.get("results", ()):
        if r.get("batch") == batch and r.get("median_ms") is not None:
            return r["median_ms"], None
    sizes = ", ".join(str(r.get("batch")) for r in record.get("results", ()))
    return None, f"measured at batch {sizes or 'none'}, not at batch {batch}"


# --------------------------------------------------------------------------- stage alignment
def stage_slot(stage: dict, input_size: int) -> tuple:
    """A stage's role and resolution: (part, output stride) - the stride the input size over the output's
    height; None for a head (its output is no feature map)."""
    out = stage["shapes"].get("output") or []
    stride = None
    if stage.get("kind") != "head" and len(out) == 3 and out[1]:
        stride = max(round(input_size / out[1]), 1)
    return stage["part"], stride


def slot_label(key: tuple) -> str:
    part, stride, order = key
    return f"{part} · " + (f"stride {stride}" if stride is not None else "head") + f" · #{order}"


def _stage_what(stage: dict, cfg: dict | None) -> str:
    """What a stage is, in a few words: a detector layer's module, a lineage stage's block type, else its kind
    (and fusion, repeats)."""
    if stage.get("module"):
        return str(stage["module"])
    if stage["kind"] != "stage":
        return stage["kind"]
    name = stage["name"]
    block = ""
    if cfg and cfg.get("block_type") and name.startswith("stages."):
        i = int(name.split(".")[1])
        if i < len(cfg["block_type"]):
            block = cfg["block_type"][i] + " "
    return f"{block}x{stage['repeats']}, {stage['fusion']}"


def align_stages(summaries: list) -> list:
    """The stage slots of every summary, merged in forward order: ``[(key, [stage row or None, ...])]`` with
    key (part, stride, order) where ``order`` counts the part's stages at that stride (1 first).  A slot that
    only some subjects have is inserted after the slot that precedes it in the subject that has it."""
    keyed = []
    for s in summaries:
        seen: dict = {}
        rows = []
        for st in s["stages"]:
            part, stride = stage_slot(st, s["input_size"])
            seen[(part, stride)] = seen.get((part, stride), 0) + 1
            rows.append(((part, stride, seen[(part, stride)]), st))
        keyed.append(rows)
    order: list = []
    for rows in keyed:
        cursor = -1
        for key, _ in rows:
            if key in order:
                cursor = order.index(key)
            else:
                order.insert(cursor + 1, key)
                cursor += 1
    by = [dict(rows) for rows in keyed]
    return [(key, [b.get(key) for b in by]) for key in order]


def _stage_cell(st, summary: dict, roof, conventions) -> dict:
    if st is None:
        return {"value": None, "why": "no stage at this role and resolution"}
    rs = next((r for r in roof["stages"] if r["name"] == st["name"]), None) if roof else None
    return {"value": st["conventions"]["macs"], "why": None, "stage": st["name"],
            "what": _stage_what(st, summary.get("config")),
            "output": _shape_text(st["shapes"].get("output")), "shapes": st["shapes"], "params": st["params"],
            "conventions": {k: st["conventions"][k] for k in conventions if k in st["conventions"]},
            "cio": st["cio"], "activations": st["activations"],
            "bound_ms": rs["bound_ms"] if rs else None, "estimated_ms": rs["estimated_ms"] if rs else None}


# --------------------------------------------------------------------------- compare
def compare(subjects, input_size: int | None = None, device: str = "h100", dtype: str = "fp32", batch: int = 1,
            measured=None, what_changed_walk: bool = True) -> dict:
    """2 to 4 subjects side by side (see the module docstring).  ``subjects``: specs for :func:`resolve`;
    ``input_size``: every subject at that size (None: each its own); ``device``/``dtype``/``batch``: the
    roofline's (``explorer.real.roofline.device_keys``; batch also the activation memory's); ``measured``: one
    latency record (or None) per subject, its median at ``batch`` shown; ``what_changed_walk``: the ablation
    walk of :func:`what_changed` (False: the changed fields only).  JSON-safe."""
    from explorer.real.roofline import RooflineError, check_batch, check_dtype, get_device

    try:   # each says "field: why"
        check_batch(batch)
        check_dtype(dtype)
        dev = get_device(device)
    except RooflineError as exc:
        field, _, why = str(exc).partition(": ")
        raise ConfigError(field, why) from None
    subs = resolve_all(subjects, input_size)
    measured = list(measured or [])
    if measured and len(measured) != len(subs):
        raise ConfigError("measured", f"{len(measured)} records for {len(subs)} subjects; give one (or None) each")
    measured += [None] * (len(subs) - len(measured))
    sums = [_summary(s, batch) for s in subs]
    roofs = [_roofline(s, dev.key, dtype, batch) for s in subs]
    rows = _total_rows(subs, sums, roofs, measured, batch, dev)
    rows += _part_rows(sums)
    stages = []
    for key, sts in align_stages(sums):
        cells = [_stage_cell(st, s, r[0], REGISTRY) for st, s, r in zip(sts, sums, roofs)]
        stages.append({"key": list(key), "label": slot_label(key), "cells": _judge(cells, LOWER),
                       "differs": _slot_differs(cells)})
    changed = [what_changed(subs[0], s, device=dev.key, dtype=dtype, batch=batch, walk=what_changed_walk,
                            summaries=(sums[0], x)) for s, x in zip(subs[1:], sums[1:])]
    return {
        "subjects": [{"label": s.label, "name": s.name, "kind": s.kind, "family": x.get("family"),
                      "input_size": s.input_size, "link": s.link, "warnings": list(s.warnings),
                      "config": x.get("config"), "config_error": x.get("config_error")}
                     for s, x in zip(subs, sums)],
        "baseline": 0, "better": LOWER,
        "better_note": "deltas are against the first subject; every numeric row is better lower (fewer parameters, "
                       "less compute, memory and time)",
        "device": dev.to_dict(), "dtype": dtype, "batch": batch,
        "conventions": {k: {"label": c.label, "unit": c.unit, "includes": c.includes} for k, c in REGISTRY.items()},
        "rows": rows, "stages": stages, "what_changed": changed,
    }


def _total_rows(subs, sums, roofs, measured, batch, dev) -> list:
    rows = [_row("totals", "params", "Parameters", [_cell(s["params"]) for s in sums])]
    for k, c in REGISTRY.items():
        rows.append(_row("totals", f"conventions.{k}", c.label,
                         [_cell(s["conventions"][k]["value"]) if k in s.get("conventions", {}) else
                          _cell(None, f"{c.label} is not counted for this network") for s in sums],
                         unit=c.unit, convention=k, note=c.includes))
    rows.append(_row("totals", "cio", "Memory traffic (CIO)", [_cell(s["cio"]) for s in sums], unit="elements"))
    rows.append(_row("totals", "activations", "Activations (all layers)", [_cell(s["activations"]) for s in sums],
                     unit="elements"))
    rows.append(_row("totals", "activation_bytes", f"Activation memory, fp32, batch {batch}",
                     [_cell(s["memory"]["activation_bytes"]["fp32"]) for s in sums], unit="bytes",
                     note=sums[0]["memory"]["note"]))
    rows.append(_row("totals", "param_bytes", "Parameter memory, fp32",
                     [_cell(s["memory"]["param_bytes"]["fp32"]) for s in sums], unit="bytes"))
    rows.append(_row("totals", "twin_macs_pct", "MACs against its own plain twin",
                     [_cell(s["twin_deltas"]["macs"]["delta_pct"] if s["twin_deltas"] else None,
                            s["twin_error"]) for s in sums], unit="%", better=None,
                     note="(design - twin) / twin in %: the twin is the same knobs with fusion='none'; its delta "
                          "against the first subject in percentage points"))
    rows.append(_row("totals", "output_shape", "Output shape",
                     [_cell(_shape_text(s["output_shape"])) for s in sums], better=None,
                     note="batch x classes (a classifier); batch x (4 box + classes) x anchor points (a detector)"))
    rows.append(_row("totals", "outputs", "Detector output scales",
                     [_cell(", ".join(_shape_text(o) for o in s["outputs"]) if s.get("outputs") else None,
                            "a classifier: one output") for s in sums], better=None))
    where = f"{dev.name}, batch {batch}"
    rows.append(_row("roofline", "roofline.flops", "Roofline FLOPs (2 x MACs)",
                     [_cell(r["total"]["flops"] if r else None, why) for r, why in roofs], unit="FLOP",
                     convention="flops"))
    rows.append(_row("roofline", "roofline.bytes", "Bytes moved (roofline model)",
                     [_cell(r["total"]["bytes"] if r else None, why) for r, why in roofs], unit="bytes"))
    rows.append(_row("roofline", "roofline.bound_ms", f"Roofline lower bound on {where}",
                     [_cell(r["total"]["bound_ms"] if r else None, why) for r, why in roofs], unit="ms"))
    rows.append(_row("roofline", "roofline.memory_share", "Share of the bound time in memory-bound stages",
                     [_cell(r["total"]["memory_bound_share"] if r else None, why) for r, why in roofs],
                     unit="fraction", better=None))
    rows.append(_row("roofline", "roofline.estimated_ms", f"Estimated time on {where} (an estimate)",
                     [_cell(r["total"]["estimated_ms"] if r else None,
                            why or (r and r["estimate"]["note"])) for r, why in roofs], unit="ms"))
    ms = [_measured_ms(m, batch) for m in measured]
    rows.append(_row("latency", "latency.median_ms", f"Measured latency, batch {batch} (median)",
                     [_cell(v, why) for v, why in ms], unit="ms",
                     note="measured, as the caller passed it: " + "; ".join(
                         (m.get("note") or "") for m in measured if m) if any(measured) else ""))
    return rows


def _part_rows(sums) -> list:
    names = [p for p in PARTS_ORDER if any(x["name"] == p for s in sums for x in s["parts"])]
    names += [x["name"] for s in sums for x in s["parts"] if x["name"] not in names]
    rows = []
    for name in names:
        parts = [next((x for x in s["parts"] if x["name"] == name), None) for s in sums]
        why = f"no {name} (no stage of this part)"
        rows.append(_row("parts", f"parts.{name}.params", f"{name}: parameters",
                         [_cell(p["params"] if p else None, why) for p in parts]))
        for k, c in REGISTRY.items():
            rows.append(_row("parts", f"parts.{name}.{k}", f"{name}: {c.label}",
                             [_cell(p["conventions"].get(k) if p else None, why) for p in parts],
                             unit=c.unit, convention=k))
    return rows


def _slot_differs(cells: list) -> bool:
    """Whether an aligned stage slot differs between the subjects: what it is, its output or its counts."""
    sig = [None if c.get("stage") is None else (c["what"], c["output"], c["params"], c["value"]) for c in cells]
    return len(set(sig)) > 1


# --------------------------------------------------------------------------- what changed
def _fmt(v) -> str:
    from explorer.design.text import format_value

    return format_value(v)


def field_changes(a: CSPConfig, b: CSPConfig) -> list:
    """The fields that differ from design ``a`` to ``b``, in the order a walk applies them: family first, then
    ``repeats`` where the stage count changes (the other per-stage fields follow it), then the fields in their
    declared order; a per-stage field on equal stage counts one change per stage (``stages.2 block_type dark ->
    bottleneck_3x3``, ``stages.2 repeats 9 -> 6``).  Only the fields ``b``'s family reads are listed: a family
    switch carries the others along (``also``: they mean nothing in the new family).  Each change: ``{field,
    stage, text, before, after}`` (``stage`` None for a whole field)."""
    da, db = a.to_dict(), b.to_dict()
    out = []
    if a.family != b.family:   # with it, the fields only the old family reads: they mean nothing in the new one
        also = {f: db[f] for f in FIELDS if f not in ("name", "family") and not FIELDS[f].reads(b.family)
                and da.get(f) != db.get(f)}
        out.append({"field": "family", "stage": None, "before": a.family, "after": b.family, "also": also,
                    "text": f"family {a.family} -> {b.family}"})
    same_count = a.num_stages == b.num_stages
    names = [f for f in FIELDS if f not in ("name", "family") and FIELDS[f].reads(b.family)
             and da.get(f) != db.get(f)]
    if not same_count and "repeats" in names:
        names.remove("repeats")
        names.insert(0, "repeats")
    for f in names:
        va, vb = da.get(f), db.get(f)
        if f == "network":
            out.append({"field": f, "stage": None, "before": None, "after": None, "set": vb,   # (not shown)
                        "text": "network: the imported file's layers differ (see the differing stages)"})
        elif (f in STAGE_FIELDS or FIELDS[f].stages) and isinstance(va, list) and isinstance(vb, list) \
                and len(va) == len(vb) and (same_count or FIELDS[f].axis == "neck") and len(set(map(str, vb))) > 1:
            where = "neck" if FIELDS[f].axis == "neck" else "stages"   # (a neck has its own 4 stages)
            for i, (x, y) in enumerate(zip(va, vb)):
                if x != y:
                    out.append({"field": f, "stage": i, "before": x, "after": y,
                                "text": f"{where}.{i} {f} {_fmt(x)} -> {_fmt(y)}"})
        else:
            word = FIELDS[f].stage_word if f in FIELDS else "stage"
            out.append({"field": f, "stage": None, "before": va, "after": vb,
                        "text": f"{f} {_short(va, word)} -> {_short(vb, word)}"})
    return out


def _short(v, word: str = "stage") -> str:
    if isinstance(v, (list, tuple)) and v and len(set(map(str, v))) == 1:
        return _fmt(v[0]) + f" (all {len(v)} {word}s)"
    return _fmt(v)


def _target(change: dict):
    """The value a change sets (``set``: one too long to show as ``after``, a file's network text)."""
    return change["set"] if "set" in change else change["after"]


def _apply(data: dict, change: dict) -> None:
    f = change["field"]
    data.update(change.get("also") or {})
    if change["stage"] is None:
        data[f] = _target(change)
    else:
        v = list(data[f])
        v[change["stage"]] = change["after"]
        data[f] = v


def _step_config(cfg: CSPConfig, group: list) -> CSPConfig:
    """``cfg`` with the changes of ``group`` applied: a family switch keeps the other fields' values (a walk
    changes one thing at a time), any other change goes through ``with_changes`` (stage-count following and
    validity).  Raises ConfigError."""
    from explorer.design.text import with_changes

    before = cfg.to_dict()
    data = dict(before)
    for c in group:
        _apply(data, c)
    diffs = {k: v for k, v in data.items() if v != before.get(k)}
    if "family" in diffs:
        return CSPConfig.from_dict(data)
    return with_changes(cfg, {k: tuple(v) if isinstance(v, list) else v for k, v in diffs.items()})


def _done(cfg: CSPConfig, change: dict) -> bool:
    """Whether ``change`` already holds in ``cfg`` (it followed an earlier one: a stage count)."""
    v = cfg.to_dict().get(change["field"])
    if change["stage"] is None:
        return v == _target(change)
    return isinstance(v, list) and change["stage"] < len(v) and v[change["stage"]] == change["after"]


def _measure(cfg: CSPConfig, device: str, dtype: str, batch: int) -> dict:
    from cspnet import plan_network
    from explorer.counts.conventions import count

    roof, why = _roofline(Subject(cfg.name, cfg=cfg), device, dtype, batch)
    return {"macs": count(plan_network(cfg), "macs"), "params": plan_network(cfg).params,
            "estimated_ms": roof["total"]["estimated_ms"] if roof else None,
            "bound_ms": roof["total"]["bound_ms"] if roof else None}


def _share(delta, total):
    return delta / total if total else None


def ablation_walk(a: CSPConfig, b: CSPConfig, changes: list, device: str = "h100", dtype: str = "fp32",
                  batch: int = 1) -> dict:
    """Apply ``changes`` (:func:`field_changes`) one by one from ``a`` toward ``b``, recording MACs, parameters
    and the roofline's bound and estimate after each step and each step's share of the whole difference
    (``macs_share``, ``time_share``: of the estimate, else the bound).  A step that is no valid design on its
    own is grouped with the next (``grouped``, ``why``: the refusal); a change that already holds after an
    earlier step (a per-stage field that followed a new stage count) is noted in that step's ``followed``.
    The walk ends at ``b``'s values: a rest not reached by the steps is a last step."""
    start = _measure(a, device, dtype, batch)
    end = _measure(b, device, dtype, batch)
    time_key = "estimated_ms" if start["estimated_ms"] is not None and end["estimated_ms"] is not None else "bound_ms"
    total = {k: (end[k] - start[k]) if end[k] is not None and start[k] is not None else None for k in end}
    steps, cur, prev, pending, why = [], a, start, [], None
    i = 0
    while i < len(changes):
        c = changes[i]
        i += 1
        if not pending and _done(cur, c):
            if steps:
                steps[-1]["followed"].append(c["text"])
            continue
        pending.append(c)
        try:
            nxt = _step_config(cur, pending)
        except ConfigError as exc:
            why = why or f"{exc.field}: {exc.detail}"
            if i < len(changes):
                continue
            nxt = None
        if nxt is None:   # the last changes together are still invalid from here: finish at b
            nxt = b
        m = _measure(nxt, device, dtype, batch)
        steps.append(_step(pending, m, prev, total, time_key, why))
        cur, prev, pending, why = nxt, m, [], None
    rest = {k: v for k, v in b.to_dict().items() if k != "name" and FIELDS[k].reads(b.family)
            and cur.to_dict().get(k) != v}
    if rest:
        m = end
        steps.append(_step([{"text": "the rest: " + ", ".join(sorted(rest))}], m, prev, total, time_key,
                           "fields the steps above did not reach"))
    return {"start": start, "end": end, "total": total, "time_key": time_key, "steps": steps,
            "separable": all(not s["grouped"] for s in steps)}


def _step(group, m, prev, total, time_key, why) -> dict:
    dm = m["macs"] - prev["macs"]
    dt = (m[time_key] - prev[time_key]) if m[time_key] is not None and prev[time_key] is not None else None
    return {"changes": [c["text"] for c in group], "grouped": len(group) > 1 or why is not None, "why": why,
            "followed": [], **m, "macs_delta": dm, "macs_share": _share(dm, total["macs"]),
            "time_delta_ms": dt, "time_share": _share(dt, total[time_key]) if dt is not None else None}


def _stage_words(c: dict) -> str:
    if c.get("stage") is None:
        return "none"
    return " ".join([c["stage"]] + ([c["what"]] if c["what"] != c["stage"] else []) + [c["output"] or ""]).strip()


def layer_kinds(plan) -> dict:
    """Stage name -> {op kind: layers} of a plan, from its layer table (``explorer.counts.graph.layer_rows``)."""
    from explorer.counts.graph import layer_rows

    out: dict = {}
    for row in layer_rows(plan, ()):
        kinds = out.setdefault(row["stage"], {})
        kinds[row["kind"]] = kinds.get(row["kind"], 0) + 1
    return out


def stage_differences(sa: dict, sb: dict, plans: tuple | None = None) -> list:
    """The aligned stage slots (:func:`align_stages`) where summary ``sb`` differs from ``sa``: each with both
    stages (name, what it is, output shape, params, MACs), the MAC difference and its share of the whole (the
    stages add up to the total, so the shares of all slots add up to 1).  ``plans`` (the two plans): each
    side's layers by kind too (``layers``), and the kinds whose number of layers differs in the text."""
    total = sb["macs"] - sa["macs"]
    kinds = [layer_kinds(p) for p in plans] if plans else None
    out = []
    for key, (x, y) in align_stages([sa, sb]):
        cx, cy = _stage_cell(x, sa, None, ()), _stage_cell(y, sb, None, ())
        if not _slot_differs([cx, cy]):
            continue
        dm = (y["macs"] if y else 0) - (x["macs"] if x else 0)

        def side(c, k):
            if c.get("stage") is None:
                return None
            return {**{f: c[f] for f in ("stage", "what", "output", "params")}, "macs": c["value"],
                    "layers": kinds[k].get(c["stage"], {}) if kinds else None}

        a, b = side(cx, 0), side(cy, 1)
        text = f"{slot_label(key)}: {_stage_words(cx)} -> {_stage_words(cy)}"
        if kinds:
            la, lb = (a or {}).get("layers") or {}, (b or {}).get("layers") or {}
            moved = [f"{k} {la.get(k, 0)} -> {lb.get(k, 0)}" for k in dict.fromkeys([*la, *lb])
                     if la.get(k, 0) != lb.get(k, 0)]
            if moved:
                text += " (layers: " + ", ".join(moved) + ")"
        out.append({"slot": slot_label(key), "a": a, "b": b, "text": text, "macs_delta": dm,
                    "macs_share": _share(dm, total)})
    return out


def what_changed(a, b, device: str = "h100", dtype: str = "fp32", batch: int = 1, walk: bool = True,
                 summaries: tuple | None = None) -> dict:
    """What changed from subject ``a`` to ``b`` (:func:`resolve` specs or subjects).  Two designs: ``fields``
    (:func:`field_changes`) and, with ``walk``, the ablation walk (:func:`ablation_walk`); any two subjects:
    ``stages``, the aligned stage slots that differ with each one's share of the MAC difference
    (:func:`stage_differences`; for a detector or an imported network the only list)."""
    a, b = resolve(a), resolve(b)
    sa, sb = summaries or (_summary(a, batch), _summary(b, batch))
    out = {"a": a.label, "b": b.label, "fields": None, "walk": None, "walk_why": None, "fields_why": None,
           "stages": stage_differences(sa, sb, (a.plan(), b.plan()))}
    if a.cfg is None or b.cfg is None:
        out["fields_why"] = ("a detector is no design: its layers are compared instead (differing stages)")
        return out
    out["fields"] = field_changes(a.cfg, b.cfg)
    if walk and out["fields"]:
        try:
            out["walk"] = ablation_walk(a.cfg, b.cfg, out["fields"], device, dtype, batch)
        except (ConfigError, ValueError) as exc:   # a walk that cannot be made: said, not raised
            out["walk_why"] = f"no ablation walk: {exc}"
    out["fields"] = [{k: v for k, v in c.items() if k != "set"} for c in out["fields"]]   # (the walk's only)
    return out


# --------------------------------------------------------------------------- tables (CLI, CSV, page)
def value_text(v, unit: str = "") -> str:
    """A cell's value as the tables print it: integers with separators, ms and fractions rounded."""
    if v is None:
        return ""
    if isinstance(v, str):
        return v
    if unit == "ms":
        return f"{v:.4g}"
    if unit in ("%",):
        return f"{v:+.2f}"
    if unit == "fraction":
        return f"{v:.0%}"
    if isinstance(v, float):
        return f"{v:,.4g}"
    return f"{v:,}"


def table_rows(result: dict, sections=None, text: bool = False) -> list:
    """The ``rows`` of a :func:`compare` result as flat rows: section, row, unit, convention, then per subject
    its value and (after the first) its delta against the first in % (in points for a row in %) and its
    verdict; an empty cell says why.  ``text``: for the CLI's table, values as :func:`value_text`, the delta and
    the verdict in one column (``+3.4 % worse``), an empty cell ``n/a [k]`` with the reasons listed by
    :func:`footnotes`; else numbers (CSV)."""
    labels = [s["label"] for s in result["subjects"]]
    notes = _footnote_index(result, sections) if text else {}
    out = []
    for r in result["rows"]:
        if sections and r["section"] not in sections:
            continue
        row = {"section": r["section"], "row": r["label"], "unit": r["unit"], "convention": r["convention"] or ""}
        for i, (lab, c) in enumerate(zip(labels, r["cells"])):
            v = c["value"]
            if v is None:
                row[lab] = f"n/a [{notes[c['why']]}]" if text else f"({c['why']})"
            else:
                row[lab] = value_text(v, r["unit"]) if text else v
            if not i:
                continue
            d = c["delta_pct"] if r["unit"] != "%" else c["delta"]
            if text:
                row[f"{lab} vs [1]"] = ("" if d is None else f"{d:+.1f}" + (" pt" if r["unit"] == "%" else " %")) + (
                    f" {c['verdict']}" if c["verdict"] else "")
            else:
                row[f"{lab} Δ{'pt' if r['unit'] == '%' else '%'}"] = "" if d is None else d
                row[f"{lab} verdict"] = c["verdict"] or ""
        out.append(row)
    return _unique_columns(out)


def _footnote_index(result: dict, sections=None) -> dict:
    whys: dict = {}
    for r in result["rows"]:
        if not sections or r["section"] in sections:
            for c in r["cells"]:
                if c["value"] is None:
                    whys.setdefault(c["why"], len(whys) + 1)
    return whys


def footnotes(result: dict, sections=None) -> list:
    """The reasons of the empty cells of :func:`table_rows` (text), numbered as its ``n/a [k]``."""
    return [f"[{k}] {why}" for why, k in _footnote_index(result, sections).items()]


def tap_text(shapes: dict) -> str:
    """A stage's tap shapes in forward order (``cspnet.plan.TAP_ORDER``): "down 64x56x56, part1 32x56x56, ..."."""
    from cspnet.plan import TAP_ORDER

    order = [t for t in TAP_ORDER if t in shapes] + [t for t in shapes if t not in TAP_ORDER]
    return ", ".join(f"{t} {_shape_text(shapes[t])}" for t in order if t != "input")


def stage_table_rows(result: dict, convention: str = "macs", text: bool = False, taps: bool = False) -> list:
    """The aligned stages as flat rows: the slot, then per subject its stage, what it is, its output shape and
    its count in ``convention`` (with the delta in % against the first subject's stage); a subject without a
    stage in the slot: ``-`` (``text``) or the reason.  ``taps``: per subject its every tap's shape instead of
    the count (:func:`tap_text`)."""
    if convention not in REGISTRY:
        raise ConfigError("convention", f"{convention!r} is not a counting convention; allowed: "
                          + ", ".join(REGISTRY))
    labels = [s["label"] for s in result["subjects"]]
    unit = REGISTRY[convention].unit
    out = []
    for st in result["stages"]:
        row = {"slot": st["label"], "differs": "yes" if st["differs"] else ""}
        base = st["cells"][0].get("conventions", {}).get(convention)
        for i, (lab, c) in enumerate(zip(labels, st["cells"])):
            if c.get("stage") is None:
                row[lab] = "-" if text else f"({c['why']})"
                row[f"{lab} {'taps' if taps else unit}"] = ""
            elif taps:
                row[lab] = _stage_words(c)
                row[f"{lab} taps"] = tap_text(c["shapes"])
                continue
            else:
                v = c["conventions"][convention]
                row[lab] = _stage_words(c)
                row[f"{lab} {unit}"] = value_text(v) if text else v
                if i:
                    row[f"{lab} Δ%"] = ("" if base in (None, 0) else
                                        (f"{100.0 * (v - base) / base:+.1f}" if text else 100.0 * (v - base) / base))
        out.append(row)
    return _unique_columns(out)


def _unique_columns(rows: list) -> list:
    """Rows with the same keys in the same order (a cell that lacks one: '')."""
    keys: list = []
    for r in rows:
        keys += [k for k in r if k not in keys]
    return [{k: r.get(k, "") for k in keys} for r in rows]


def changed_lines(wc: dict) -> list:
    """What changed as lines of text: each field change (or grouped steps) with its share of the MAC and time
    difference, then the differing stages."""
    lines = []
    walk = wc.get("walk")
    if walk:
        tk = "estimate" if walk["time_key"] == "estimated_ms" else "lower bound"
        for s in walk["steps"]:
            share = f"MACs {_pct(s['macs_share'])}, time ({tk}) {_pct(s['time_share'])}"
            head = " + ".join(s["changes"])
            lines.append(f"{head}: {share}" + (f"  [grouped: alone it is no valid design ({s['why']})]"
                                                 if s["grouped"] and s["why"] else ""))
            if s["followed"]:
                lines.append("    followed by: " + ", ".join(s["followed"]))
    elif wc.get("fields"):
        lines += [c["text"] for c in wc["fields"]] + ([wc["walk_why"]] if wc.get("walk_why") else [])
    elif wc.get("fields_why"):
        lines.append(wc["fields_why"])
    for d in wc.get("stages") or ():
        lines.append(f"stage {d['text']}: MACs {d['macs_delta']:+,} ({_pct(d['macs_share'])} of the difference)")
    return lines


def _pct(x) -> str:
    return "n/a" if x is None else f"{100 * x:.1f} %" if abs(x) >= 0.0005 else "0.0 %"


def differing_stages(result: dict) -> list:
    """Per subject of a :func:`compare` result, the names of its stages whose aligned slot differs from the
    first subject's (the first subject: from the second's): what the diagrams outline."""
    out = []
    n = len(result["subjects"])
    for i in range(n):
        j = 1 if i == 0 else 0
        out.append([st["cells"][i]["stage"] for st in result["stages"]
                    if st["cells"][i].get("stage") and _slot_differs([st["cells"][i], st["cells"][j]])])
    return out


def highlight_dot(dot: str, plan, stage_names) -> str:
    """``dot`` (``explorer.counts.diagram.to_dot`` of the design ``plan`` belongs to) with the clusters of the
    stages named in ``stage_names`` outlined in red: the diagram's ``cluster_s{i}`` is the i-th stage of kind
    "stage"."""
    import re

    names = set(stage_names)
    idx = [i for i, sp in enumerate([sp for sp in plan.stages if sp.kind == "stage"]) if sp.name in names]
    for i in idx:
        dot = re.sub(rf'(subgraph cluster_s{i} \{{\n\s*label=[^\n]*?)style="rounded,dashed"; color="#999999";',
                     r'\1style="rounded,bold"; color="#d62728"; penwidth=2.5;', dot, count=1)
    return dot


__all__ = ["MAX_SUBJECTS", "MIN_SUBJECTS", "Subject", "ablation_walk", "align_stages", "changed_lines", "compare",
           "design_subject", "differing_stages", "field_changes", "footnotes", "highlight_dot", "layer_kinds",
           "resolve", "resolve_all", "stage_differences", "stage_table_rows", "subject_from_file", "table_rows",
           "tap_text", "what_changed"]
