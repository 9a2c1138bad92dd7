"""Browser-measured responsiveness of the app (prints figures; not a test).

    python benchmarks/bench_app.py [--runs 7] [--preset densenet201]

1. App ready time: from launching `streamlit run app.py` to the Design page showing its numbers
   in headless Chromium (the first session pays for the imports: the engine, pandas), over
   ``--ready-runs`` fresh servers and fresh browser pages (median, min, max: on a 2-core machine one
   run varies by +-0.5 s).
2. Knob latency: on the given preset, type a new growth rate (input size for non-DenseNets), press
   Enter, and wait (polled every animation frame) until the Params (or MACs) metric shows a new value.

``--floor``: the same app-ready measurement of the smallest page of this kind (a title, a number input,
a metric and a dataframe in two columns; written to a temporary folder), interleaved with the app's
starts: what Streamlit itself costs on this machine.

Targets: app ready < 3 s, knob < 1.5 s.  The server is launched with app_ui/launch.py, the launcher the
e2e tests use (its output goes to /dev/null here).

Needs Debian's chromium and playwright (the e2e test requirements).
"""
from __future__ import annotations

import argparse
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from app_ui.launch import CHROMIUM_ARGS, free_port, start_server, stop_server, wait_healthy  # noqa: E402

READY_TARGET_S = 3.0
KNOB_TARGET_S = 1.5
READY = "[data-testid='stApp'][data-test-script-state='notRunning']"


def metric_js(label: str) -> str:
    """JS returning the shown value of the metric whose label starts with ``label`` (or null)."""
    return ("() => { for (const m of document.querySelectorAll(\"[data-testid='stMetric']\")) {"
            f" if (m.innerText.startsWith('{label}')) {{"
            " const v = m.querySelector(\"[data-testid='stMetricValue']\"); return v ? v.innerText : null; } }"
            " return null; }")


PARAMS_JS = metric_js("Params")


def knob_for(preset: str) -> tuple[str, str, list]:
    """The knob to turn: the growth rate for DenseNets, the input size for the others."""
    from cspnet import get_preset

    if get_preset(preset).family == "densenet":
        return "growth_rate", "Params", [40, 24, 48, 16, 36, 28, 44, 20, 52, 12]
    return "input_size", "MACs", [288, 224, 320, 192, 256, 160, 352, 128, 384, 96]


def wait_numbers(page, timeout_ms: float = 60_000) -> None:
    page.wait_for_function(f"() => ({PARAMS_JS})() !== null", polling="raf", timeout=timeout_ms)


FLOOR_APP = """import pandas as pd
import streamlit as st

st.title("Floor")
left, right = st.columns([1, 2.6])
left.number_input("Knob", value=3)
right.metric("Params", "1.0 M")
right.dataframe(pd.DataFrame({"stage": ["stem", "stages.0"], "params": [1, 2]}))
"""


def time_ready(browser, app_dir: Path) -> tuple:
    """(server healthy, Params metric shown) in seconds after starting ``app_dir``'s app.py, in a new page."""
    page = browser.new_page(viewport={"width": 1440, "height": 1000})
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    t0 = time.perf_counter()
    proc = start_server(port, app_dir=app_dir)
    try:
        wait_healthy(url, proc, poll=0.02)  # fine polling: this times the app-ready figure
        t_health = time.perf_counter() - t0
        page.goto(f"{url}/")
        wait_numbers(page)
        return t_health, time.perf_counter() - t0
    finally:
        stop_server(proc)
        page.close()


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--runs", type=int, default=7)
    ap.add_argument("--ready-runs", type=int, default=3, help="fresh server starts timed (app ready)")
    ap.add_argument("--floor", action="store_true", help="also time the smallest Streamlit page (see above)")
    ap.add_argument("--preset", default="densenet201")
    args = ap.parse_args(argv)
    chromium = shutil.which("chromium")
    if chromium is None:
        print("chromium not found (apt-get install chromium)", file=sys.stderr)
        return 2
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=chromium, args=CHROMIUM_ARGS)
        healthy, ready, floor = [], [], []
        with tempfile.TemporaryDirectory() as floor_dir:
            (Path(floor_dir) / "app.py").write_text(FLOOR_APP)
            for _ in range(max(1, args.ready_runs) - 1):   # fresh server, fresh page (empty cache) each time
                if args.floor:
                    floor.append(time_ready(browser, Path(floor_dir))[1])
                h, r = time_ready(browser, ROOT)
                healthy.append(h)
                ready.append(r)
            if args.floor:
                floor.append(time_ready(browser, Path(floor_dir))[1])
        page = browser.new_page(viewport={"width": 1440, "height": 1000})
        port = free_port()
        url = f"http://127.0.0.1:{port}"
        t0 = time.perf_counter()
        proc = start_server(port)
        try:
            wait_healthy(url, proc, poll=0.02)  # fine polling: this times the app-ready figure
            healthy.append(time.perf_counter() - t0)
            page.goto(f"{url}/")
            wait_numbers(page)
            ready.append(time.perf_counter() - t0)
            t1 = time.perf_counter()
            page.goto(f"{url}/?preset={args.preset}")
            wait_numbers(page)
            page.wait_for_selector(READY)
            t_reload = time.perf_counter() - t1

            knob, label, values = knob_for(args.preset)
            js = metric_js(label)
            box = page.locator(f".st-key-knob_{knob} input")
            times = []
            for i in range(args.runs):
                before = page.evaluate(js)
                box.fill(str(values[i % len(values)]))
                t = time.perf_counter()
                box.press("Enter")
                page.wait_for_function(f"(b) => {{ const v = ({js})(); return v !== null && v !== b; }}",
                                       arg=before, polling="raf", timeout=30_000)
                times.append(time.perf_counter() - t)
                page.wait_for_selector(READY)
        finally:
            stop_server(proc)
            browser.close()

    def spread(xs):
        return f"median {statistics.median(xs):.2f} s, min {min(xs):.2f} s, max {max(xs):.2f} s ({len(xs)} starts)"

    print(f"server healthy after start        {spread(healthy)}")
    print(f"app ready (Design numbers shown)  {spread(ready)}   (target < {READY_TARGET_S:g} s)")
    if floor:
        print(f"smallest Streamlit page ready     {spread(floor)}")
    print(f"warm page load ({args.preset})   {t_reload:6.2f} s")
    print(f"knob -> new numbers, {args.preset}, {len(times)} runs: median {statistics.median(times):.3f} s, "
          f"min {min(times):.3f} s, max {max(times):.3f} s   (target < {KNOB_TARGET_S:g} s)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
