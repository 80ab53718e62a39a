"""Referral pages in Chromium: opal reads a series referred to it (gradings, crime
references, exhibits) and asks for more; the page keeps to its CSP and passes the WCAG
2.2 AA checks for the unit and for the referrer."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from tests.browser.cases import api, dispatched
from tests.browser.helpers import assert_accessible, sign_in

pytestmark = [pytest.mark.browser, pytest.mark.xdist_group("browser")]

GRADED = {"source_evaluation": "1", "intelligence_assessment": "B", "handling_code": "P"}


def _referred(live_stamp) -> dict:
    incident, _ = dispatched(live_stamp, narrative="Referral page check: two men took razor blades.")
    with api(live_stamp, "devon-and-cornwall", "Police.Officer") as force:
        ack = force.post(f"/d2p/{incident['id']}.devon-and-cornwall/acknowledge", json={"crime_reference": "DC/2026/424242"})
        assert ack.status_code == 200, ack.text
    body = {
        "unit_id": "opal",
        "title": "Razor-blade thefts across two forces",
        "summary": "The same two men at stores in two forces' areas.",
        "incidents": [{"incident_id": incident["id"], "grading": GRADED}],
        "other_forces": [{"force_id": "avon-and-somerset", "crime_reference": "AS/2026/5531", "grading": GRADED}],
    }
    with api(live_stamp, "northwind", "Retailer.Investigator") as referrer:
        made = referrer.post("/referrals", json=body)
        assert made.status_code == 201, made.text
        return made.json()


def test_the_unit_reads_and_asks_and_the_referrer_reads_the_question(page, other_page, console, live_stamp):
    made = _referred(live_stamp)
    sign_in(page, "opal", "NationalUnit.Officer")
    page.goto(f"/referrals/{made['id']}")
    expect(page.locator("main h1")).to_have_text(made["title"])
    expect(page.get_by_text("DC/2026/424242")).to_be_visible()
    assert_accessible(page)
    page.get_by_label("Ask the referrer for more").fill("Is there CCTV of the van's plate?")
    page.get_by_role("button", name="Ask", exact=True).click()
    expect(page.get_by_text("The unit asked for more").first).to_be_visible()

    sign_in(other_page, "northwind", "Retailer.Investigator")
    other_page.goto(f"/referrals/{made['id']}")
    expect(other_page.get_by_text("Is there CCTV of the van's plate?").first).to_be_visible()
    assert_accessible(other_page)
    console.assert_clean()
