"""The network-ranges admin page, and the console held to the ranges as the API is: pages
and sign-in from outside an organisation's network are refused (docs/security.md)."""

from __future__ import annotations

import html
import re

import pytest
from fastapi.testclient import TestClient

from tests.console.test_investigate_pages import signed_in
from tests.fixtures_http import both_backends

API = "/api/v1"
DC = "devon-and-cornwall"
OUTSIDE = "203.0.113.9"


def text(answer) -> str:
    return html.unescape(answer.text)


def etag_of(form) -> str:
    return re.search(r'name="etag" value="([^"]+)"', form.text).group(1)


def move_to(browser, address: str):
    """The same browser (its cookies kept) now reaching the stamp from `address`."""
    cookies = browser.client.cookies
    browser.client = TestClient(browser.stamp.client.app, base_url="https://testserver", follow_redirects=False, client=(address, 50000))
    browser.client.cookies = cookies
    return browser


def set_staff_ranges(stamp, org: str, role: str, staff: list[str]) -> None:
    url = f"{API}/organisations/{org}/network-ranges"
    headers = stamp.auth(org, role)
    etag = stamp.client.get(url, headers=headers).headers["etag"]
    assert stamp.client.put(url, json={"staff": staff}, headers={**headers, "If-Match": etag}).status_code == 200


@both_backends
def test_the_admin_page_says_plainly_that_staff_can_sign_in_from_anywhere_and_edits_the_ranges(stamp, browser):
    signed_in(stamp, browser, DC, "Police.Admin")
    assert "/admin/network-ranges" in browser.get("/admin").text
    form = browser.get("/admin/network-ranges")
    assert form.status_code == 200
    assert "Staff can sign in from anywhere" in text(form)
    assert "Camera systems and service principals can call from anywhere" in text(form)
    assert "Your address now: 127.0.0.1" in text(form)

    saved = browser.post(
        "/admin/network-ranges", {"etag": etag_of(form), "staff": "127.0.0.0/8\n2001:DB8:10::/48, 192.0.2.0/24", "devices": ""}
    )
    assert saved.status_code == 303
    after = browser.get(saved.headers["location"])
    assert "Saved as version 1" in text(after)
    assert "Staff can reach Vigil only from: 127.0.0.0/8, 192.0.2.0/24, 2001:db8:10::/48." in text(after)
    api = stamp.client.get(f"{API}/organisations/{DC}/network-ranges", headers=stamp.auth(DC, "Police.Admin")).json()
    assert api["staff"] == ["127.0.0.0/8", "192.0.2.0/24", "2001:db8:10::/48"] and api["devices"] == []


def test_a_bad_range_is_shown_next_to_its_field_and_nothing_is_saved(stamp, browser):
    signed_in(stamp, browser, "northwind", "Retailer.Admin")
    form = browser.get("/admin/network-ranges")
    answer = browser.post("/admin/network-ranges", {"etag": etag_of(form), "staff": "127.0.0.0/8\n10.1.2.3/16", "devices": "cameras"})
    assert answer.status_code == 422
    page = text(answer)
    assert "10.1.2.3/16 has host bits set: write 10.1.0.0/16" in page
    assert "cameras is not an IPv4 or IPv6 range" in page
    assert 'id="staff-error"' in answer.text and 'id="devices-error"' in answer.text
    assert "10.1.2.3/16</textarea>" in answer.text  # what was typed is kept
    assert (
        stamp.client.get(f"{API}/organisations/northwind/network-ranges", headers=stamp.auth("northwind", "Retailer.Admin")).json()[
            "version"
        ]
        == 0
    )


def test_ranges_that_leave_out_the_admins_own_address_need_a_second_tick(stamp, browser):
    signed_in(stamp, browser, DC, "Police.Admin")
    form = browser.get("/admin/network-ranges")
    first = browser.post("/admin/network-ranges", {"etag": etag_of(form), "staff": "192.0.2.0/24", "devices": ""})
    assert first.status_code == 422
    assert "Your own address (127.0.0.1) is not in these ranges" in text(first)
    sure = browser.post("/admin/network-ranges", {"etag": etag_of(first), "staff": "192.0.2.0/24", "devices": "", "shut_out": "on"})
    assert sure.status_code == 303
    # Shut out, as warned: the next page is refused.
    assert browser.get("/admin/network-ranges").status_code == 403


def test_a_stale_form_shows_someone_changed_this_first(stamp, browser):
    signed_in(stamp, browser, DC, "Police.Admin")
    form = browser.get("/admin/network-ranges")
    set_staff_ranges(stamp, DC, "Police.Admin", ["127.0.0.0/8"])
    answer = browser.post("/admin/network-ranges", {"etag": etag_of(form), "staff": "", "devices": ""})
    assert answer.status_code == 412


def test_console_pages_from_outside_the_forces_network_are_refused(stamp, browser):
    set_staff_ranges(stamp, DC, "Police.Admin", ["127.0.0.0/8"])
    signed_in(stamp, browser, DC, "Police.Officer")
    assert browser.get("/inbox").status_code == 200
    move_to(browser, OUTSIDE)
    refused = browser.get("/inbox")
    assert refused.status_code == 403
    assert f"this request came from {OUTSIDE}" in text(refused)


def test_signing_in_from_outside_is_refused_and_opens_no_session(stamp, browser):
    set_staff_ranges(stamp, DC, "Police.Admin", ["127.0.0.0/8"])
    move_to(browser, OUTSIDE)
    browser.get("/signin")
    answer = browser.post("/signin", [("organisation", DC), ("role", "Police.Officer"), ("next", "/inbox")])
    assert answer.status_code == 403
    assert "allows access only from its own network" in text(answer)
    # No session came of it: the inbox still asks for sign-in.
    assert browser.get("/inbox").status_code == 303
    # Another force keeps no ranges: its officers sign in from anywhere.
    assert browser.post("/signin", [("organisation", "avon-and-somerset"), ("role", "Police.Officer"), ("next", "/")]).status_code == 303


def test_people_other_than_admins_get_403_on_the_page(stamp, browser):
    signed_in(stamp, browser, DC, "Police.Officer")
    assert browser.get("/admin/network-ranges").status_code == 403


@pytest.fixture
def entra(tmp_path):
    """A fake Entra ID, as the console's OIDC sign-in tests use."""
    from tests.console.test_signin_oidc import CALLBACK, CLIENT_ID
    from tests.fakes_oidc import FakeOpenIdProvider

    provider = FakeOpenIdProvider(tmp_path, client_id=CLIENT_ID, redirect_uris=[CALLBACK])
    yield provider
    provider.close()


def test_entra_sign_in_completed_from_outside_the_forces_network_opens_no_session(stamp, entra, monkeypatch):
    idp = entra
    import urllib.parse

    from shared.adapters.console_sessions import COOKIE
    from tests.console.test_signin_oidc import _azure_console, _browser, _person

    set_staff_ranges(stamp, DC, "Police.Admin", ["127.0.0.0/8"])
    idp.user = _person(stamp, DC, roles=("Police.Officer",))
    browser = move_to(_azure_console(stamp, idp, monkeypatch), OUTSIDE)
    to_entra = browser.get("/signin?next=/inbox")
    answer = _browser(idp, to_entra.headers["location"])
    back = browser.client.post(
        "/signin/callback", content=urllib.parse.urlencode(answer), headers={"content-type": "application/x-www-form-urlencoded"}
    )
    assert back.status_code == 403
    assert f"this request came from {OUTSIDE}" in text(back)
    assert COOKIE not in browser.client.cookies
