"""The console's share pages: an officer shares the package from the case page, sees the
code once, sees who opened the link, and revokes it."""

from __future__ import annotations

import re
from urllib.parse import quote_plus

from tests.disclosure.helpers import FORCE, PURPOSE, SHARE, dispatched_incident, share_mails

CODE = re.compile(r'<p class="share-code"[^>]*>(\d{8})</p>')


def _fields(**changes):
    return [*{**SHARE, "expires_in_days": 14, **changes}.items(), ("case_purpose", PURPOSE)]


def test_officer_shares_from_the_case_page_sees_the_code_once_and_revokes(stamp, browser):
    incident = dispatched_incident(stamp)
    browser.sign_in(FORCE, "Police.Officer")
    case = browser.get(f"/cases/{incident['id']}?purpose={quote_plus(PURPOSE)}")
    assert case.status_code == 200
    assert "Share with prosecutor or defence" in case.text
    assert f'action="/cases/{incident["id"]}/shares"' in case.text and 'for="share-email"' in case.text

    made = browser.post(f"/cases/{incident['id']}/shares", _fields())
    assert made.status_code == 201, made.text
    code = CODE.search(made.text).group(1)
    assert "The link was emailed to priya.shah@cps.example" in made.text
    (mail,) = share_mails(stamp)
    assert code not in mail.as_string()

    listing = browser.get(f"/cases/{incident['id']}/shares?purpose={quote_plus(PURPOSE)}")
    assert listing.status_code == 200
    assert "Priya Shah, CPS South West" in listing.text and "Not opened yet." in listing.text
    assert code not in listing.text  # shown once, never again

    token = re.search(r"/shared/([A-Za-z0-9_-]+)", made.text).group(1)
    assert browser.get(f"/shared/{token}").status_code == 200
    assert "Viewed" in browser.get(f"/cases/{incident['id']}/shares?purpose={quote_plus(PURPOSE)}").text

    share_id = re.search(r"/shares/([0-9a-f]{32})/revoke", listing.text).group(1)
    revoked = browser.post(f"/cases/{incident['id']}/shares/{share_id}/revoke", [("case_purpose", PURPOSE)])
    assert revoked.status_code == 303
    after = browser.get(revoked.headers["location"])
    assert "Revoked" in after.text and "Revoke the link" not in after.text
    gone = browser.get(f"/shared/{token}")
    assert gone.status_code == 410 and "withdrawn" in gone.text


def test_a_bad_address_keeps_the_form_and_shares_nothing(stamp, browser):
    incident = dispatched_incident(stamp)
    browser.sign_in(FORCE, "Police.Analyst")
    browser.get(f"/cases/{incident['id']}?purpose={quote_plus(PURPOSE)}")
    bad = browser.post(f"/cases/{incident['id']}/shares", _fields(recipient_email="a@cps.example; b@cps.example"))
    assert bad.status_code == 422
    assert "Recipient&#39;s email" in bad.text and 'value="Priya Shah"' in bad.text
    assert share_mails(stamp) == []
    assert "Not shared with anyone yet." in bad.text


def test_retailers_and_other_forces_cannot_share(stamp, browser, browser_for):
    incident = dispatched_incident(stamp)
    browser.sign_in("northwind", "Retailer.Investigator")
    assert browser.get(f"/cases/{incident['id']}/shares?purpose={quote_plus(PURPOSE)}").status_code == 403
    other = browser_for()
    other.sign_in("avon-and-somerset", "Police.Officer")
    other.get("/inbox")
    assert other.post(f"/cases/{incident['id']}/shares", _fields()).status_code == 404
    assert share_mails(stamp) == []


def test_a_police_admin_sees_the_shares_and_revokes_but_is_offered_no_form(stamp, browser):
    incident = dispatched_incident(stamp)
    made = stamp.client.post(
        f"/api/v1/incidents/{incident['id']}/package-shares", json=SHARE, headers=stamp.auth(FORCE, "Police.Officer")
    ).json()
    browser.sign_in(FORCE, "Police.Admin")
    listing = browser.get(f"/cases/{incident['id']}/shares?purpose={quote_plus('Withdrawing a link sent in error')}")
    assert listing.status_code == 200
    assert "Priya Shah, CPS South West" in listing.text and 'name="recipient_email"' not in listing.text
    revoked = browser.post(
        f"/cases/{incident['id']}/shares/{made['share']['id']}/revoke", [("case_purpose", "Withdrawing a link sent in error")]
    )
    assert revoked.status_code == 303
    assert browser.get("/shared/" + made["link"].rsplit("/", 1)[1]).status_code == 410
