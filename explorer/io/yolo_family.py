"""The ``yolo_yaml`` family: an opened detection YAML (Ultralytics, YOLOv5's anchor-based, YOLOv7's) as a design.

Declared by name in ``cspnet.families.PLUGINS``, as ``darknet_cfg`` (``explorer.io.family``) is, so every page,
command and library call works on an opened detector through the usual ``CSPConfig`` paths:

* the design's ``network`` field holds the YAML text (``yaml.safe_load`` only, never executed; at most
  ``explorer.io.ultralytics.MAX_YAML_CHARS``).  The scale is part of the text: an Ultralytics YAML with
  ``scales`` opened as ``yolov8n.yaml`` gets the top-level key ``scale: n`` (:func:`with_scale`), which
  Ultralytics' own ``parse_model`` reads the same way; YOLOv5's and YOLOv7's files give their multiples.
  ``input_size`` is the image size (an opened file starts at 640); every other field is unread: the file fixes
  the layers, the classes and the activations.  ``fusion`` states the network's own (``none`` where no stage
  of the plan is a CSP stage, else the fusion most of its CSP stages have: C3, C2f, C3k2, C2 and C2PSA are
  fusion-first stages, as YOLOv7's ELAN blocks, its SPPCSP a full CSP one), or ``none`` on a network with CSP
  stages: its **plain twin** (``cfg.twin()``), every CSP module planned as the plain stage a design of the
  same block gets with ``fusion='none'`` (``cspnet.families._crossstage.plan_plain_layer``: the blocks on the
  whole input, a neck's layer first a 1x1 conv to its width).  yolov8n.yaml's twin is the yolov8n design's
  twin to the parameter, part by part; YOLOv5's anchor-based files' backbone and neck twins are the yolov5u
  designs', and yolov7's backbone twin the yolov7_backbone design's.  SPPF, SPPCSPC and the heads stay.
* ``validate`` / ``plan``: the file planned whole by its repository's planner (``explorer.io.ultralytics_det``,
  ``yolov5_det``, ``yolov7_det``: :func:`detector_of`, memoized), its errors under the field ``network``
  (naming the layer and module); the plan's stages renamed as every design's parts are (``stem``,
  ``stages.i`` for the backbone's layers, ``neck.j``, ``head``), the ops keeping their paths (``model.{i}...``:
  the repositories' module names) and their groups;
* ``build``: the model generated from that plan (``cspnet.graph_model.build_parts``, at the file's own
  activation), so latency, the live trace, ONNX and the dataflow check run it like any design.

Presets (:data:`PRESETS`): YOLOv5's anchor-based ``yolov5{n,s,m,l,x}``, ``yolov7`` and ``yolov7_tiny``, their
texts generated from their layer lists (``explorer.io.yolo_texts``), each with its repository's own parameter
count.  Pure Python.
"""
from __future__ import annotations

import os
import re
from collections import Counter
from functools import lru_cache

from cspnet.errors import ConfigError
from cspnet.families import Family, Preset
from cspnet.plan import StagePlan, expand_rows, stage_part

from . import ultralytics_det, yolo_texts, yolov5_det, yolov7_det
from ._text import bounded_text
from .ultralytics import MAX_YAML_CHARS, scale_from_filename

NAME = "yolo_yaml"
# which planner opens a detection YAML, by the repository whose parse_model it is written for
# (``ultralytics_det.detection_dialect``: YOLOv7's modules, else YOLOv5's anchors key, else Ultralytics')
PLANNERS = {"ultralytics": ultralytics_det.plan_detector, "yolov5": yolov5_det.plan_detector,
            "yolov7": yolov7_det.plan_detector}


def _network_error(exc: ConfigError) -> ConfigError:
    return exc if exc.field == "input_size" else ConfigError("network", exc.detail)


@lru_cache(maxsize=16)   # bounded, thread-safe; the plan memo keeps the designs' plans
def planned(text: str, size: int, plain: bool = False):
    """The detector in YAML ``text`` planned at ``size`` by its repository's planner, or its plain twin
    (``plain``); a failure is not kept."""
    dialect = ultralytics_det.yaml_dialect(text)
    if dialect is None:
        ultralytics_det.load_doc(text)   # an unreadable text says why
        raise ConfigError("network", "no detection head (Detect, IDetect) among the layers: not a detection YAML "
                          "(a classification YAML opens as a lineage design)")
    return PLANNERS[dialect](text, None, None, size, plain=plain)


def detector_of(cfg, input_size: int | None = None):
    """The planned :class:`~explorer.io.ultralytics_det.Detector` of a yolo_yaml design (at ``input_size``):
    the file's network, or, where ``fusion`` is ``none`` and the file has CSP stages, its plain twin."""
    size = cfg.input_size if input_size is None else input_size
    try:
        det = planned(cfg.network, size)
        if cfg.fusion == "none" and own_fusion(det) != "none":
            det = planned(cfg.network, size, True)
        return det
    except ConfigError as exc:
        raise _network_error(exc) from None


def own_fusion(det) -> str:
    """The network's fusion: ``none`` without CSP stages, else the fusion most of them have."""
    counts = Counter(sp.fusion for sp in det.plan.stages if sp.fusion != "none")
    return counts.most_common(1)[0][0] if counts else "none"


def validate(cfg) -> None:
    if not cfg.network.strip():
        raise ConfigError("network", "empty; open a detection YAML (the Design page's 'Open your own network')")
    det = detector_of(cfg)
    if cfg.fusion == "none":   # the file without CSP stages, or its plain twin
        return
    fusions = {sp.fusion for sp in det.plan.stages} - {"none"}
    if not fusions:
        raise ConfigError("fusion", f"{cfg.fusion!r}: this network has no CSP stage its planner recognises, so its "
                          "fusion is 'none'")
    if cfg.fusion not in fusions:
        raise ConfigError("fusion", f"{cfg.fusion!r}: an opened detection YAML's fusion is its own ("
                          f"{', '.join(sorted(fusions))}), or 'none' for its plain twin")


def choices(cfg, name: str):
    """The fusions the Design page offers an opened detection YAML: its own (:func:`own_fusion`), the design's
    where it names another of the file's stages' (a link's ``fusion=csp`` on yolov7-tiny: the same network), and
    none (its plain twin; the only one where it has no CSP stage); None for any other field
    (``cspnet.families.field_choices``)."""
    if name != "fusion":
        return None
    try:
        det = planned(cfg.network, cfg.input_size)
    except ConfigError:
        return None
    own, stages = own_fusion(det), {sp.fusion for sp in det.plan.stages} - {"none"}
    kept = [cfg.fusion] if cfg.fusion in stages and cfg.fusion != own else []
    return (own, *kept, "none") if own != "none" else ("none",)


def design_stages(det) -> list:
    """The planner's stages (``model.{i}``, one per YAML layer or block) renamed as a design's parts: the
    first ``stem``, the backbone's others ``stages.{k}``, the neck's ``neck.{j}``, the Detect ``head``; each op
    keeps its path and its component (``cv1``, ``m``: under the old stage name)."""
    out, k, j = [], 0, 0
    last = len(det.plan.stages) - 1
    for i, sp in enumerate(det.plan.stages):
        if i == 0:
            name, kind = "stem", "stem"
        elif i == last:
            name, kind = "head", "head"
        elif sp.part_name == "neck":
            name, kind, j = f"neck.{j}", "stage", j + 1
        else:
            name, kind, k = f"stages.{k}", "stage", k + 1
        rows = []
        for row in expand_rows(sp.rows):
            pre, path, component = row[0], row[2], row[12]
            if component is None:
                component = stage_part(sp.name, f"{pre}.{path}" if pre else path)
            rows.append(row[:12] + (component,) + row[13:])
        out.append(StagePlan(name=name, kind=kind, fusion=sp.fusion, taps=dict(sp.taps), repeats=sp.repeats,
                             by_kind={key: list(v) for key, v in sp.by_kind.items()}, rows=rows,
                             part=sp.part_name, module=sp.module))
    return out


def plan(cfg, input_size: int) -> list:
    return design_stages(detector_of(cfg, input_size))


# every BatchNorm's (eps, momentum) as the three repositories set them when they build a model
# (initialize_weights in YOLOv5's and YOLOv7's utils/torch_utils.py, and Ultralytics')
BATCHNORM = (1e-3, 0.03)


def build(cfg):
    """(stem, [stages], head, [neck]): generated from the design's plan at the file's own activation, with the
    repositories' BatchNorm settings."""
    from cspnet.graph_model import build_parts

    return build_parts(cfg, bn=BATCHNORM, act=detector_of(cfg).run_activation)


def with_scale(text: str, scale: str) -> str:
    """``text`` with the top-level key ``scale: <scale>`` (replacing one it has): the scale Ultralytics'
    ``parse_model`` reads from the YAML itself."""
    line = f"scale: {scale}"
    if re.search(r"^scale\s*:.*$", text, flags=re.M):
        return re.sub(r"^scale\s*:.*$", line, text, count=1, flags=re.M)
    return line + "\n" + text


def at_scale(cfg, letter: str):
    """yolo_yaml design ``cfg`` at Ultralytics' scale ``letter`` (the CLI's ``--scale``): the key ``scale`` of its
    text set (:func:`with_scale`), its name's ``(scale x)`` changed.  Raises ConfigError (field ``scale``) for a
    file without ``scales`` (YOLOv5's and YOLOv7's give their multiples) or a letter it has not."""
    doc = ultralytics_det.load_doc(cfg.network)
    scales = doc.get("scales") if isinstance(doc.get("scales"), dict) else None
    if ultralytics_det.detection_dialect(doc) != "ultralytics" or not scales:
        raise ConfigError("scale", f"{letter!r}: this detection YAML has no 'scales' (it gives depth_multiple and "
                          "width_multiple); there is no scale to choose")
    if letter not in scales:
        raise ConfigError("scale", f"{letter!r} is not allowed; this YAML's scales: {', '.join(map(str, scales))}")
    base = re.sub(r" \(scale [^()]+\)$", "", cfg.name or "")
    return cfg.replace(network=with_scale(cfg.network, letter), name=f"{base} (scale {letter})")


def design_from_yaml(data, filename: str, scale: str | None = None, input_size: int = 640):
    """A yolo_yaml ``CSPConfig`` from a detection YAML's text (or bytes) of file ``filename``: an Ultralytics
    YAML's scale from ``scale``, else the file name (as Ultralytics guesses it; a name without one: the YAML's
    own), written into the text (:func:`with_scale`); named ``"<file name> (scale s)"``.  Raises ConfigError
    (field ``yaml``: the layer or key at fault)."""
    from cspnet import CSPConfig

    from .ultralytics import _err

    text = bounded_text(data, MAX_YAML_CHARS, "YAML", _err)
    dialect = ultralytics_det.yaml_dialect(text)
    if dialect is None:
        raise _err("no detection head (Detect, IDetect) among the layers: not a detection YAML")
    if dialect == "ultralytics":
        doc = ultralytics_det.load_doc(text)
        scales = doc.get("scales") if isinstance(doc.get("scales"), dict) else {}
        pick = scale if scale is not None else scale_from_filename(filename)
        if pick is not None and (scale is not None or pick in scales) and doc.get("scale") != pick:
            text = with_scale(text, pick)
    elif scale is not None:
        raise _err(f"scale {scale!r}: {dialect}'s YAMLs set depth_multiple and width_multiple; there is no scale "
                   "to choose")
    try:
        det = planned(text, input_size)
    except ConfigError as exc:
        raise (exc if exc.field == "input_size" else _err(exc.detail)) from None
    name = os.path.basename(str(filename))[:50] + (f" (scale {det.scale})" if det.scale else "")
    return CSPConfig(family=NAME, name=name, network=text, input_size=input_size, fusion=own_fusion(det))


# --------------------------------------------------------------------------- presets
_V5_SOURCE = ("ultralytics/yolov5 models/yolov5{s}.yaml (v6.0 on), unfused as train.py builds it (v7.0 tutorial "
              "'7,235,389 parameters' for yolov5s; the others from the repository's own model builder: "
              "shared/reference/detection_exact.csv, tests/detection_reference.py REPOS)")
_V7_SOURCE = ("WongKinYiu/yolov7@a207844 cfg/training/{f}.yaml, unfused as train.py builds it (the repository's own "
              "model builder; the published {p} is the deploy cfg fused: tests/detection_reference.py REPOS)")
# name -> (text, reference params, reference, source, description)
_ROWS = {
    **{f"yolov5{s}": (yolo_texts.yolov5(s), p, f"ultralytics/yolov5 yolov5{s} (anchor-based Detect)",
                      _V5_SOURCE.format(s=s),
                      f"YOLOv5{s} as YOLOv5's own repository builds it: C3 stages, SPPF, a PAN of C3 stages and the "
                      "anchor-based Detect (3 anchors per scale), depth/width multiples "
                      f"{yolo_texts.V5_MULTIPLES[s][0]}/{yolo_texts.V5_MULTIPLES[s][1]}.")
       for s, p in (("n", 1_872_157), ("s", 7_235_389), ("m", 21_190_557), ("l", 46_563_709), ("x", 86_749_405))},
    "yolov7": (yolo_texts.yolov7(), 37_622_682, "WongKinYiu/yolov7 yolov7 (training cfg)",
               _V7_SOURCE.format(f="yolov7", p="36,905,341"),
               "YOLOv7 as its repository builds it: ELAN blocks (fusion-first CSP stages) and MP downsampling, "
               "SPPCSPC, a PAN of ELAN-H blocks, RepConv and IDetect (implicit add / multiply around each 1x1)."),
    "yolov7_tiny": (yolo_texts.yolov7_tiny(), 6_228_762, "WongKinYiu/yolov7 yolov7-tiny (training cfg)",
                    _V7_SOURCE.format(f="yolov7-tiny", p="6,219,709"),
                    "YOLOv7-tiny: tiny ELANs with LeakyReLU(0.1), max-pool downsampling, a written-out SPPCSPC "
                    "(a full CSP stage), IDetect."),
}


def _preset(name: str, row) -> Preset:
    text, params, reference, source, description = row
    fusion = own_fusion(planned(text, 640))
    return Preset(name=name, config={"family": NAME, "network": text, "input_size": 640, "fusion": fusion},
                  description=description, reference=reference, reference_params=params, source=source)


PRESETS = tuple(_preset(name, row) for name, row in _ROWS.items())

FAMILY = Family(
    name=NAME,
    description="An opened detection YAML (Ultralytics, YOLOv5's anchor-based, YOLOv7's): its layers as written, "
                "backbone, neck and head.",
    validate=validate, plan=plan, build=build, choices=choices,
    defaults={**{k: v for k, v in PRESETS[1].config.items() if k != "family"}, "name": PRESETS[1].name},
    presets=PRESETS,
)

__all__ = ["FAMILY", "NAME", "PLANNERS", "PRESETS", "at_scale", "design_from_yaml", "design_stages", "detector_of",
           "own_fusion", "planned", "with_scale"]
