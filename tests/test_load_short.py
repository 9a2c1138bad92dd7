"""A short classroom load test: benchmarks/load_test.py against a real `streamlit run`.

Three users in headless Chromium and five more over Streamlit's websocket protocol turn knobs on
the Design page and visit the Diagram page for 12 s, all at once, each with its own design: no
error, no session ever shows another's design, every knob change reaches the numbers, and the
server's memory stays within the stated bound (how fast: the benchmark's figures in the README, not a
test: a busy machine is no failure).  The full run (30 users, 5 minutes) is
`python benchmarks/load_test.py`.  Run with `pytest -m e2e`.
"""
from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = [pytest.mark.e2e, pytest.mark.slow]

ROOT = Path(__file__).resolve().parent.parent
SERVER_RSS_BOUND_MIB = 1500  # README "Serving a classroom": imports + caches, no model build here

if shutil.which("chromium") is None:
    pytest.skip("Debian's chromium is not installed (apt-get install chromium)", allow_module_level=True)


def test_short_load_no_errors_no_crosstalk(tmp_path):
    out = tmp_path / "load.json"
    cmd = [sys.executable, "benchmarks/load_test.py", "--sessions", "8", "--browsers", "3", "--duration", "12",
           "--think", "0.5,1.5", "--diagram-prob", "0.3", "--step-timeout", "30", "--open-timeout", "90",
           "--json", str(out)]
    proc = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, timeout=400)
    assert out.exists(), f"no figures (rc {proc.returncode}):\n{proc.stdout}\n{proc.stderr[-3000:]}"
    r = json.loads(out.read_text())
    report = proc.stdout
    assert sum(r["sessions_opened"].values()) == 8, report
    assert r["errors"] == 0, report + "\n" + "\n".join(r["error_samples"])
    assert r["crosstalk"] == 0, report + "\n" + "\n".join(r["crosstalk_samples"])
    assert r["checks"] >= 16 and r["knob_changes"] >= 8 and r["diagram_visits"] >= 2, report
    assert r["times"]["browser"]["update"]["n"] >= 3, report
    assert r["server_alive_at_end"], report
    assert r["server_rss_peak_mib"] < SERVER_RSS_BOUND_MIB, report
    assert proc.returncode == 0, report
