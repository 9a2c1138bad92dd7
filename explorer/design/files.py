"""A network file opened in the app (the Design page's uploader) as a design: parsed, never executed.

``.cfg``: a Darknet network file, as a design of the ``darknet_cfg`` family (``explorer.io.family``);
``.yaml`` / ``.yml``: an Ultralytics model YAML, as a lineage design (``explorer.io.ultralytics``); ``.json``: a
saved design (``CSPConfig.from_json``).  The size is checked before anything is parsed.  Pure Python.
"""
from __future__ import annotations

from cspnet import ConfigError, CSPConfig

MAX_UPLOAD_BYTES = 256 * 1024     # checked before anything is parsed (explorer.io.darknet.MAX_CFG_CHARS)
FILE_TYPES = ("cfg", "yaml", "yml", "json")


def design_from_file(name: str, data: bytes, size: int | None = None) -> CSPConfig:
    """The design in file ``name`` (its extension picks the reader) holding ``data``; ``size``: the file's
    size in bytes where known before reading it (an upload's), else ``len(data)``.  Raises ConfigError naming
    the field (network: too large; file: an unknown extension; yaml: not UTF-8) or the reader's own error."""
    name = name.rsplit("/", 1)[-1]
    stem, _, ext = name.rpartition(".")
    ext = ext.lower()
    size = len(data) if size is None else size
    if size > MAX_UPLOAD_BYTES:
        raise ConfigError("network", f"{name} has {size:,} bytes; allowed at most {MAX_UPLOAD_BYTES:,}")
    data = data[:MAX_UPLOAD_BYTES + 1]
    if ext == "cfg":
        from explorer.io.family import design_from_cfg

        return design_from_cfg(data, stem or "network")
    if ext in ("yaml", "yml"):
        from explorer.io.ultralytics import config_from_yaml

        try:
            text = data.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise ConfigError("yaml", f"not UTF-8 text (byte {exc.start})") from None
        return config_from_yaml(text, name=stem or None)
    if ext == "json":
        return CSPConfig.from_json(data)
    raise ConfigError("file", f"{name}: open a Darknet .cfg, an Ultralytics .yaml/.yml or a Config .json")


__all__ = ["FILE_TYPES", "MAX_UPLOAD_BYTES", "design_from_file"]
