"""End-to-end: CSP's modern lineage on every page in headless Chromium (issue 12 part 6 and 7).

Reuses the shared server and browser fixtures (tests/conftest.py, tests/e2e_helpers.py).  Screenshots go
to artifacts/screenshots/lineage_*.png and learn_where_csp_went.png.  Run with `pytest -m e2e`.
"""
from __future__ import annotations

import pytest
from playwright.sync_api import Page, expect  # noqa: E402

from e2e_helpers import metric_value, open_page, screenshot, wait_ready  # noqa: E402

pytestmark = pytest.mark.e2e


def settle(page: Page) -> None:
    wait_ready(page)
    page.wait_for_function("() => document.querySelectorAll(\"[data-testid='stSkeleton']\").length === 0",
                           timeout=30_000)


def no_exception(page: Page) -> None:
    assert page.get_by_test_id("stException").count() == 0
    assert page.get_by_text("failed:").count() == 0


def test_design_page_yolov8n_cls_switches_to_fusion_last(page: Page, app_url):
    open_page(page, f"{app_url}/?preset=yolov8n_cls")
    expect(page.get_by_test_id("stMetric").first).to_be_visible(timeout=30_000)
    assert metric_value(page, "Params") == "2.72 M"  # ultralytics yolov8n-cls: 2,719,288
    expect(page.get_by_text("No published plain counterpart")).to_be_visible()
    expect(page.locator(".st-key-knob_taps input")).to_have_value("all")  # the lineage's knobs, as text
    page.locator(".st-key-knob_fusion").click()
    page.get_by_role("option", name="fusion last (Fig. 3d)").click()
    expect(page.get_by_test_id("stMetric").filter(has_text="Params")
           .get_by_test_id("stMetricValue")).to_have_text("3.23 M", timeout=15_000)
    settle(page)
    assert metric_value(page, "MACs") == "245 M"
    expect(page.get_by_text("yolov8n_cls — yolov8, fusion fusion_last")).to_be_visible()
    no_exception(page)
    screenshot(page, "lineage_design")


def test_lineage_on_diagram_sweep_learn_and_latency(page: Page, app_url):
    # Diagram: C2f's concat of every tap, drawn when its stage is expanded
    open_page(page, f"{app_url}/Diagram?preset=yolov8n_cls")
    ms = page.locator(".st-key-diagram_expand input").first   # type into the multiselect (as test_e2e does)
    ms.click()
    ms.fill("stage 2 (stages.1)")
    ms.press("Enter")
    page.keyboard.press("Escape")
    expect(page.get_by_test_id("stGraphVizChart").locator("svg").first).to_contain_text(
        "concat of every tap", timeout=30_000)
    settle(page)
    no_exception(page)
    screenshot(page, "lineage_diagram")

    # Sweep: width x depth multiple, the lineage's default
    open_page(page, f"{app_url}/Sweep?preset=yolov8n_cls")
    page.wait_for_function("() => document.querySelector('.js-plotly-plot') && "
                           "document.querySelector('.js-plotly-plot').data[0].x.length === 6", timeout=30_000)
    expect(page.get_by_text("24 designs: 24 valid")).to_be_visible()
    settle(page)
    no_exception(page)
    screenshot(page, "lineage_sweep")

    # Learn: the closing step, its numbers after "just show me"
    open_page(page, f"{app_url}/Learn?l_step=lineage")
    expect(page.locator("h3").filter(has_text="6. Where CSP went")).to_be_visible(timeout=30_000)
    page.locator(".st-key-learn_skip_lineage button").click()
    wait_ready(page)
    assert metric_value(page, "C2f concat channels") == "320" and metric_value(page, "C3 concat channels") == "128"
    expect(page.locator(".st-key-learn_lineage_chart .js-plotly-plot")).to_be_visible(timeout=30_000)
    settle(page)
    no_exception(page)
    screenshot(page, "learn_where_csp_went")

    # Latency: a lineage preset measures on the CPU (small input, few runs)
    open_page(page, f"{app_url}/Latency?preset=yolov8n_cls&input_size=64")
    runs = page.locator(".st-key-lat_runs input")
    runs.fill("3")
    runs.press("Enter")
    wait_ready(page)
    page.locator(".st-key-lat_start button").click()
    expect(page.get_by_test_id("stExpander").filter(has_text="Measured in").first).to_be_visible(timeout=120_000)
    settle(page)
    no_exception(page)
    screenshot(page, "lineage_latency")
