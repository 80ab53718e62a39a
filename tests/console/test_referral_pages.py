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


def test_a_referrer_makes_a_referral_on_the_form_and_a_missing_grading_is_named(stamp, browser):
    from shared.services.seed_series import seed_demo_referable_series

    assert seed_demo_referable_series(stamp.container) == 3
    browser.sign_in(*INV, next_path="/referrals/new")
    assert 'href="/referrals/new"' in browser.get("/referrals").text
    form = browser.get("/referrals/new")
    assert form.status_code == 200 and "Refer the series" in form.text and "Opal" in form.text
    fields = {
        "unit_id": "opal",
        "title": "Silver Corsa thefts in two forces' areas",
        "summary": "The same car at Plymouth, Exeter and Bristol.",
        "incident0_crime_reference": "DC/2026/204117",
        "incident0_source": "1",
        "incident0_assessment": "B",
        "incident0_handling": "P",
        "incident1_crime_reference": "DC/2026/204388",
        "incident1_source": "2",
        "incident1_assessment": "C",
        "pointer0_force_id": "avon-and-somerset",
        "pointer0_crime_reference": "AS/2026/7719",
        "pointer0_source": "1",
        "pointer0_assessment": "B",
        "pointer0_handling": "P",
    }
    refused = browser.post("/referrals", fields)
    assert refused.status_code == 422
    assert "has no handling code (P or C)" in refused.text and "incidents[1]" in refused.text
    assert 'value="DC/2026/204388"' in refused.text  # kept as entered
    assert stamp.client.get("/api/v1/referrals", headers=stamp.auth(*INV)).json()["items"] == []

    fields["incident1_handling"] = "C"
    fields["incident1_conditions"] = "Not for court without the store's consent."
    made = browser.post("/referrals", fields)
    assert made.status_code == 303, made.text
    page = browser.get(made.headers["location"])
    assert "Silver Corsa thefts" in page.text and "1B P: reliable" in page.text and "Not for court" in page.text
