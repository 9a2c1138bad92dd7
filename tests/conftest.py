"""Fixtures shared by several test files: the paper reproduction's results (computed once per run),
and for the end-to-end files one `streamlit run` for all of them and Debian's Chromium for
pytest-playwright."""
from __future__ import annotations

import pytest
from hypothesis import settings

from app_ui.launch import CHROMIUM_ARGS, stop_server

# no test asserts wall-clock time (tests/test_no_wall_clock.py): Hypothesis' default 200 ms deadline included
settings.register_profile("no_deadline", deadline=None)
settings.load_profile("no_deadline")


@pytest.fixture(scope="session")
def ablation():
    """explorer.paper.reproduce.fusion_ablation()"""
    from explorer.paper.reproduce import fusion_ablation

    return fusion_ablation()


@pytest.fixture(scope="session")
def records():
    """explorer.paper.reproduce.reproduce(): every published row a preset builds, against this tool."""
    from explorer.paper.reproduce import reproduce

    return reproduce()


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
