"""The registry of network families, and the layout of the library.

A family is a :class:`Family` object (``FAMILY`` in its module, or the attribute named in
``FAMILIES`` below) with these pieces:

* ``validate(cfg)``: family-specific checks, raising ``ConfigError`` naming the field;
* ``plan(cfg, input_size) -> list[StagePlan]``: the analytic plan (stem, stages..., head);
* ``build(cfg) -> (stem, [stage modules], head)``: the real ``nn.Module`` pieces (imports torch; a design
  family's are generated from its plan: :func:`build_from_plan`);
* ``defaults``: the family's default design (what switching to it starts from), derived from one of
  its presets;
* ``presets``: named designs, a data table of :class:`Preset` rows (:func:`preset_table`), each
  with its reference, where there is one the reference implementation's exact parameter count, and
  for a CSP design its *paper base*: the plain preset the CSPNet paper compares it against.

Which config fields a family reads is declared on the fields themselves
(``cspnet.config.FIELDS[name].families``; ``cspnet.config.family_fields(family)``).

Layout: one description of each piece, its plan
-----------------------------------------------
Every network piece is written once, as a plan (``cspnet.plan.PlanBuilder``: each layer, what it reads, its
group); the real ``nn.Module`` pieces are generated from the plan (``build_from_plan``, every design family's
``build``: ``cspnet.graph_model``), with the parameter names of the plan's op paths::

    cspnet/families/X.py   pure Python, never imports torch: channel arithmetic, validation, the
                           plans (``plan_*``), presets and the Family objects

    X = densenet      DenseNet / CSPDenseNet
        peleenet      PeleeNet / CSPPeleeNet
        _dense        shared by the dense families: the fusion wiring around a dense block
                      (plan_dense_stage), its channel arithmetic and checks
        _crossstage   shared by ResNet, ResNeXt, Darknet and the lineage: one stage layout driven by the
                      family's CrossStageStyle flags (plan_stage, plan_stem)
        _blocks       the block types of cross stages, one BLOCK_TYPES registry entry each
        _common       shared by all: plan_head

``resnet.py``, ``darknet.py`` and ``lineage.py`` are declarations (a CrossStageStyle, a preset table) over
``_crossstage``.  A leading underscore marks a shared file, not a family.  Only ``cspnet/graph_model.py`` and
``cspnet/model.py`` import torch, and nothing imports them at module level: a Family's ``build`` imports them
when a model is built, so ``import cspnet``, configs, presets and plans never load torch.  The tests keep the
hand-written modules the generated ones replaced (``tests/oracle``) as their independent twin.

Imports form a DAG: ``errors`` <- ``fields`` <- ``config`` -> ``plan`` -> ``families`` (this
registry, which imports no other cspnet module but the preset texts, and ``fields`` to declare what a
plug-in family reads); a family module imports
``errors``, ``plan``, this registry and the shared ``_*`` files; it is itself loaded by name
(``importlib``) the first time :func:`get_family` asks for it.

Adding a family is one new module and one line in ``FAMILIES``.
"""
from __future__ import annotations

import importlib
from dataclasses import dataclass, field
from typing import Callable

from ..preset_text import DESCRIPTIONS

# family name -> (module path, attribute holding the Family)
FAMILIES = {
    "densenet": ("cspnet.families.densenet", "FAMILY"),
    "resnet": ("cspnet.families.resnet", "RESNET"),
    "resnext": ("cspnet.families.resnet", "RESNEXT"),
    "darknet": ("cspnet.families.darknet", "FAMILY"),
    "peleenet": ("cspnet.families.peleenet", "FAMILY"),
    "cs3darknet": ("cspnet.families.lineage", "CS3DARKNET"),
    "yolov5": ("cspnet.families.lineage", "YOLOV5_FAMILY"),
    "yolov8": ("cspnet.families.lineage", "YOLOV8_FAMILY"),
    "yolo11": ("cspnet.families.lineage", "YOLO11_FAMILY"),
    "cspnext": ("cspnet.families.lineage", "CSPNEXT_FAMILY"),
    "yolov7": ("cspnet.families.lineage", "YOLOV7_FAMILY"),
    "yolov4csp": ("cspnet.families.lineage", "YOLOV4CSP_FAMILY"),
}


@dataclass(frozen=True)
class Preset:
    name: str
    config: dict                      # CSPConfig keyword arguments (family included)
    description: str
    reference: str = ""               # what it reproduces, e.g. "torchvision densenet121"
    reference_params: int | None = None
    source: str = ""                  # where the reference number comes from
    base: str | None = None           # paper base: the plain preset (same family) the CSPNet paper compares
                                      # this design against, e.g. cspresnet50 -> resnet50; None if none


@dataclass(frozen=True)
class Family:
    name: str
    description: str
    validate: Callable
    plan: Callable
    build: Callable
    defaults: dict = field(default_factory=dict)   # field values that make a sensible design
    presets: tuple = ()                            # Preset objects
    detect: object = None                          # how it builds a detector (task = "detect": a
                                                   # _crossstage.DetectStyle), None: it builds none
    choices: Callable | None = None                # (cfg, field) -> the values a choice field may take in
                                                   # this design, or None: the field's own (an opened file's
                                                   # fusion: its own or none); ``field_choices``


def field_choices(cfg, name: str) -> tuple:
    """The values choice field ``name`` may take in design ``cfg``: its family's (``Family.choices``) where the
    family narrows them, else the field's own (``cspnet.fields.FieldSpec.allowed_choices``)."""
    from ..config import FIELDS

    narrow = get_family(cfg.family).choices
    own = narrow(cfg, name) if narrow is not None else None
    return tuple(own) if own is not None else FIELDS[name].allowed_choices()


def build_from_plan(cfg):
    """The real modules of a design, (stem, [stages], head), generated from its plan's graph
    (``cspnet.graph_model.build_parts``; imports torch): every design family's ``build``.  A detector's
    BatchNorms take its family's detector settings (``DetectStyle.bn``: Ultralytics' eps and momentum)."""
    from ..graph_model import build_parts

    return build_parts(cfg, bn=batchnorm_settings(cfg))


def batchnorm_settings(cfg) -> tuple | None:
    """(eps, momentum) of the BatchNorms of design ``cfg``'s model where its reference sets its own (a detector
    of a family that builds them: Ultralytics'), None for PyTorch's defaults."""
    detect = get_family(cfg.family).detect
    return detect.bn if detect is not None and getattr(cfg, "is_detector", False) else None


def preset_table(base: dict, rows) -> tuple:
    """Preset objects from table rows
    ``(name, config overrides, reference, reference_params, source, paper base)``.

    Each preset's config is ``base`` (the family's common settings, ``family`` included) updated
    with its overrides; its description is ``cspnet.preset_text.DESCRIPTIONS[name]``.  The last
    column names the plain preset the CSPNet paper compares a CSP design against (``None`` for the
    plain presets and for a design without a fair one); ``cspnet.presets.paper_base`` reads it."""
    return tuple(Preset(name=name, config={**base, **overrides}, description=DESCRIPTIONS[name],
                        reference=reference, reference_params=params, source=source, base=paper_base)
                 for name, overrides, reference, params, source, paper_base in rows)


def preset_defaults(presets, name: str) -> dict:
    """A family's default design: preset ``name``'s fields (without ``family``), and the CSP knobs a
    switch to a CSP fusion starts from (``cspnet.fields.SPLIT_RATIO_DEFAULT``, a width-keeping partial
    transition)."""
    from ..fields import SPLIT_RATIO_DEFAULT

    preset = next(p for p in presets if p.name == name)
    return {**{k: v for k, v in preset.config.items() if k != "family"}, "split_ratio": SPLIT_RATIO_DEFAULT,
            "transition_ratio": 1.0}


_cache: dict = {}


def register_family(name: str, module: str, attr: str, reads: tuple | None = None) -> None:
    """Add a family defined outside the library (plugin-style; ``cspnet`` never imports its module but
    by name, through :func:`get_family`).  The project's own (``darknet_cfg``, an imported Darknet cfg,
    in ``explorer.io.family``) are declared in :data:`PLUGINS` below; call this, once, before making a
    design of a family of your own.  Idempotent.  ``reads``: of the fields declared for every family, the
    ones this family reads (None: all of them; ``cspnet.fields.GENERIC_READS``), and any field declared for
    other families that it reads too (``yolo_yaml`` reads darknet_cfg's ``network`` text).  A config naming a
    family before its registration fails with "unknown family"."""
    from ..fields import GENERIC_READS

    if name in FAMILIES and FAMILIES[name] != (module, attr):
        raise ValueError(f"family {name!r} is already registered as {FAMILIES[name]}")
    FAMILIES[name] = (module, attr)
    _cache.pop(name, None)
    if reads is not None:
        GENERIC_READS[name] = frozenset(reads)


# Families defined outside the library, declared here by name, so that a design naming one is read the same
# whatever was imported before it (no registration by import side effect).  cspnet never imports their
# modules but by name: :func:`get_family` loads one on first use, as it does the library's own.
# name -> (module, attribute holding the Family, the fields declared for every family that it reads).
PLUGINS = {
    "darknet_cfg": ("explorer.io.family", "FAMILY", ("input_size",)),   # an imported Darknet .cfg
    # an opened detection YAML (Ultralytics, YOLOv5's anchor-based, YOLOv7's): its text in the network field; its
    # fusion: its own, or none (its plain twin)
    "yolo_yaml": ("explorer.io.yolo_family", "FAMILY", ("input_size", "network", "fusion")),
}
for _name, (_module, _attr, _reads) in PLUGINS.items():
    register_family(_name, _module, _attr, reads=_reads)


def get_family(name: str) -> Family:
    if name not in _cache:
        module, attr = FAMILIES[name]
        _cache[name] = getattr(importlib.import_module(module), attr)
    return _cache[name]
