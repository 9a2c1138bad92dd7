"""End-to-end tests of the Latency, Sweep and Learn pages in headless Chromium.

Reuses the server and browser fixtures of tests/test_e2e.py (a real `streamlit run app.py`).
Screenshots go to artifacts/screenshots/ (gitignored). Run with `pytest -m e2e`; skipped when
Debian's chromium is missing.
"""
from __future__ import annotations

import re
from urllib.parse import urlencode

import pytest
from playwright.sync_api import Page, expect  # noqa: E402

from cspnet import CSPConfig
from e2e_helpers import metric_value, open_page, screenshot, wait_ready  # noqa: E402
from explorer.design import to_query

pytestmark = pytest.mark.e2e

TINY = CSPConfig(family="densenet", name="tiny", repeats=(2,), growth_rate=8, stem_channels=16, input_size=32,
                 fusion="csp", num_classes=10)
TINY_Q = urlencode(to_query(TINY), safe=",")

# the pixel position of a plotly point whose customdata starts with `label`, from plotly's own data
POINT_JS = """(args) => {
  const [label, second] = args;
  const gd = document.querySelector('.js-plotly-plot');
  const L = gd._fullLayout;
  for (const tr of gd._fullData) {
    if (!tr.customdata || tr.type !== 'scatter') continue;
    for (let i = 0; i < tr.customdata.length; i++) {
      const cd = tr.customdata[i];
      if (String(cd[0]) === label && (second === null || String(cd[1]) === second)) {
        const r = gd.getBoundingClientRect();
        const px = (ax, v) => ax._offset + ax.l2p(ax.d2l(v));  // d2p is wrong for category axes
        return [r.left + px(L.xaxis, tr.x[i]), r.top + px(L.yaxis, tr.y[i])];
      }
    }
  }
  return null; }"""


def settle(page: Page) -> None:
    """The run finished and every lazily loaded widget is drawn (no skeleton placeholders)."""
    wait_ready(page)
    page.wait_for_function("() => document.querySelectorAll(\"[data-testid='stSkeleton']\").length === 0",
                           timeout=30_000)


def shot(page: Page, name: str) -> None:
    settle(page)
    screenshot(page, name)


def no_exception(page: Page) -> None:
    assert page.get_by_test_id("stException").count() == 0


def slider_keys(page: Page, key: str, presses: int, arrow: str = "ArrowRight") -> None:
    s = page.locator(f".st-key-{key} input[type='range']").first
    s.focus()
    for _ in range(presses):
        s.press(arrow)


def click_point_opens_design(page: Page, point: list, url: str, knob: str, shown: str) -> None:
    """A click on the sweep figure's point (x, y) opens that design on the Design page."""
    page.locator(".js-plotly-plot").first.scroll_into_view_if_needed()
    xy = page.evaluate(POINT_JS, point)
    assert xy, f"no sweep point at {point}"
    page.mouse.click(xy[0], xy[1])
    page.wait_for_url(re.compile(url), timeout=30_000)
    wait_ready(page)
    expect(page.locator("h1").first).to_have_text("Design")
    assert page.locator(f".st-key-knob_{knob} input").input_value() == shown


def test_learn_page_sliders_move_numbers_and_open_the_design(page: Page, app_url):
    open_page(page, f"{app_url}/Learn")
    expect(page.get_by_test_id("stGraphVizChart").locator("svg").first).to_be_visible(timeout=30_000)
    page.locator(".st-key-learn_skip_dense button").click()  # step 1 asks first, then shows its numbers
    wait_ready(page)
    expect(page.get_by_test_id("stMetric").filter(has_text="Feature-map reads in the block")).to_be_visible()
    assert metric_value(page, "Feature-map reads in the block") == "21"
    slider_keys(page, "learn_dense_layers", 2)
    expect(page.get_by_test_id("stMetric").filter(has_text="Feature-map reads in the block")
           .get_by_test_id("stMetricValue")).to_have_text("36", timeout=15_000)
    wait_ready(page)
    expect(page.locator(".st-key-learn_reads_box .js-plotly-plot").first).to_contain_text("L8")
    no_exception(page)
    shot(page, "learn_1_dense_block")
    page.locator(".st-key-learn_next button").click()
    wait_ready(page)
    expect(page.locator("h3").filter(has_text="2. The split")).to_be_visible()
    before = metric_value(page, "Part 2: block channels")
    slider_keys(page, "learn_split_split_ratio", 5, "ArrowLeft")
    expect(page.get_by_test_id("stMetric").filter(has_text="Part 2: block channels")
           .get_by_test_id("stMetricValue")).not_to_have_text(before, timeout=15_000)
    wait_ready(page)
    shot(page, "learn_2_split")
    for label, name in (("4 · Fusion", "learn_4_fusion"), ("5 · Memory traffic", "learn_5_cio")):
        page.locator(".st-key-learn_step button").filter(has_text=label).click()
        wait_ready(page)
        expect(page.get_by_test_id("stGraphVizChart").locator("svg").first).to_be_visible(timeout=30_000)
        no_exception(page)
        shot(page, name)
    expect(page.get_by_test_id("stMarkdown").locator(".katex").first).to_be_visible()
    page.locator(".st-key-learn_open_cio button").first.click()  # a button with help= is in the DOM twice
    page.wait_for_url(re.compile(r"/\?.*repeats=6"), timeout=30_000)
    wait_ready(page)
    expect(page.locator("h1").first).to_have_text("Design")
    expect(page.get_by_test_id("stSidebar")).to_contain_text("lesson_cio")


def test_sweep_page_range_error_and_click_to_open(page: Page, app_url):
    open_page(page, f"{app_url}/Sweep?{TINY_Q}")
    plot = page.locator(".js-plotly-plot").first
    expect(plot.locator(".heatmaplayer image, .heatmaplayer .hm").first).to_be_attached(timeout=30_000)
    n_x = page.evaluate("() => document.querySelector('.js-plotly-plot').data[0].x.length")
    assert n_x == 10
    box = page.locator(".st-key-sw_range_split_ratio input")
    box.fill("0.05,0.25,0.5,0.75")
    box.press("Enter")
    page.wait_for_function("() => document.querySelector('.js-plotly-plot') && "
                           "document.querySelector('.js-plotly-plot').data[0].x.length === 4", timeout=15_000)
    wait_ready(page)
    no_exception(page)
    shot(page, "sweep_heatmap_with_gaps")
    # a bad range: the message names the field, no chart
    g = page.locator(".st-key-sw_range_growth_rate input")
    g.fill("64:8:8")
    g.press("Enter")
    err = page.get_by_test_id("stAlert").filter(has_text="growth_rate")
    expect(err.first).to_be_visible(timeout=15_000)
    expect(err.first).to_contain_text("need step > 0")
    wait_ready(page)
    shot(page, "sweep_bad_range")
    g.fill("8:24:8")
    g.press("Enter")
    page.wait_for_function("() => document.querySelector('.js-plotly-plot') && "
                           "document.querySelector('.js-plotly-plot').data[0].y.length === 3", timeout=15_000)
    settle(page)
    # a click on a heatmap cell opens that design on the Design page
    click_point_opens_design(page, ["0.5", "16"], r"/\?.*growth_rate=16", "growth_rate", "16")
    # back to the sweep (the design is now growth 16): one knob gives lines; a click on a point opens it
    page.get_by_test_id("stSidebar").get_by_test_id("stSidebarNavLink").filter(has_text="Sweep").click()
    page.wait_for_url(re.compile(r"/Sweep\?"), timeout=30_000)
    wait_ready(page)
    page.locator(".st-key-sw_knob2").click()
    page.get_by_role("option", name="(none)").click()
    page.wait_for_function("() => document.querySelector('.js-plotly-plot') && "
                           "document.querySelector('.js-plotly-plot').data[0].type === 'scatter'", timeout=15_000)
    box = page.locator(".st-key-sw_range_split_ratio input")
    box.fill("0.05,0.25,0.5,0.75")
    box.press("Enter")
    page.wait_for_function("() => document.querySelector('.js-plotly-plot') && "
                           "document.querySelector('.js-plotly-plot').data[0].x.length === 4", timeout=15_000)
    shot(page, "sweep_lines")
    click_point_opens_design(page, ["0.25", None], r"/\?.*split_ratio=0\.25", "split_ratio", "0.250")


def test_latency_page_measures_cancels_and_queues(page: Page, app_url):
    open_page(page, f"{app_url}/Latency?{TINY_Q}")
    expect(page.get_by_text("only the CPU is measured")).to_be_visible()
    runs = page.locator(".st-key-lat_runs input")
    runs.fill("3")
    runs.press("Enter")
    wait_ready(page)
    page.locator(".st-key-lat_start button").click()
    expect(page.get_by_test_id("stExpander").filter(has_text="Measured in").first).to_be_visible(timeout=60_000)
    wait_ready(page)
    expect(page.locator(".js-plotly-plot").first).to_be_visible()
    expect(page.locator(".st-key-roof_section .js-plotly-plot")).to_have_count(1)  # the roofline (analytic)
    assert page.locator(".js-plotly-plot").count() == 4  # + the curve, the savings and the per-stage bars
    expect(page.get_by_text(re.compile(r"torch 2\.\d+"))).to_be_visible()
    expect(page.get_by_text(re.compile(r"^Batch 1: MACs"))).to_be_visible()
    no_exception(page)
    shot(page, "latency_results")

    # a long benchmark in this session; a second session waits in the queue, then this one cancels
    runs.fill("200")
    runs.press("Enter")
    wait_ready(page)
    page.locator(".st-key-lat_batches input").click()
    for b in ("64", "128", "256"):
        page.get_by_role("option", name=b, exact=True).click()
    page.keyboard.press("Escape")
    wait_ready(page)
    page.locator(".st-key-lat_start button").click()
    expect(page.get_by_test_id("stProgress").first).to_contain_text("run ", timeout=30_000)
    other = page.context.new_page()
    open_page(other, f"{app_url}/Latency?{TINY_Q}")
    r2 = other.locator(".st-key-lat_runs input")
    r2.fill("1")
    r2.press("Enter")
    wait_ready(other)
    other.locator(".st-key-lat_start button").click()
    expect(other.get_by_text(re.compile(r"1 ahead of you in the queue"))).to_be_visible(timeout=30_000)
    screenshot(other, "latency_waiting_in_queue")  # its run is waiting: no settle
    page.locator(".st-key-lat_cancel button").first.click()
    expect(page.get_by_text("The benchmark was cancelled")).to_be_visible(timeout=30_000)
    # the device was given back: the waiting session measures now
    expect(other.get_by_test_id("stExpander").filter(has_text="Measured in").first).to_be_visible(timeout=60_000)
    no_exception(page)
    no_exception(other)
    other.close()
