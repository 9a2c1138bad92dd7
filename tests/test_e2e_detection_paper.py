"""End-to-end: the Paper page's COCO detection rows and the Tradeoff page's COCO view with a detector preset as the
design (?preset=yolov8n), in headless Chromium against a real `streamlit run app.py`; screenshots go to
artifacts/screenshots/ (gitignored).  Run with `pytest -m e2e`."""
from __future__ import annotations

import pytest
from playwright.sync_api import Page, expect  # noqa: E402

from e2e_helpers import open_page, screenshot, wait_ready  # noqa: E402

pytestmark = pytest.mark.e2e


def test_paper_page_shows_the_detector_rows(page: Page, app_url):
    open_page(page, f"{app_url}/Paper?preset=yolov8n")
    head = page.get_by_role("heading", name="COCO detection rows")
    head.scroll_into_view_if_needed()
    expect(head).to_be_visible(timeout=30_000)
    expect(page.get_by_text("26 rows a preset builds; params and compute round to the printed digits in 22.")
           ).to_be_visible()
    expect(page.get_by_text("Rows no preset builds (92)")).to_be_visible()
    assert page.get_by_test_id("stException").count() == 0
    screenshot(page, "paper_detection")


def test_tradeoff_coco_view_places_the_detector(page: Page, app_url):
    open_page(page, f"{app_url}/Tradeoff?preset=yolov8n")
    page.get_by_text("COCO detection (AP)").click()
    wait_ready(page)
    expect(page.locator(".js-plotly-plot .scatterlayer").first).to_be_visible(timeout=30_000)
    expect(page.get_by_text("your design (YOLOv8n, published)").first).to_be_visible()
    expect(page.get_by_text("behind the front", exact=False).first).to_be_visible()
    assert page.get_by_test_id("stException").count() == 0
    screenshot(page, "tradeoff_coco_yolov8n")
    open_page(page, f"{app_url}/Tradeoff?preset=yolov8n&neck_fusion=none")
    page.get_by_text("COCO detection (AP)").click()
    wait_ready(page)
    expect(page.get_by_text("AP is unknown", exact=False).first).to_be_visible(timeout=30_000)
    assert page.get_by_test_id("stException").count() == 0
    screenshot(page, "tradeoff_coco_untrained")


def test_design_page_parts_table_has_twin_deltas(page: Page, app_url):
    open_page(page, f"{app_url}/?preset=yolov8n")
    table = page.get_by_test_id("stDataFrame").filter(has_text="params vs twin %").first
    table.scroll_into_view_if_needed()
    expect(table).to_be_visible(timeout=30_000)
    assert page.get_by_test_id("stException").count() == 0
    screenshot(page, "design_parts_yolov8n")
