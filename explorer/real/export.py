"""Exports as bytes: diagram (DOT, SVG, PNG), model (ONNX, for Netron), table (CSV), config (JSON).

SVG and PNG are rendered by Graphviz's ``dot`` (Debian package ``graphviz``, installed by the
set-up scripts).  Without it, DOT still exports and the error says what to install.  Files are
only written inside a fresh temporary folder that is removed afterwards.
"""
from __future__ import annotations

import csv
import io
import shutil
import subprocess
import tempfile
import warnings
from pathlib import Path

from cspnet import CSPConfig

DIAGRAM_FORMATS = ("dot", "svg", "png")
MIME = {"dot": "text/vnd.graphviz", "svg": "image/svg+xml", "png": "image/png",
        "onnx": "application/octet-stream", "csv": "text/csv", "json": "application/json"}
RENDER_TIMEOUT_S = 30


class ExportError(Exception):
    """An export that cannot be made here; the message says why and what to do."""


def dot_available() -> bool:
    return shutil.which("dot") is not None


def render_dot(dot: str, fmt: str) -> bytes:
    """DOT text -> bytes in ``fmt`` (dot, svg or png)."""
    if fmt not in DIAGRAM_FORMATS:
        raise ExportError(f"format: {fmt!r} is not allowed; allowed: {', '.join(DIAGRAM_FORMATS)}")
    if fmt == "dot":
        return dot.encode("utf-8")
    exe = shutil.which("dot")
    if exe is None:
        raise ExportError("SVG/PNG need Graphviz's `dot` (apt-get install graphviz); DOT export works without it")
    args = [exe, f"-T{fmt}"] + (["-Gdpi=110"] if fmt == "png" else [])
    try:
        proc = subprocess.run(args, input=dot.encode("utf-8"), capture_output=True, timeout=RENDER_TIMEOUT_S)
    except subprocess.TimeoutExpired:
        raise ExportError(f"rendering took longer than {RENDER_TIMEOUT_S} s; export DOT instead") from None
    if proc.returncode != 0:
        raise ExportError(f"dot failed: {proc.stderr.decode(errors='replace').strip()[:300]}")
    return proc.stdout


def diagram_bytes(cfg: CSPConfig, fmt: str, expand: tuple = (), collapse: bool = False) -> bytes:
    from explorer.counts.diagram import to_dot

    return render_dot(to_dot(cfg, expand=expand, collapse=collapse), fmt)


def onnx_bytes(cfg: CSPConfig, opset: int = 18) -> bytes:
    """The model as ONNX (random weights; for viewing the graph in Netron)."""
    import torch

    from cspnet import build_model  # torch: only when a model is exported

    model = build_model(cfg)
    x = torch.zeros(1, 3, cfg.input_size, cfg.input_size)
    with tempfile.TemporaryDirectory(prefix="cspnet-onnx-") as tmp:
        path = Path(tmp) / "model.onnx"
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            try:
                torch.onnx.export(model, (x,), str(path), input_names=["input"], output_names=["logits"],
                                  opset_version=opset, dynamo=False)
            except Exception as exc:  # surfaced as a message, never a traceback
                raise ExportError(f"ONNX export failed: {type(exc).__name__}: {str(exc)[:200]}") from None
        return path.read_bytes()


def csv_bytes(rows: list) -> bytes:
    if not rows:
        return b""
    buf = io.StringIO()
    keys = list(dict.fromkeys(k for r in rows for k in r))
    w = csv.DictWriter(buf, fieldnames=keys)
    w.writeheader()
    w.writerows(rows)
    return buf.getvalue().encode("utf-8")


def config_json_bytes(cfg: CSPConfig) -> bytes:
    return cfg.to_json().encode("utf-8")
