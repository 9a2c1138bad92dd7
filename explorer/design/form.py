"""The design as a form: which field gets which widget, what a widget holds, and the text an edit becomes.

A form (the Design page's knobs) shows the fields a family reads, group by group (``cspnet.config.FIELDS``:
main, advanced), each as the widget its declaration implies; it fills a widget from the design and hands
what the user typed to :func:`explorer.design.edits.apply_edits` as text.  Pure Python: no Streamlit.
"""
from __future__ import annotations

import dataclasses

from cspnet import CSPConfig
from cspnet.config import FIELDS
from explorer.design.edits import display_value

KNOB_PREFIX = "knob_"
WIDGET_KINDS = ("text", "int", "float", "choice", "bool")


def knob_key(name: str) -> str:
    """The widget key of field ``name`` (``knob_<name>``: tests and the URL sync address widgets by it)."""
    return f"{KNOB_PREFIX}{name}"


def widget_kind(name: str) -> str:
    """The widget a field gets: text (one value or one per stage), int, float, choice or bool."""
    spec = FIELDS[name]
    return "text" if spec.per_stage or spec.stages else spec.kind


NECK_PREFIX = "neck_"   # a detector's neck fields (cspnet.config: neck_fusion ... neck_residual)


def shown_fields(family: str, group: str) -> list:
    """The fields of a group (main, advanced) that the family reads, in declaration order; a detector's neck
    fields are not among them (:func:`neck_fields`: the form shows them as a group of their own)."""
    return [n for n, spec in FIELDS.items() if spec.group == group and spec.reads(family)
            and not n.startswith(NECK_PREFIX)]


def neck_fields(cfg: CSPConfig) -> list:
    """The neck's fields a form shows for ``cfg``, main ones first, then the advanced (declaration order within
    each); [] unless ``cfg`` is a detector (a classifier of a detector family has no neck to set)."""
    if not cfg.is_detector:
        return []
    names = [n for n, spec in FIELDS.items() if n.startswith(NECK_PREFIX) and spec.reads(cfg.family)]
    return [n for n in names if FIELDS[n].group == "main"] + [n for n in names if FIELDS[n].group != "main"]


def _task_companions() -> dict:
    """What each task is used with: a classifier a design's defaults (224 px, ImageNet's 1000 classes), a detector
    the detect presets' (cspnet.families.lineage: 640 px, COCO's 80 classes, as Ultralytics trains them)."""
    from cspnet.families.lineage import DETECT_DEFAULTS

    keys = ("input_size", "num_classes")
    defaults = {f.name: f.default for f in dataclasses.fields(CSPConfig)}
    return {"classify": {k: defaults[k] for k in keys}, "detect": {k: DETECT_DEFAULTS[k] for k in keys}}


TASK_COMPANIONS = _task_companions()


def task_switch_edits(cfg: CSPConfig, task: str) -> dict:
    """The edits (field -> text) that follow a switch of ``cfg``'s task to ``task`` in a form: each of
    input_size and num_classes that holds the old task's usual value (:data:`TASK_COMPANIONS`) moves to the
    new task's; one the user set otherwise is kept.  {} when the task does not change.  (A form's rule only:
    the URL and ``--set`` change nothing they do not name, so a link still reads back exactly.)"""
    old = TASK_COMPANIONS.get(cfg.task)
    new = TASK_COMPANIONS.get(task)
    if task == cfg.task or old is None or new is None:
        return {}
    return {k: str(new[k]) for k in new if getattr(cfg, k) == old[k]}


def widget_value(cfg: CSPConfig, name: str):
    """A config field as its widget holds it: an int, a float, a choice or a bool as it is, anything else
    (per-stage lists, text) as the text a form shows (:func:`explorer.design.edits.display_value`)."""
    kind = widget_kind(name)
    v = getattr(cfg, name)
    if kind == "int":
        return int(v)
    if kind == "float":
        return float(v)
    if kind in ("choice", "bool"):
        return v
    return display_value(cfg, name)


def widget_text(name: str, value) -> str:
    """What a widget holds as the text an edit is parsed from (``apply_edits``' input): booleans as
    true/false, floats rounded to 6 places (+/- steps leave float noise: 0.30000000000000004), None as ''."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return repr(round(value, 6))
    return "" if value is None else str(value)


def widget_input(name: str, value):
    """A value (e.g. an edit's nearest valid value, which may come as text or a float) as field ``name``'s
    widget takes it: an int widget an int, a float widget a float, others the value as it is."""
    kind = widget_kind(name)
    return int(value) if kind == "int" else float(value) if kind == "float" else value


__all__ = ["KNOB_PREFIX", "NECK_PREFIX", "TASK_COMPANIONS", "WIDGET_KINDS", "knob_key", "neck_fields", "shown_fields",
           "task_switch_edits", "widget_input", "widget_kind", "widget_text", "widget_value"]
