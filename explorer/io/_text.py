"""What every network-file reader does first: a bounded read of the file, bounded UTF-8 text out (pure Python).

A UTF-8 byte order mark (``EF BB BF``, U+FEFF), which Windows editors write at the start of a file, is dropped:
it is no content of either format (Darknet's own reader skips it as whitespace).  :func:`sniff` says which
network format a text looks like, so a file whose name makes no claim opens by its content and a file whose
extension names another format is refused with what it looks like (``explorer.design.files``).
"""
from __future__ import annotations

import os
import re
from typing import Callable

BOM = "\ufeff"
SNIFF_CHARS = 16 * 1024      # sniff reads at most the text's first 16 KiB
_SECTION_RE = re.compile(r"\[[A-Za-z_][A-Za-z0-9_]{0,31}\]")
_YAML_KEY_RE = re.compile(r"(?m)^(backbone|head)[ \t]*:")
LOOKS = {"darknet": "a Darknet cfg (sections in [brackets])",
         "yaml": "an Ultralytics model YAML (backbone:/head: keys)",
         "json": "a design JSON (it starts with {)"}


def bounded_text(data, limit: int, what: str, error: Callable[[str], Exception]) -> str:
    """``data`` (bytes or str) as text of at most ``limit`` characters, refused before anything is split or
    decoded beyond the bound; ``error(message)`` makes the reader's own exception (field and wording)."""
    if isinstance(data, (bytes, bytearray, memoryview)):
        if len(data) > limit:
            raise error(f"the file has {len(data):,} bytes; allowed at most {limit:,}")
        try:
            data = bytes(data).decode("utf-8")
        except UnicodeDecodeError as exc:
            raise error(f"not UTF-8 text (byte {exc.start})") from None
    if not isinstance(data, str):
        raise error(f"expected the {what} text, got {type(data).__name__}")
    if len(data) > limit:
        raise error(f"the file has {len(data):,} characters; allowed at most {limit:,}")
    return data[1:] if data.startswith(BOM) else data


def sniff(data) -> str | None:
    """Which network format ``data`` (bytes or str) looks like, from its first :data:`SNIFF_CHARS`
    characters: ``"json"`` (the first character after blanks is ``{``), ``"darknet"`` (the first line that is
    no blank or comment, ``#`` or ``;``, is a ``[section]`` header, or a line is ``[net]``), ``"yaml"`` (a
    ``backbone:`` or ``head:`` key at the start of a line); None for anything else (binary data included)."""
    if isinstance(data, (bytes, bytearray, memoryview)):
        data = bytes(data[:SNIFF_CHARS * 4]).decode("utf-8", errors="replace")
    if not isinstance(data, str):
        return None
    head = data[:SNIFF_CHARS]
    head = head[1:] if head.startswith(BOM) else head
    if "\x00" in head or "\ufffd" in head:
        return None
    if head.lstrip().startswith("{"):
        return "json"
    lines = ["".join(line.split()) for line in head.splitlines()]
    first = next((line for line in lines if line and line[0] not in "#;"), "")
    if _SECTION_RE.fullmatch(first) or "[net]" in lines or "[network]" in lines:
        return "darknet"
    if _YAML_KEY_RE.search(head):
        return "yaml"
    return None


def read_bounded(path, limit: int, error: Callable[[str], Exception]) -> bytes:
    """The bytes of file ``path``, refused before reading when it is larger than ``limit`` bytes (and
    never more than ``limit + 1`` read); an unreadable file is ``error("cannot read ...")``."""
    path = os.fspath(path)
    try:
        size = os.path.getsize(path)
        if size > limit:
            raise error(f"{os.path.basename(path)} has {size:,} bytes; allowed at most {limit:,}")
        with open(path, "rb") as fh:
            return fh.read(limit + 1)
    except OSError as exc:
        raise error(f"cannot read {path!r}: {exc.strerror or exc}") from None
