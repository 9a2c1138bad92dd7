"""Fixtures shared by the end-to-end test files: one `streamlit run` for all of them, and Debian's
Chromium for pytest-playwright.  (Unit tests request none of these.)"""
from __future__ import annotations

import pytest

from app_ui.launch import CHROMIUM_ARGS, stop_server


@pytest.fixture(scope="session")
def app_url(tmp_path_factory):
    from e2e_helpers import start_app  # (imports playwright: only when an e2e test asks)

    proc, url = start_app(tmp_path_factory.mktemp("server") / "server.log")
    yield url
    stop_server(proc)


@pytest.fixture(scope="session")
def browser_type_launch_args(browser_type_launch_args):
    from e2e_helpers import CHROMIUM

    return {**browser_type_launch_args, "executable_path": CHROMIUM, "args": CHROMIUM_ARGS}


@pytest.fixture(scope="session")
def browser_context_args(browser_context_args):
    return {**browser_context_args, "viewport": {"width": 1440, "height": 1000}, "accept_downloads": True}
