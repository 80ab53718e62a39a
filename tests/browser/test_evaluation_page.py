"""The force's evaluation page in Chromium with figures in it: the table, the briefing
chart and the upload forms pass axe-core's WCAG 2.2 AA checks, and the chart's values are
text a screen reader reads."""

from __future__ import annotations

from pathlib import Path

import pytest
from playwright.sync_api import expect

from tests.browser.cases import api
from tests.browser.helpers import assert_accessible, sign_in

pytestmark = [pytest.mark.browser, pytest.mark.xdist_group("browser")]

EXAMPLE = Path(__file__).resolve().parents[2] / "docs" / "examples" / "d2p-evaluation-2026-11.csv"
FORCE = "devon-and-cornwall"


def test_the_admin_reads_the_table_and_chart_of_an_uploaded_month(page, console, live_stamp):
    with api(live_stamp, FORCE, "Police.Admin") as client:
        r = client.post(
            f"/forces/{FORCE}/channel-figures/extract",
            params={"from": "2026-11-01", "to": "2026-11-30"},
            content=EXAMPLE.read_bytes(),
            headers={"Content-Type": "text/csv"},
        )
        assert r.status_code == 201, r.text
    sign_in(page, FORCE, "Police.Admin", next_path="/evaluation?from=2026-11-01&to=2026-11-30")
    expect(page.locator("main h1")).to_have_text("D2P evaluation")
    expect(page.get_by_role("img", name="Outcomes as a share of reports: D2P against each channel")).to_be_visible()
    expect(page.get_by_role("table", name="D2P against online: 2026-11-01 to 2026-11-30")).to_be_visible()
    assert_accessible(page)
    console.assert_clean()
