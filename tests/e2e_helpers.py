"""What the end-to-end tests share: starting `streamlit run`, Chromium settings, page helpers.

The fixtures that use these live in tests/conftest.py, so every e2e file shares one server.
"""
from __future__ import annotations

import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

from playwright.sync_api import Page

ROOT = Path(__file__).resolve().parent.parent
SHOTS = ROOT / "artifacts" / "screenshots"
CHROMIUM = shutil.which("chromium")
READY = "[data-testid='stApp'][data-test-script-state='notRunning']"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run"]
TIMES: dict = {}  # server and page timings, printed by test_e2e.py


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_app():
    """`streamlit run app.py` on a free loopback port; returns (process, url) once it is healthy."""
    port = free_port()
    cmd = [sys.executable, "-m", "streamlit", "run", "app.py", "--server.headless", "true",
           "--server.address", "127.0.0.1", "--server.port", str(port), "--server.fileWatcherType", "none",
           "--browser.gatherUsageStats", "false"]
    t0 = time.perf_counter()
    proc = subprocess.Popen(cmd, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    url = f"http://127.0.0.1:{port}"
    deadline = time.time() + 60
    while True:
        if proc.poll() is not None:
            raise RuntimeError(f"streamlit exited early:\n{proc.stdout.read()}")
        try:
            with urllib.request.urlopen(f"{url}/_stcore/health", timeout=1) as r:
                if r.read().strip() == b"ok":
                    break
        except OSError:
            pass
        if time.time() > deadline:
            proc.kill()
            raise RuntimeError("streamlit did not become healthy in 60 s")
        time.sleep(0.1)
    TIMES["server_healthy_s"] = time.perf_counter() - t0
    TIMES["t0"] = t0
    return proc, url


def stop_app(proc) -> None:
    proc.terminate()
    try:
        proc.wait(timeout=10)
    except subprocess.TimeoutExpired:
        proc.kill()


def wait_ready(page: Page, timeout: float = 60_000) -> None:
    page.wait_for_selector(READY, timeout=timeout)
    page.wait_for_selector("[data-testid='stSidebar'] [data-testid='stPageLink']", timeout=timeout)


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
