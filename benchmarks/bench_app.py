"""Browser-measured responsiveness of the app (prints figures; not a test).

    python benchmarks/bench_app.py [--runs 7] [--preset densenet201]

1. App ready time: from launching `streamlit run app.py` to the Design page showing its numbers
   in headless Chromium (the first session pays for the imports: torch, the engine).
2. Knob latency: on the given preset, type a new growth rate (input size for non-DenseNets), press
   Enter, and wait (polled every animation frame) until the Params (or MACs) metric shows a new value.

Targets: app ready < 3 s, knob < 1.5 s.  The server is launched with app_ui/launch.py, the launcher the
e2e tests use (its output goes to /dev/null here).

Needs Debian's chromium and playwright (the e2e test requirements).
"""
from __future__ import annotations

import argparse
import shutil
import statistics
import sys
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


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--runs", type=int, default=7)
    ap.add_argument("--preset", default="densenet201")
    args = ap.parse_args(argv)
    chromium = shutil.which("chromium")
    if chromium is None:
        print("chromium not found (apt-get install chromium)", file=sys.stderr)
        return 2
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=chromium, args=CHROMIUM_ARGS)
        page = browser.new_page(viewport={"width": 1440, "height": 1000})
        port = free_port()
        url = f"http://127.0.0.1:{port}"
        t0 = time.perf_counter()
        proc = start_server(port)
        try:
            wait_healthy(url, proc, poll=0.02)  # fine polling: this times the app-ready figure
            t_health = time.perf_counter() - t0
            page.goto(f"{url}/")
            wait_numbers(page)
            t_ready = time.perf_counter() - t0
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

    print(f"server healthy after start        {t_health:6.2f} s")
    print(f"app ready (Design numbers shown)  {t_ready:6.2f} s   (target < {READY_TARGET_S:g} s)")
    print(f"warm page load ({args.preset})   {t_reload:6.2f} s")
    print(f"knob -> new numbers, {args.preset}, {len(times)} runs: median {statistics.median(times):.3f} s, "
          f"min {min(times):.3f} s, max {max(times):.3f} s   (target < {KNOB_TARGET_S:g} s)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
