"""End-to-end test of the "Paper vs tool" page in headless Chromium against a real `streamlit run app.py`.

Reuses the server and browser fixtures of tests/test_e2e.py (which skips the module when Debian's
chromium is missing). Screenshots go to artifacts/screenshots/ (gitignored). Run with `pytest -m e2e`.
"""
from __future__ import annotations

import re

import pytest
from playwright.sync_api import Page, expect  # noqa: E402

from e2e_helpers import open_page, screenshot, wait_ready  # noqa: E402

pytestmark = pytest.mark.e2e

LABEL = "Paper vs tool"


def test_paper_page_opens_with_its_nav_label_ablation_and_claims(page: Page, app_url):
    open_page(page, f"{app_url}/Paper")  # pages/Paper.py, url_path "Paper" (app.py)
    assert re.search(r"/Paper(\?|$)", page.url), page.url
    nav = page.get_by_test_id("stSidebar").get_by_test_id("stSidebarNavLink")
    expect(nav.filter(has_text=LABEL)).to_have_count(1)
    expect(page.locator("h1").first).to_have_text(LABEL)
    # the ablation chart is drawn, with its bars
    expect(page.locator(".js-plotly-plot .barlayer .point").first).to_be_visible(timeout=30_000)
    # the claims section, with a verdict badge per claim
    claims = page.get_by_role("heading", name="Claims checker")
    claims.scroll_into_view_if_needed()
    expect(claims).to_be_visible()
    expect(page.get_by_text(re.compile(r"not measured$")).first).to_be_visible()
    expect(page.get_by_role("button", name="Measure latency here")).to_be_visible()
    assert page.get_by_test_id("stException").count() == 0
    screenshot(page, "paper")
    # the sidebar link leads back here from another page
    open_page(page, f"{app_url}/")
    page.get_by_test_id("stSidebar").get_by_test_id("stSidebarNavLink").filter(has_text=LABEL).click()
    page.wait_for_url(re.compile(r"/Paper(\?|$)"))
    wait_ready(page)
    expect(page.locator("h1").first).to_have_text(LABEL)


@pytest.mark.slow
def test_paper_page_measures_latency_in_the_browser(page: Page, app_url):
    open_page(page, f"{app_url}/Paper")
    page.get_by_role("button", name="Measure latency here").click()
    expect(page.get_by_test_id("stMetric").filter(has_text="cspresnet50, fastest run")).to_be_visible(
        timeout=180_000)
    wait_ready(page, timeout=180_000)
    expect(page.get_by_text(re.compile(r"^Latency measured at "))).to_be_visible()
    assert page.get_by_test_id("stException").count() == 0
    screenshot(page, "paper_measured")
