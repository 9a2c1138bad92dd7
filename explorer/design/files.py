"""A network file opened as a design: parsed, never executed.  The one place that decides how a file is read.

Every command of the CLI (``python -m explorer summary FILE``, ``export``, ``layers``, ...; through
``explorer.design.text.load_design``) and the Design page's uploader open files here:

* ``.cfg``: a Darknet network file, as a design of the ``darknet_cfg`` family (``explorer.io.family``);
  ``.yaml`` / ``.yml``: an Ultralytics model YAML, as a lineage design (``explorer.io.ultralytics``, the scale
  guessed from the file name as Ultralytics does; a detection YAML, one with a detection head, is a detector:
  a design of the ``yolo_yaml`` family, ``explorer.io.yolo_family``, its text planned whole by its repository's
  planner, ``explorer.io.ultralytics_det``, ``yolov5_det`` (YOLOv5's anchor-based Detect) or ``yolov7_det``;
  :func:`detector_from_file` gives that planner's Detector: the printed GFLOPs and strides of ``summary``);
  ``.json``: a saved design (``CSPConfig.from_json``).  The
  extension is read in any case (``.CFG``, ``.Yaml``).
* **The name makes no claim** (no extension, or ``.txt``: ``yolov4.cfg.txt``): the file opens by its content,
  sniffed by ``explorer.io._text.sniff`` (a Darknet cfg: sections in ``[brackets]``; an Ultralytics YAML:
  ``backbone:`` / ``head:`` keys; a design JSON: ``{``); content that looks like none of them is refused.
* **The extension claims another format than the content shows** (a YAML saved as ``.cfg``): refused, saying
  what it looks like and which extension to give it; content that looks like nothing known goes to the reader
  the extension names, whose message says where it stops.
* Any other extension is refused (field ``file``), saying what the content looks like where it looks like one.

The size is checked before anything is parsed; a UTF-8 byte order mark is dropped.  What the reader read
otherwise than written (a Darknet option given twice: its first value is used, as Darknet does) is not an
error: :func:`file_warnings` lists it (the CLI prints it on stderr, ``summary --json`` has ``warnings``, the
Design page shows it after opening).  Pure Python.
"""
from __future__ import annotations

import os

from cspnet import ConfigError, CSPConfig
from cspnet.config import MAX_JSON_CHARS
from explorer.io._text import BOM, LOOKS, sniff

MAX_UPLOAD_BYTES = 256 * 1024     # a .cfg or .yaml, checked before anything is parsed (darknet.MAX_CFG_CHARS)
MAX_FILE_BYTES = max(MAX_UPLOAD_BYTES, MAX_JSON_CHARS)   # a design JSON carries a network of up to 256 KiB, escaped
EXTENSIONS = {"cfg": "darknet", "yaml": "yaml", "yml": "yaml", "json": "json"}
NO_CLAIM = ("", "txt")            # extensions that name no format: the content decides
FILE_TYPES = ("cfg", "yaml", "yml", "json", "txt")
RENAME = {"darknet": ".cfg", "yaml": ".yaml", "json": ".json"}
OPENABLE = "a Darknet .cfg, an Ultralytics .yaml/.yml or a Config .json (or a .txt or a file without extension " \
           "holding one of them)"


def name_parts(name: str) -> tuple:
    """``(stem, extension)`` of a file name, the extension lower case without its dot (``""`` for none); a
    ``.txt`` after a format's extension goes too (``yolov4.cfg.txt`` -> ``("yolov4", "txt")``)."""
    name = os.path.basename(str(name).replace("\\", "/").rstrip("/")) or str(name)
    stem, dot, ext = name.rpartition(".")
    if not dot or not stem:   # no extension, or a name such as ".cfg" (a hidden file: its name is the stem)
        return name, ""
    ext = ext.lower()
    if ext == "txt":
        inner, dot2, ext2 = stem.rpartition(".")
        if dot2 and inner and ext2.lower() in EXTENSIONS:
            stem = inner
    return stem, ext


def file_format(name: str, data) -> str:
    """Which reader opens file ``name`` holding ``data``: ``"darknet"``, ``"yaml"`` or ``"json"`` (see the module
    docstring).  Raises ConfigError (field ``file``) naming the file, what its name claims and what its content
    looks like."""
    stem, ext = name_parts(name)
    base = os.path.basename(str(name)) or str(name)
    looks = sniff(data)
    claim = EXTENSIONS.get(ext)
    if claim is None:
        if ext in NO_CLAIM:
            if looks is None:
                raise ConfigError("file", f"{base}: {'no extension' if not ext else 'the extension .txt'} names no "
                                  "format, and the content looks like none of: " + "; ".join(LOOKS.values()) +
                                  f"; open {OPENABLE}")
            return looks
        hint = f"; its content looks like {LOOKS[looks]}: rename it {stem}{RENAME[looks]}" if looks else ""
        raise ConfigError("file", f"{base}: .{ext} is not a network file format{hint}; open {OPENABLE}")
    if looks is not None and looks != claim:
        raise ConfigError("file", f"{base}: the extension .{ext} says {LOOKS[claim]}, but the content looks like "
                          f"{LOOKS[looks]}: rename it {stem}{RENAME[looks]} (or give it no extension, or .txt, and it "
                          "opens by its content)")
    return claim


def design_from_file(name: str, data: bytes, size: int | None = None) -> CSPConfig:
    """The design in file ``name`` holding ``data`` (:func:`file_format` picks the reader); ``size``: the
    file's size in bytes where known before reading it (an upload's), else ``len(data)``.  Raises ConfigError
    naming the field: ``network`` (too large), ``file`` (a name or content that is no network file), ``cfg``
    (the Darknet reader: line, section, layer), ``yaml`` (the layer or key), ``json``."""
    base = os.path.basename(str(name)) or str(name)
    stem, _ = name_parts(name)
    size = len(data) if size is None else size
    if size > MAX_FILE_BYTES:
        raise ConfigError("network", f"{base} has {size:,} bytes; allowed at most {MAX_UPLOAD_BYTES:,} "
                          f"({MAX_FILE_BYTES:,} for a design JSON)")
    data = data[:MAX_FILE_BYTES + 1]
    fmt = file_format(name, data)
    if fmt != "json" and size > MAX_UPLOAD_BYTES:
        raise ConfigError("network", f"{base} has {size:,} bytes; allowed at most {MAX_UPLOAD_BYTES:,}")
    if fmt == "darknet":
        from explorer.io.family import design_from_cfg

        try:
            return design_from_cfg(data, stem or "network")
        except ConfigError as exc:   # the file's reader speaks of the cfg (line, section, layer), not the field
            raise ConfigError("cfg", exc.detail) from None
    if fmt == "yaml":
        from explorer.io.ultralytics_det import yaml_dialect

        if yaml_dialect(data) is not None:   # a detection YAML: a yolo_yaml design (explorer.io.yolo_family)
            from explorer.io.yolo_family import design_from_yaml as detector_design

            return detector_design(data, base)
        from explorer.io.ultralytics import design_from_yaml

        return design_from_yaml(data, base)
    if isinstance(data, (bytes, bytearray)) and data.startswith(BOM.encode("utf-8")):
        data = data[3:]
    return CSPConfig.from_json(data)


# which planner opens a detection YAML, by the repository whose parse_model it is written for
# (explorer.io.ultralytics_det.detection_dialect: YOLOv7's modules, else YOLOv5's anchors key, else Ultralytics')
DETECTOR_PLANNERS = {"ultralytics": "explorer.io.ultralytics_det", "yolov5": "explorer.io.yolov5_det",
                     "yolov7": "explorer.io.yolov7_det"}


def detector_dialect(name: str, data) -> str | None:
    """Which repository's detection YAML file ``name`` holding ``data`` is (``"ultralytics"``, ``"yolov5"``,
    ``"yolov7"``: :data:`DETECTOR_PLANNERS`), or None where it is no detection YAML."""
    try:
        if file_format(name, data) != "yaml":
            return None
    except ConfigError:
        return None
    from explorer.io.ultralytics_det import yaml_dialect

    return yaml_dialect(data)


def is_detector(name: str, data) -> bool:
    """Whether file ``name`` holding ``data`` is a detection YAML (a detection head: Ultralytics' ``Detect``,
    YOLOv5's anchor-based one, YOLOv7's ``IDetect``), which opens as a yolo_yaml design, and whose ``summary``
    also reads its planner's Detector (:func:`detector_from_file`)."""
    return detector_dialect(name, data) is not None


def detector_from_file(name: str, data, input_size: int | None = None, scale: str | None = None):
    """The detector in detection YAML file ``name`` holding ``data``, planned at ``input_size`` (default 640)
    by its repository's planner (:func:`detector_dialect`; an Ultralytics YAML's scale ``scale``, else from the
    file name, as Ultralytics guesses it).  Raises ConfigError naming the layer or key."""
    import importlib

    module = importlib.import_module(DETECTOR_PLANNERS[detector_dialect(name, data) or "ultralytics"])
    return module.detector_from_yaml(data, os.path.basename(str(name)) or str(name), scale=scale,
                                     input_size=input_size)


def read_file(path) -> bytes:
    """The bytes of file ``path`` (at most :data:`MAX_FILE_BYTES` + 1, the size checked before reading).
    Raises ConfigError (field ``design``: the path names the design) for a missing file, a directory or an
    unreadable one."""
    path = os.fspath(path)
    try:
        if os.path.getsize(path) > MAX_FILE_BYTES and not os.path.isdir(path):
            raise ConfigError("network", f"{os.path.basename(path)} has {os.path.getsize(path):,} bytes; allowed "
                              f"at most {MAX_UPLOAD_BYTES:,} ({MAX_FILE_BYTES:,} for a design JSON)")
        with open(path, "rb") as fh:
            return fh.read(MAX_FILE_BYTES + 1)
    except FileNotFoundError:
        raise ConfigError("design", f"{path}: no such file") from None
    except IsADirectoryError:
        raise ConfigError("design", f"{path}: is a directory, not a file; give a network file or a preset "
                          "name") from None
    except PermissionError:
        raise ConfigError("design", f"{path}: not readable (permission denied)") from None
    except OSError as exc:
        raise ConfigError("design", f"{path}: cannot read it ({exc.strerror or exc})") from None


def load_file(path) -> CSPConfig:
    """:func:`design_from_file` of the file at ``path`` (read by :func:`read_file`)."""
    data = read_file(path)
    return design_from_file(os.fspath(path), data, size=len(data))


def file_warnings(cfg: CSPConfig) -> list:
    """What the reader of ``cfg``'s network read otherwise than written, one line each (an imported Darknet cfg:
    an option given twice, whose first value is used, as Darknet does; a detection YAML: a layer whose output
    nothing reads); ``[]`` for any other design."""
    if cfg.family == "yolo_yaml":
        from explorer.io.yolo_family import detector_of

        return list(detector_of(cfg).warnings)
    if cfg.family != "darknet_cfg":
        return []
    from explorer.io.family import net_of

    return list(net_of(cfg).warnings)


__all__ = ["DETECTOR_PLANNERS", "FILE_TYPES", "MAX_FILE_BYTES", "MAX_UPLOAD_BYTES", "design_from_file",
           "detector_dialect", "detector_from_file",
           "file_format", "file_warnings", "is_detector", "load_file", "name_parts", "read_file"]
