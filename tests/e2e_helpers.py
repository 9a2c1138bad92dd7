"""What the end-to-end tests share: starting `streamlit run`, Chromium settings, page helpers.

The fixtures that use these live in tests/conftest.py, so every e2e file shares one server.
"""
from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

from playwright.sync_api import Page

from app_ui.launch import free_port, start_server, stop_server, wait_healthy

ROOT = Path(__file__).resolve().parent.parent
SHOTS = ROOT / "artifacts" / "screenshots"
CHROMIUM = shutil.which("chromium")
READY = "[data-testid='stApp'][data-test-script-state='notRunning']"


def start_app(log_path: Path, port: int | None = None) -> tuple[subprocess.Popen, str]:
    """`streamlit run app.py` on loopback (app_ui/launch.py's launcher), on ``port`` or a free
    one; returns (process, url) once it is healthy.  The server's output goes to the file
    ``log_path``, so a chatty server never blocks on a full pipe."""
    port = port or free_port()
    url = f"http://127.0.0.1:{port}"
    proc = start_server(port, log_path)
    try:
        wait_healthy(url, proc)
    except SystemExit as exc:  # the launcher's script-style exit, as a test error with the log
        stop_server(proc)
        raise RuntimeError(f"{exc}:\n{log_path.read_text()}") from None
    return proc, url


def wait_ready(page: Page, timeout: float = 60_000) -> None:
    page.wait_for_selector(READY, timeout=timeout)
    page.wait_for_selector("[data-testid='stSidebar'] [data-testid='stSidebarNavLink']", timeout=timeout)


def open_page(page: Page, url: str) -> None:
    page.goto(url)
    wait_ready(page)


def metric_value(page: Page, label: str) -> str:
    m = page.get_by_test_id("stMetric").filter(has_text=label).first
    return m.get_by_test_id("stMetricValue").inner_text()


def screenshot(page: Page, name: str) -> Path:
    """Full height of the main area (Streamlit scrolls inside it, not the document)."""
    SHOTS.mkdir(parents=True, exist_ok=True)
    h = page.evaluate("() => { const m = document.querySelector(\"[data-testid='stMain']\");"
                      " return m ? m.scrollHeight : document.body.scrollHeight; }")
    size = page.viewport_size
    page.set_viewport_size({"width": size["width"], "height": int(min(max(h, size["height"]), 7000))})
    page.wait_for_timeout(400)
    path = SHOTS / f"{name}.png"
    page.screenshot(path=str(path), full_page=True)
    page.set_viewport_size(size)
    return path
