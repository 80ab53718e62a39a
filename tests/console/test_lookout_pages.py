"""The lookout pages as store staff and issuers use them: Exeter's reporter sees the
lookout for their store (description, redacted still, until when) and acknowledges it;
the investigator sees which stores acknowledged; a lapsed lookout is gone from the store's
page; every view is audited as the API's reads are."""

from __future__ import annotations

from tests.lookouts.helpers import DESCRIPTION, NAME, NW, PREFIX, RI, RR, issue, list_person, redacted_still


def test_exeter_staff_see_and_acknowledge_a_lookout_and_the_issuer_sees_it(stamp, browser, browser_for):
    _, still = redacted_still(stamp)
    list_person(stamp, image_evidence_ids=[still])
    issued = issue(stamp)

    browser.sign_in(NW, RR, next_path="/lookouts?store=nw-exeter", stores=["nw-exeter"])
    shown = browser.get("/lookouts?store=nw-exeter")
    assert shown.status_code == 200, shown.text
    assert "Lookouts" in shown.text and "Northwind Exeter" in shown.text
    assert NAME in shown.text and DESCRIPTION in shown.text and "Threatened staff" in shown.text
    assert f'src="{PREFIX}/lookouts/{issued["id"]}/image"' in shown.text and 'href="/lookouts"' in shown.text
    # The still loads with the same session, as the page's <img> does.
    assert browser.client.get(f"{PREFIX}/lookouts/{issued['id']}/image").status_code == 200
    # A reporter's default store is their own (their only one).
    assert "Northwind Exeter" in browser.get("/lookouts").text

    done = browser.post(f"/lookouts/{issued['id']}/acknowledge", {"store_id": "nw-exeter"})
    assert done.status_code == 303 and done.headers["location"] == "/lookouts?store=nw-exeter"
    after = browser.get("/lookouts?store=nw-exeter").text
    assert "Acknowledged" in after and "I have seen this" not in after

    issuer = browser_for()
    issuer.sign_in(NW, RI, next_path="/lookouts")
    mine = issuer.get("/lookouts").text
    assert "1 of 2 stores: Northwind Exeter" in mine and "Active" in mine and "Withdraw this lookout" in mine

    reads = stamp.client.get(f"{PREFIX}/audit", params={"entity": f"lookout/{issued['id']}"}, headers=stamp.auth(NW, RI)).json()
    assert len([e for e in reads["items"] if e["operation"] == "lookout.read"]) >= 3

    # At its expiry it is gone from the store's page.
    stamp.clock.advance(days=8)
    browser.sign_in(NW, RR, next_path="/lookouts?store=nw-exeter", stores=["nw-exeter"])  # a new shift, a new sign-in
    assert "No active lookouts." in browser.get("/lookouts?store=nw-exeter").text


def test_a_police_admin_is_refused_and_another_retailers_reporter_sees_nothing(stamp, browser, browser_for):
    list_person(stamp)
    issue(stamp)
    browser.sign_in("devon-and-cornwall", "Police.Admin", next_path="/lookouts")
    assert browser.get("/lookouts").status_code == 403
    contoso = browser_for()
    contoso.sign_in("contoso", RR, next_path="/lookouts")
    page = contoso.get("/lookouts")
    assert page.status_code == 200 and "No active lookouts." in page.text and NAME not in page.text
    assert contoso.get("/lookouts?store=nw-exeter").status_code == 200
    assert DESCRIPTION not in contoso.get("/lookouts?store=nw-exeter").text


def test_the_issuer_withdraws_a_lookout_from_the_page_and_the_store_stops_seeing_it(stamp, browser, browser_for):
    list_person(stamp)
    issued = issue(stamp)
    browser.sign_in(NW, RI, next_path="/lookouts")
    assert "Withdraw this lookout" in browser.get("/lookouts").text
    done = browser.post(f"/lookouts/{issued['id']}/withdraw", {})
    assert done.status_code == 303 and done.headers["location"] == "/lookouts"
    after = browser.get("/lookouts").text
    assert "Withdrawn" in after and "Withdraw this lookout" not in after
    staff = browser_for()
    staff.sign_in(NW, RR, next_path="/lookouts", stores=["nw-exeter"])
    assert "No active lookouts." in staff.get("/lookouts").text
    # Store staff have no withdraw: the page refuses them.
    assert staff.post(f"/lookouts/{issued['id']}/withdraw", {}).status_code == 403


def test_an_investigator_issues_a_lookout_from_the_form_and_a_minor_is_refused_on_it(stamp, browser):
    from datetime import date, timedelta

    list_person(stamp)
    today = stamp.clock.now().date()
    list_person(stamp, "nw-poi-minor", date_of_birth=date(today.year - 15, 6, 1))
    until = (stamp.clock.now() + timedelta(days=5)).strftime("%Y-%m-%dT%H:%M")
    browser.sign_in(NW, RI, next_path="/lookouts/new")
    form = browser.get("/lookouts/new")
    assert form.status_code == 200 and '<label for="near_store_id">' in form.text and "Northwind Exeter" in form.text
    fields = {"offender_id": "nw-poi-1", "reason": "Threatened staff at Plymouth; do not approach.", "expires_at": until}
    done = browser.post("/lookouts/new", {**fields, "near_store_id": "nw-plymouth", "within_km": "80"})
    assert done.status_code == 303 and done.headers["location"] == "/lookouts"
    assert "0 of 2 stores" in browser.get("/lookouts").text
    refused = browser.post("/lookouts/new", {**fields, "offender_id": "nw-poi-minor", "near_store_id": "nw-plymouth", "within_km": "80"})
    assert refused.status_code == 422 and "no lookout is ever issued for a minor" in refused.text
    # A whole force area needs no distance.
    area = browser.post("/lookouts/new", {**fields, "force_area": "devon-and-cornwall"})
    assert area.status_code == 303
