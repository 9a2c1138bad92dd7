"""End-to-end: open your own network (a Darknet .cfg file) on the Design page in headless Chromium, see its
numbers, its CSP stages and its diagram.  Screenshots: artifacts/screenshots/import_design.png and
import_diagram.png.  Run with `pytest -m e2e`; shares the server of the other e2e files (tests/conftest.py)."""
from __future__ import annotations

import pytest
from playwright.sync_api import Page, expect

import explorer.io  # noqa: F401 - registers darknet_cfg
from cfg_samples import TINY_CFG
from cspnet import plan_network
from e2e_helpers import metric_value, open_page, screenshot, wait_ready
from explorer.fmt import si
from explorer.io.family import design_from_cfg

pytestmark = pytest.mark.e2e


def test_open_a_cfg_on_design_and_see_it_everywhere(page: Page, app_url: str, tmp_path):
    path = tmp_path / "tiny_csp.cfg"
    path.write_bytes(TINY_CFG)
    cfg = design_from_cfg(TINY_CFG, "tiny_csp")
    page.set_viewport_size({"width": 1400, "height": 1000})
    open_page(page, app_url)
    page.get_by_text("Open your own network").click()
    page.get_by_test_id("stFileUploaderDropzoneInput").set_input_files(str(path))
    main = page.get_by_test_id("stMain")
    expect(main.get_by_role("heading", name="tiny_csp — darknet_cfg")).to_be_visible(timeout=60_000)
    wait_ready(page)
    assert metric_value(page, "Params") == si(plan_network(cfg).params)
    expect(main.get_by_text("stages.0 fusion")).to_be_visible()
    expect(main.get_by_text("not in this link")).to_be_visible()
    assert "family=darknet_cfg" in page.url
    screenshot(page, "import_design")

    page.get_by_test_id("stSidebar").get_by_text("Diagram", exact=True).click()
    wait_ready(page)
    svg = page.get_by_test_id("stGraphVizChart").locator("svg").first
    expect(svg).to_be_visible(timeout=60_000)
    expect(svg).to_contain_text("stages.1")
    screenshot(page, "import_diagram")
