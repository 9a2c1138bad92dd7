"""What every network-file reader does first: bytes or text in, bounded UTF-8 text out (pure Python)."""
from __future__ import annotations

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
