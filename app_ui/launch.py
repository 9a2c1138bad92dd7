"""Start, wait for and stop `streamlit run app.py` on loopback: the one launcher that the tests and the
benchmarks share.

Standard library only (no Streamlit import): the server runs as a subprocess,
``python -m streamlit run app.py`` in the project root, headless on 127.0.0.1, without the file
watcher or usage statistics.  Its output (stdout and stderr together) goes to ``log_path`` when one
is given, else to /dev/null, so a chatty server never blocks on a full pipe.
"""
from __future__ import annotations

import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]  # the project root, where app.py lives

# Debian's chromium, headless, as the e2e tests and the benchmarks launch it
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run"]


def free_port() -> int:
    """A TCP port on 127.0.0.1 that is free right now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_server(port: int, log_path: Path | None = None, app_dir: Path = ROOT) -> subprocess.Popen:
    """Launch `streamlit run app.py` on 127.0.0.1:``port`` in ``app_dir`` (this project's root unless a
    benchmark times another app); returns at once (see :func:`wait_healthy`)."""
    cmd = [sys.executable, "-m", "streamlit", "run", "app.py", "--server.headless", "true",
           "--server.address", "127.0.0.1", "--server.port", str(port), "--server.fileWatcherType", "none",
           "--browser.gatherUsageStats", "false"]
    out = open(log_path, "w") if log_path else subprocess.DEVNULL  # noqa: SIM115 - closed with the process
    return subprocess.Popen(cmd, cwd=app_dir, stdout=out, stderr=subprocess.STDOUT)


def wait_healthy(url: str, proc: subprocess.Popen | None, timeout: float = 60, poll: float = 0.05) -> None:
    """Poll ``url``/_stcore/health until it answers ``ok``.

    Raises SystemExit (script-style) when ``proc`` exits first or ``timeout`` seconds pass.
    ``proc=None`` waits for a server started elsewhere.
    """
    deadline = time.time() + timeout
    while time.time() < deadline:
        if proc is not None and proc.poll() is not None:
            raise SystemExit(f"streamlit exited early (rc {proc.returncode})")
        try:
            with urllib.request.urlopen(f"{url}/_stcore/health", timeout=1) as r:
                if r.read().strip() == b"ok":
                    return
        except OSError:
            pass
        time.sleep(poll)
    raise SystemExit(f"streamlit at {url} did not become healthy in {timeout:.0f} s")


def stop_server(proc: subprocess.Popen) -> bool:
    """SIGTERM, then SIGKILL after 15 s; a no-op when the server has already ended.

    Returns False when the server had to be killed (it did not stop within 15 s of SIGTERM)."""
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=5)
            return False
    return True
