"""Errors become messages, never tracebacks."""
from __future__ import annotations

import logging
from contextlib import contextmanager

import streamlit as st

from cspnet import ConfigError

log = logging.getLogger("cspnet.app")


def error_text(exc: BaseException) -> str:
    if isinstance(exc, ConfigError):
        return str(exc)
    return f"{type(exc).__name__}: {exc}"


@contextmanager
def guard(what: str, where=None):
    """Run a block; an exception becomes ``st.error`` ('what' failed: reason) and the page goes on.

    Streamlit's own control flow (rerun, switch_page, stop) is a BaseException and passes through.
    """
    where = where or st
    try:
        yield
    except ConfigError as exc:
        where.error(f"{what}: {exc}")
    except Exception as exc:  # noqa: BLE001 - the point is that the page never shows a traceback
        log.exception("%s failed", what)
        where.error(f"{what} failed: {error_text(exc)}")
