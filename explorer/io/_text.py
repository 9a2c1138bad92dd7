"""What every network-file reader does first: a bounded read of the file, bounded UTF-8 text out (pure Python)."""
from __future__ import annotations

import os
from typing import Callable


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
    return data


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
