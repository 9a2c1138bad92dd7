"""End-to-end: a real `streamlit run app.py` driven by Playwright in Debian's headless Chromium.

Checks what AppTest cannot: the sidebar navigation labels, URL state in the browser, the diagram
actually drawn, downloads and their content. Screenshots of every page go to
artifacts/screenshots/ (gitignored). Run with `pytest -m e2e`; skipped when chromium is missing.
"""
from __future__ import annotations

import re
import shutil
from pathlib import Path

import pytest

pytestmark = pytest.mark.e2e

PAGES = {"Design": "", "Diagram": "Diagram", "Tradeoff": "Tradeoff", "Compare": "Compare"}
# st.navigation's sidebar list (app.py), in its order
NAV_LABELS = ["Design", "Diagram", "Tradeoff", "Compare", "Latency", "Sweep", "Learn", "Paper vs tool"]

if shutil.which("chromium") is None:
    pytest.skip("Debian's chromium is not installed (apt-get install chromium)", allow_module_level=True)

from playwright.sync_api import Page, expect  # noqa: E402  (after the skip: needs playwright)

from e2e_helpers import READY, metric_value, open_page, screenshot, wait_ready  # noqa: E402


def test_app_ready_and_every_page_has_its_nav_label(page: Page, app_url):
    open_page(page, app_url + "/")
    expect(page.get_by_test_id("stMetric").first).to_be_visible(timeout=60_000)
    for label, path in PAGES.items():
        open_page(page, f"{app_url}/{path}")
        nav = page.get_by_test_id("stSidebar").get_by_test_id("stSidebarNavLink")
        for other in NAV_LABELS:
            expect(nav.filter(has_text=other)).to_have_count(1)
        labels = [t.split("\n")[-1].strip() for t in nav.all_inner_texts()]  # (after the icon)
        assert labels == NAV_LABELS, labels  # the declared titles, not names derived from files
        expect(page.locator("h1").first).to_have_text(label)
        if label == "Diagram":
            expect(page.get_by_test_id("stGraphVizChart").locator("svg").first).to_be_visible(timeout=30_000)
        if label == "Tradeoff":
            expect(page.locator(".js-plotly-plot .scatterlayer .points path").first).to_be_visible(timeout=30_000)
        assert page.get_by_test_id("stException").count() == 0
        screenshot(page, label.lower())
    # navigating by the sidebar keeps the design in the URL
    open_page(page, f"{app_url}/?preset=densenet201")
    page.get_by_test_id("stSidebar").get_by_test_id("stSidebarNavLink").filter(has_text="Diagram").click()
    page.wait_for_url(re.compile(r"/Diagram\?preset=densenet201"))
    wait_ready(page)
    expect(page.get_by_test_id("stSidebar")).to_contain_text("densenet201")


def test_knob_change_updates_numbers_fast_and_the_url(page: Page, app_url):
    open_page(page, f"{app_url}/?preset=densenet201")
    before = metric_value(page, "Params")
    assert before == "20 M"
    box = page.locator(".st-key-knob_growth_rate input")
    box.fill("40")
    box.press("Enter")
    expect(page.get_by_test_id("stMetric").filter(has_text="Params").get_by_test_id("stMetricValue")) \
        .not_to_have_text(before, timeout=10_000)
    page.wait_for_url(re.compile(r"growth_rate=40"))
    after = metric_value(page, "Params")
    # a bad value: the message names the field, the last valid design stays
    box.fill("0")
    box.press("Enter")
    err = page.get_by_test_id("stAlert").filter(has_text="Nearest valid value")
    expect(err.first).to_be_visible(timeout=10_000)
    expect(err.first).to_contain_text("growth_rate: 0")
    assert metric_value(page, "Params") == after
    expect(box).to_have_value("0")
    screenshot(page, "design_invalid_value")
    # the shared link reopens the same design in a fresh tab
    shared = page.url
    other = page.context.new_page()
    open_page(other, re.sub(r"growth_rate=0", "growth_rate=40", shared))
    assert metric_value(other, "Params") == after
    expect(other.locator(".st-key-knob_growth_rate input")).to_have_value("40")
    other.close()


def test_shared_url_opens_the_same_design_and_bad_urls_explain(page: Page, app_url):
    open_page(page, f"{app_url}/?preset=cspdarknet53&split_ratio=0.25")
    expect(page.get_by_test_id("stSidebar")).to_contain_text("cspdarknet53")
    # (a number input can show 0.000 for a moment on a cold server before its value arrives)
    expect(page.locator(".st-key-knob_split_ratio input")).to_have_value("0.250")
    screenshot(page, "design_cspdarknet53")
    open_page(page, f"{app_url}/?preset=nosuchnet")
    expect(page.get_by_test_id("stAlert").filter(has_text="could not be opened").first).to_be_visible()
    assert page.get_by_test_id("stException").count() == 0


def test_diagram_downloads_svg_and_dot(page: Page, app_url):
    open_page(page, f"{app_url}/Diagram?preset=cspdensenet201")
    expect(page.get_by_test_id("stGraphVizChart").locator("svg").first).to_be_visible(timeout=30_000)
    for label, check in (("DOT", lambda t: t.startswith("digraph cspnet") and "stages.3" in t),
                         ("SVG", lambda t: "<svg" in t and "concat" in t and "stage 4" in t)):
        btn = page.get_by_test_id("stDownloadButton").filter(has_text=label).locator("button")
        with page.expect_download(timeout=30_000) as dl:
            btn.click()
        text = Path(dl.value.path()).read_text(encoding="utf-8")
        assert dl.value.suggested_filename.endswith("." + label.lower())
        assert check(text), text[:300]
    # deep design expanded to block level stays readable: look at the screenshot
    ms = page.locator(".st-key-diagram_expand input").first
    ms.click()
    ms.fill("all stages")
    ms.press("Enter")
    page.keyboard.press("Escape")
    expect(page.get_by_test_id("stGraphVizChart").locator("svg").first).to_contain_text("more blocks", timeout=30_000)
    screenshot(page, "diagram_cspdensenet201_expanded")


def test_onnx_is_prepared_on_request_and_downloads_a_valid_model(page: Page, app_url):
    import onnx

    open_page(page, f"{app_url}/Diagram?preset=cspdensenet_walkthrough&input_size=64")
    page.get_by_role("button", name="Prepare ONNX").click()
    btn = page.get_by_test_id("stDownloadButton").filter(has_text="ONNX (").locator("button")
    expect(btn).to_be_visible(timeout=60_000)
    with page.expect_download(timeout=60_000) as dl:  # the bytes come from the bounded cache on click
        btn.click()
    assert dl.value.suggested_filename == "cspdensenet_walkthrough.onnx"
    model = onnx.load(dl.value.path())
    onnx.checker.check_model(model)
    assert [i.name for i in model.graph.input] == ["input"]
    assert page.get_by_test_id("stException").count() == 0


def test_live_trace_and_left_to_right_diagram(page: Page, app_url):
    open_page(page, f"{app_url}/?preset=cspdensenet_walkthrough&input_size=64")
    page.locator(".st-key-verify_trace label").first.click()
    expect(page.get_by_test_id("stExpander").filter(has_text="agrees").first).to_be_visible(timeout=60_000)
    screenshot(page, "design_live_trace")
    open_page(page, f"{app_url}/Diagram?preset=cspdarknet53")
    page.locator(".st-key-diagram_layout").get_by_text("left to right").click()
    expect(page.locator(".st-key-diagram_box img").first).to_be_visible(timeout=30_000)
    page.wait_for_selector(READY)
    screenshot(page, "diagram_cspdarknet53_left_to_right")


def test_tradeoff_click_loads_preset(page: Page, app_url):
    open_page(page, f"{app_url}/Tradeoff?preset=cspdensenet121")
    plot = page.locator(".js-plotly-plot").first
    expect(plot.locator(".scatterlayer .points path").first).to_be_visible(timeout=30_000)
    # the pixel position of the published point for densenet201 (timm), from plotly's own data
    xy = page.evaluate("""() => {
        const gd = document.querySelector('.js-plotly-plot');
        const L = gd._fullLayout;
        for (const tr of gd._fullData) {
          if (!tr.customdata) continue;
          for (let i = 0; i < tr.customdata.length; i++) {
            if (tr.customdata[i][1] === 'densenet201') {
              const r = gd.getBoundingClientRect();
              return [r.left + L.xaxis._offset + L.xaxis.c2p(tr.x[i]), r.top + L.yaxis._offset + L.yaxis.c2p(tr.y[i])];
            }
          }
        }
        return null; }""")
    assert xy, "no published point with the densenet201 preset"
    page.mouse.click(xy[0], xy[1])
    page.wait_for_url(re.compile(r"/\?preset=densenet201$"), timeout=30_000)
    wait_ready(page)
    expect(page.locator("h1").first).to_have_text("Design")
    expect(page.get_by_test_id("stSidebar")).to_contain_text("densenet201")


def test_pages_request_nothing_outside_this_machine(page: Page, app_url):
    """No icon font, favicon or script from the internet (an offline classroom must work)."""
    from urllib.parse import urlparse

    outside = []

    def note(request) -> None:
        u = urlparse(request.url)
        if u.scheme in ("http", "https", "ws", "wss") and u.hostname not in ("127.0.0.1", "localhost"):
            outside.append(request.url)

    page.on("request", note)
    open_page(page, f"{app_url}/?preset=cspdensenet121")
    expect(page.get_by_test_id("stMetric").first).to_be_visible(timeout=60_000)
    open_page(page, f"{app_url}/Diagram?preset=cspdensenet121")
    expect(page.get_by_test_id("stGraphVizChart").locator("svg").first).to_be_visible(timeout=30_000)
    page.wait_for_timeout(500)
    assert outside == [], outside


@pytest.mark.parametrize("path,title", [("/Diagram?preset=densenet121", "Diagram"), ("/?preset=densenet121", "Design")])
def test_a_fresh_servers_first_request_opens_the_linked_page_in_the_frame(page: Page, tmp_path, path, title):
    """The first script run of a server process is Streamlit's legacy pages/ run (app_ui.state.
    leave_legacy_run): the link must still open its page, inside the router's frame, without a
    "Page not found" message."""
    from app_ui.launch import stop_server
    from e2e_helpers import start_app

    proc, url = start_app(tmp_path / "server.log")
    try:
        open_page(page, url + path)
        expect(page.locator("h1").first).to_have_text(title)
        expect(page.get_by_test_id("stSidebar")).to_contain_text("densenet121")
        nav = page.get_by_test_id("stSidebar").get_by_test_id("stSidebarNavLink")
        expect(nav).to_have_count(len(NAV_LABELS))
        assert page.get_by_text("Page not found").count() == 0
        assert re.search(r"preset=densenet121", page.url), page.url
        assert page.get_by_test_id("stException").count() == 0
    finally:
        stop_server(proc)
