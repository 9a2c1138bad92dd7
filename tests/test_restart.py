"""The server restarts cleanly, and a shared link still opens the same design after a restart.

Starts `streamlit run app.py` on 127.0.0.1, opens a shared link to a non-default design (a preset
with changed fields), stops the server (SIGTERM), starts it again on the same port and opens the
same link: the same design, the same numbers.  The tab that was open during the restart
reconnects by itself and shows the same design too.  Run with `pytest -m e2e`.
"""
from __future__ import annotations

import subprocess
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect

from app_ui.launch import free_port, stop_server
from e2e_helpers import start_app, wait_ready

pytestmark = pytest.mark.e2e

ROOT = Path(__file__).resolve().parent.parent
SHARED = "?preset=cspdarknet53&split_ratio=0.25&input_size=320&transition_ratio=0.75"
METRICS_JS = ("() => Array.from(document.querySelectorAll(\"[data-testid='stMetricValue']\"))"
              ".map(e => e.innerText.trim())")


def start(port: int, log: Path) -> subprocess.Popen:
    return start_app(log, port)[0]


def stop(proc: subprocess.Popen, log: Path) -> tuple[int, str]:
    """SIGTERM; the server must be gone within 15 s. Returns its exit status and its output."""
    if not stop_server(proc):
        raise AssertionError(f"streamlit did not stop within 15 s of SIGTERM:\n{log.read_text()}")
    return proc.returncode, log.read_text()


def shown(page: Page) -> dict:
    """What the Design page shows of its design: the metrics, the heading, the knobs, the URL."""
    page.wait_for_function(f"() => ({METRICS_JS})().length === 5", timeout=60_000)
    wait_ready(page)
    return {"metrics": page.evaluate(METRICS_JS),
            "heading": page.get_by_test_id("stMain").locator("h3").first.inner_text(),
            "split_ratio": page.locator(".st-key-knob_split_ratio input").input_value(),
            "input_size": page.locator(".st-key-knob_input_size input").input_value(),
            "query": page.evaluate("() => location.search")}


@pytest.fixture
def port():
    return free_port()


def test_shared_link_opens_the_same_design_after_a_restart(page: Page, port, tmp_path):
    url = f"http://127.0.0.1:{port}/{SHARED}"
    log = tmp_path / "server.log"
    proc = start(port, log)
    try:
        page.goto(url)
        before = shown(page)
    finally:
        rc, out = stop(proc, log)
    assert before["metrics"] and before["split_ratio"] == "0.250" and before["input_size"] == "320"
    assert "cspdarknet53" in before["heading"] and "input 320" in before["heading"]
    assert rc in (0, -15), f"streamlit ended with {rc}:\n{out}"
    assert "Traceback" not in out, out

    proc = start(port, log)  # the same port: the shared link is the same
    try:
        # the tab left open reconnects to the new server and shows the same design
        expect(page.get_by_test_id("stMetricValue").first).to_be_visible(timeout=60_000)
        page.wait_for_function(f"(want) => JSON.stringify(({METRICS_JS})()) === JSON.stringify(want)",
                               arg=before["metrics"], timeout=60_000)
        other = page.context.new_page()
        other.goto(url)
        after = shown(other)
        assert after == before
        assert other.get_by_test_id("stException").count() == 0
        assert other.get_by_test_id("stAlertContentError").count() == 0
        other.close()
    finally:
        rc, out = stop(proc, log)
    assert rc in (0, -15), f"streamlit ended with {rc}:\n{out}"
    assert "Traceback" not in out, out
