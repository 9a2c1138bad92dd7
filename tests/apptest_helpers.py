"""What the AppTest page tests share (``streamlit.testing``, no browser): the app's path, a fresh app run at a
query string, the check that a run showed no exception and no error, and the autouse fixture that empties
Streamlit's caches before each test (import it by name: ``from apptest_helpers import clear_caches``)."""
from __future__ import annotations

from pathlib import Path

import pytest
import streamlit as st
from streamlit.testing.v1 import AppTest

APP = str(Path(__file__).resolve().parent.parent / "app.py")


@pytest.fixture(autouse=True)
def clear_caches():
    st.cache_data.clear()
    st.cache_resource.clear()
    yield


def app(params: dict | None = None, timeout: int = 120) -> AppTest:
    """The app run once at the query string ``params``."""
    at = AppTest.from_file(APP, default_timeout=timeout)
    for k, v in (params or {}).items():
        at.query_params[k] = v
    return at.run()


def no_problem(at: AppTest) -> None:
    assert not at.exception, [e.value for e in at.exception]
    assert not at.error, [e.value for e in at.error]
