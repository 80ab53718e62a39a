"""The interactive API docs as an integrator sees them in Chromium: Swagger UI draws every
operation from the stamp's own OpenAPI document, within the page's strict CSP and with a
clean console, passes the WCAG checks, and works on a phone."""

from __future__ import annotations

import struct

import httpx
import pytest
from playwright.sync_api import Page, expect

from tests.browser.helpers import assert_accessible, screenshot

pytestmark = [pytest.mark.browser, pytest.mark.xdist_group("browser")]

DOCS = "/api/v1/docs"
FIRST_DRAW_MS = 60_000
ALL_IMPACTS = ("minor", "moderate", "serious", "critical")


def operation_count(url: str) -> int:
    spec = httpx.get(f"{url}/api/v1/openapi.json", timeout=10).json()
    methods = {"get", "put", "post", "delete", "patch", "head", "options"}
    return sum(1 for item in spec["paths"].values() for method in item if method in methods)


def open_docs(page: Page) -> None:
    page.goto(DOCS)
    # Swagger UI 5 parses the whole OpenAPI 3.1 document before it draws, and redraws as it
    # resolves references: seconds on a quiet machine, many more on a busy shared one, so
    # the first steps on the page wait as long.
    expect(page.locator(".opblock .opblock-summary-control").first).to_be_visible(timeout=FIRST_DRAW_MS)


def test_the_docs_draw_every_operation_within_the_csp_and_pass_the_wcag_checks(page, console, live_stamp):
    open_docs(page)
    expect(page.locator(".opblock")).to_have_count(operation_count(live_stamp.url), timeout=FIRST_DRAW_MS)
    expect(page.locator(".information-container .title")).to_contain_text("Vigil API")

    # An integrator opens an operation and reads its parameters and answers.
    report = page.locator(".opblock-post", has=page.locator(".opblock-summary-path", has_text="/incidents")).first
    report.locator(".opblock-summary-control").click(timeout=FIRST_DRAW_MS)
    expect(report.locator(".responses-wrapper")).to_be_visible(timeout=FIRST_DRAW_MS)
    expect(report.locator(".response-col_status").first).to_be_visible()

    assert console.csp_violations() == []
    console.assert_clean()
    # Swagger UI's own widgets fail WCAG (contrast of its badges and buttons, links nested
    # in the operation toggles, small targets) and are not ours to change: the check covers
    # what we write, the document (its language and title) and the API's description.
    assert_accessible(page, rules=["document-title", "html-has-lang", "html-lang-valid"], impacts=ALL_IMPACTS)
    assert_accessible(page, include=[".information-container .description"], impacts=ALL_IMPACTS)


def test_the_docs_work_on_a_phone(phone_page, console, tmp_path):
    open_docs(phone_page)
    phone_page.locator(".opblock-summary-control").first.tap(timeout=FIRST_DRAW_MS)
    expect(phone_page.locator(".opblock.is-open")).to_have_count(1, timeout=FIRST_DRAW_MS)

    shot = screenshot(phone_page, tmp_path / "shots" / "docs-phone.png", full_page=False)
    header = shot.read_bytes()[:24]
    assert header[:8] == b"\x89PNG\r\n\x1a\n"
    width, height = struct.unpack(">II", header[16:24])
    # The phone's 390 CSS pixels at its device scale, in portrait.
    assert width == 390 * 3 and height > width
