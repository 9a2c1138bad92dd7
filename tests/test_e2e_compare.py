"""End-to-end test of the Compare page in headless Chromium against a real `streamlit run app.py`: a link opens
the same comparison (subjects, device) with the current design from the same link, the tables colour deltas,
what changed draws its ablation walk, the diagrams outline the differing stages; at desktop width and at 1024 px.
Screenshots go to artifacts/screenshots/ (gitignored)."""
from __future__ import annotations

import re
from urllib.parse import parse_qs, urlencode, urlsplit

import pytest
from playwright.sync_api import Page, expect

from e2e_helpers import open_page, screenshot, wait_ready

pytestmark = pytest.mark.e2e

CHANGED = "?preset=yolov5s_cls&repeats=3,6,6,3&block_type=dark,dark,bottleneck_3x3,dark"
QUERY = urlencode({"preset": "yolov5s_cls", "cmp1": "design", "cmp2": CHANGED, "cmp3": "yolo11n_cls",
                   "cmpdevice": "a100"})


def _tab(page: Page, name: str) -> None:
    page.get_by_role("tab", name=name).click()
    wait_ready(page)


def test_compare_link_tables_walk_and_diagrams(page: Page, app_url):
    open_page(page, f"{app_url}/Compare?{QUERY}")
    expect(page.locator("h1").first).to_have_text("Compare")
    assert page.get_by_test_id("stException").count() == 0
    expect(page.locator(".st-key-cmp_pick1 input")).to_have_value(re.compile(r"^yolov5s_cls \+ repeats=3,6,6,3"))
    expect(page.locator(".st-key-cmp_device input")).to_have_value(re.compile("A100"))
    legend = "current design (yolov5s_cls) — a design of family yolov5"
    expect(page.get_by_test_id("stMarkdown").filter(has_text=legend).first).to_be_visible()
    q = parse_qs(urlsplit(page.url).query)
    assert q["cmp2"] == [CHANGED] and q["cmp3"] == ["yolo11n_cls"] and q["preset"] == ["yolov5s_cls"]
    expect(page.get_by_test_id("stDataFrame").first).to_be_visible()
    screenshot(page, "compare_1_totals_desktop")
    _tab(page, "What changed")
    expect(page.get_by_text("stages.2 repeats 9 -> 6").first).to_be_visible()
    expect(page.locator(".st-key-cmp_walk0 .js-plotly-plot")).to_be_visible(timeout=30_000)
    screenshot(page, "compare_2_what_changed")
    _tab(page, "Diagrams")
    svg = page.get_by_test_id("stGraphVizChart").locator("svg")
    expect(svg.nth(2)).to_be_visible(timeout=30_000)
    assert page.locator("[data-testid='stGraphVizChart'] svg g.cluster path[stroke='#d62728']").count() > 0
    screenshot(page, "compare_3_diagrams")
    # a pasted query string becomes a fourth design, named by its changes, and joins the link
    page.get_by_text("Add a design: a link, a design JSON or a network file").click()
    page.locator(".st-key-cmp_paste textarea").fill("?preset=yolov8n_cls&width_multiple=0.5")
    page.locator(".st-key-cmp_add button").click()
    wait_ready(page)
    expect(page.locator(".st-key-cmp_pick3 input")).to_have_value("yolov8n_cls + width_multiple=0.5")
    assert parse_qs(urlsplit(page.url).query)["cmp4"] == ["?preset=yolov8n_cls&width_multiple=0.5"]
    page.set_viewport_size({"width": 1024, "height": 900})
    _tab(page, "Per stage")
    expect(page.get_by_role("tabpanel", name="Per stage").get_by_test_id("stDataFrame")).to_be_visible()
    screenshot(page, "compare_4_stages_1024")
    _tab(page, "Totals")
    screenshot(page, "compare_5_totals_1024")
    assert page.get_by_test_id("stException").count() == 0
