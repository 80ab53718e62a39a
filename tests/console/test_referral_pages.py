"""Referral pages: opal's intake and its decisions, the referrer's status page and its
answer, and that a unit's person reaches nothing else in the console."""

from __future__ import annotations

from tests.referrals.helpers import INV, refer, referable_incident, series

OPAL = ("opal", "NationalUnit.Officer")


def test_opal_reads_asks_and_allocates_and_the_referrer_follows(stamp, browser, browser_for):
    incident = referable_incident(stamp)
    made = refer(stamp, series(incident))

    browser.sign_in(*OPAL, next_path="/referrals")
    intake = browser.get("/referrals")
    assert intake.status_code == 200
    assert made["title"] in intake.text and "Northwind Stores" in intake.text and "With the unit" in intake.text
    assert 'href="/referrals"' in intake.text  # the unit's one nav link
    one = browser.get(f"/referrals/{made['id']}")
    assert one.status_code == 200
    assert incident["reference"] in one.text and "DC/2026/118734" in one.text and "1B P: reliable" in one.text
    assert "Accept the referral" in one.text
    asked = browser.post(f"/referrals/{made['id']}/questions", {"question": "Is there CCTV of the plate?"})
    assert asked.status_code == 303

    referrer = browser_for()
    referrer.sign_in(*INV, next_path="/referrals")
    mine = referrer.get("/referrals")
    assert made["title"] in mine.text and "The unit asked for more" in mine.text
    page = referrer.get(f"/referrals/{made['id']}")
    assert "Is there CCTV of the plate?" in page.text and "Send the answer" in page.text and "Accept the referral" not in page.text
    assert referrer.post(f"/referrals/{made['id']}/answer", {"answer": "Yes: exhibit NW/4."}).status_code == 303

    allocated = browser.post(f"/referrals/{made['id']}/lead-force", {"force_id": "devon-and-cornwall", "note": "Most offences there."})
    assert allocated.status_code == 303
    after = referrer.get(f"/referrals/{made['id']}")
    assert "Lead force allocated" in after.text and "Devon and Cornwall Police leads" in after.text


def test_a_unit_person_reaches_no_other_page(stamp, browser):
    incident = referable_incident(stamp)
    browser.sign_in(*OPAL, next_path="/referrals")
    # Its people land on the intake: the one page they have.
    home = browser.get("/")
    assert home.status_code == 303 and home.headers["location"].endswith("/referrals")
    for path in ("/search", "/inbox", f"/cases/{incident['id']}", "/footage-requests", "/reports", "/admin"):
        r = browser.get(path)
        assert r.status_code in (403, 404), (path, r.status_code)
        assert incident["narrative"] not in r.text
    # An empty answer is refused with the field named, nothing changed.
    made = refer(stamp, series(incident))
    r = browser.post(f"/referrals/{made['id']}/questions", {"question": ""})
    assert r.status_code == 422
