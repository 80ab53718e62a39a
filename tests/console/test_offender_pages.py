"""Person-of-interest pages: an investigator sees the demo suggestion with its evidence,
confirms it, lists the person through the API and finds the profile page; contoso sees none
of it; store staff are refused."""

from __future__ import annotations

from shared.domain.tenancy import OrgKind, Principal, Role
from shared.services.seed import seed_demo_persons_of_interest

INVESTIGATOR = Principal(
    user_id="northwind-investigator",
    organisation_id="northwind",
    organisation_kind=OrgKind.RETAILER,
    roles=frozenset({Role.RETAILER_INVESTIGATOR}),
)


def test_investigator_confirms_the_demo_suggestion_and_reads_the_profile(stamp, browser):
    seed_demo_persons_of_interest(stamp.container)
    browser.sign_in("northwind", "Retailer.Investigator", next_path="/offenders/suggestions")
    listing = browser.get("/offenders/suggestions")
    assert listing.status_code == 200, listing.text
    assert "Same name and date of birth" in listing.text and "Same vehicle" in listing.text and "plate WK19PZT" in listing.text
    assert 'href="/offenders"' in listing.text  # the nav link
    s = stamp.container.offenders.suggestions.list(INVESTIGATOR).items[0]
    confirmed = browser.post(f"/offenders/suggestions/{s.id}/confirm", {})
    assert confirmed.status_code == 303
    assert "No suggestions." in browser.get("/offenders/suggestions").text
    other = next(i for r in s.reasons for i in r.incident_ids if i != s.incident_id)
    r = stamp.client.post(
        f"/api/v1/incidents/{s.incident_id}/persons/{s.person_index}/listing",
        json={"links": [{"incident_id": other, "person_index": 0}], "listing_reason": "Two thefts within a week, same car"},
        headers=stamp.auth("northwind", "Retailer.Investigator"),
    )
    assert r.status_code == 201, r.text
    pid = r.json()["id"]
    profiles = browser.get("/offenders")
    assert profiles.status_code == 200 and "Lee Hartley" in profiles.text and f'href="/offenders/{pid}"' in profiles.text
    profile = browser.get(f"/offenders/{pid}")
    assert profile.status_code == 200
    assert "Lee Hartley" in profile.text and "Two thefts within a week, same car" in profile.text and "WK19PZT" in profile.text
    assert "NW-" in profile.text  # incidents by their reference


def test_other_organisation_and_store_staff_see_nothing(stamp, browser, browser_for):
    seed_demo_persons_of_interest(stamp.container)
    browser.sign_in("contoso", "Retailer.Investigator", next_path="/offenders/suggestions")
    assert "No suggestions." in browser.get("/offenders/suggestions").text
    assert "No one is listed." in browser.get("/offenders").text
    assert browser.get("/offenders/off-0000000000000000").status_code == 404
    staff = browser_for()
    staff.sign_in("northwind", "Retailer.Reporter", next_path="/reports", stores=["nw-plymouth"])
    assert staff.get("/offenders").status_code == 403
