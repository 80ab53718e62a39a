"""Signing in to the console on the local stamp, sessions, CSRF and the console's headers."""

from __future__ import annotations

from functions.console.render import CONSOLE_CSP
from shared.adapters.console_sessions import COOKIE

API = "/api/v1"


def test_a_page_while_signed_out_goes_to_sign_in_and_back(browser):
    answer = browser.get("/?from=email")
    assert answer.status_code == 303
    assert answer.headers["location"] == "/signin?next=/%3Ffrom%3Demail"
    page = browser.get(answer.headers["location"])
    assert page.status_code == 200
    assert 'name="next" value="/?from=email"' in page.text
    signed_in = browser.post("/signin", [("organisation", "devon-and-cornwall"), ("role", "Police.Officer"), ("next", "/?from=email")])
    assert signed_in.status_code == 303
    assert signed_in.headers["location"] == "/?from=email"


def test_the_sign_in_page_lists_this_stamps_organisations_and_their_roles(browser):
    page = browser.get("/signin").text
    for name in ("Northwind Stores", "Contoso Retail", "Devon and Cornwall"):
        assert name in page
    assert "Koala Mart" not in page  # homed in Australia: not served by the uk stamp
    assert 'id="signin-northwind-reporter"' in page
    assert 'id="signin-devon-and-cornwall-officer"' in page
    # A force cannot sign in as a retailer's role, nor a retailer as police.
    assert 'id="signin-northwind-officer"' not in page
    assert 'id="signin-devon-and-cornwall-reporter"' not in page


def test_the_session_cookie_is_httponly_secure_and_lax(browser):
    browser.get("/signin")
    answer = browser.post("/signin", {"organisation": "northwind", "role": "Retailer.Reporter", "next": "/reports"})
    cookie = answer.headers["set-cookie"]
    assert cookie.startswith(f"{COOKIE}=")
    for attribute in ("HttpOnly", "Secure", "SameSite=lax", "Path=/"):
        assert attribute in cookie


def test_sign_in_without_the_forms_csrf_token_is_refused(browser):
    browser.get("/signin")
    answer = browser.post("/signin", {"organisation": "northwind", "role": "Retailer.Admin"}, csrf=False)
    assert answer.status_code == 403
    assert "did not come from this Vigil page" in answer.text
    assert browser.get("/").status_code == 303  # still signed out


def test_a_role_the_organisation_cannot_hold_is_refused(browser):
    browser.get("/signin")
    answer = browser.post("/signin", {"organisation": "northwind", "role": "Police.Officer"})
    assert answer.status_code == 422
    assert "cannot hold the role" in answer.text


def test_sign_in_never_sends_the_browser_to_another_site(browser):
    for target in ("//evil.example/x", "https://evil.example/", "/\\evil.example"):
        browser.get("/signin")
        answer = browser.post("/signin", {"organisation": "northwind", "role": "Retailer.Admin", "next": target})
        assert answer.headers["location"] == "/", target


def test_store_staff_act_for_the_stores_they_chose(browser, stamp):
    stores = [s.id for s in stamp.container.directory.stores_of("northwind")]
    browser.sign_in("northwind", "Retailer.Reporter", stores=stores[:1])
    me = browser.client.get(f"{API}/incidents")  # the API with the console's session
    assert me.status_code == 200
    session = stamp.container.console_sessions.open(browser.client.cookies[COOKIE], int(stamp.clock.now().timestamp()))
    assert session is not None and session.claims["stores"] == stores[:1]


def test_sign_out_ends_the_session(browser):
    browser.sign_in("northwind", "Retailer.Admin")
    assert browser.get("/").status_code == 303
    assert browser.get("/").headers["location"] != "/signin"
    page = browser.get("/signin")  # any page carries the sign-out form with the token
    assert page.status_code == 200
    out = browser.post("/signout", {})
    assert out.status_code == 303 and out.headers["location"] == "/signin"
    assert f'{COOKIE}=""' in out.headers["set-cookie"] or "Max-Age=0" in out.headers["set-cookie"]
    assert browser.get("/").headers["location"].startswith("/signin")


def test_a_session_ends_after_the_idle_timeout(browser, stamp):
    browser.sign_in("northwind", "Retailer.Admin")
    stamp.clock.advance(minutes=29)
    assert not browser.get("/").headers["location"].startswith("/signin")
    stamp.clock.advance(minutes=31)
    assert browser.get("/").headers["location"].startswith("/signin")


def test_a_session_ends_after_the_absolute_timeout_however_busy(browser, stamp):
    browser.sign_in("northwind", "Retailer.Admin")
    for _ in range(12 * 4 - 1):  # a request every 15 minutes for just under 12 hours
        stamp.clock.advance(minutes=15)
        assert not browser.get("/").headers["location"].startswith("/signin")
    stamp.clock.advance(minutes=16)
    assert browser.get("/").headers["location"].startswith("/signin")


def test_an_edited_cookie_is_no_session(browser):
    browser.sign_in("northwind", "Retailer.Admin")
    value = browser.client.cookies[COOKIE]
    head, body, mac = value.split(".")
    forged = f"{head}.{body}.{'A' if mac[0] != 'A' else 'B'}{mac[1:]}"
    browser.client.cookies.clear()
    browser.client.cookies.set(COOKIE, forged)
    assert browser.get("/").headers["location"].startswith("/signin")


def test_api_writes_with_the_console_session_need_the_csrf_header(browser):
    browser.sign_in("northwind", "Retailer.Reporter")
    refused = browser.client.post(f"{API}/incidents", json={})
    assert refused.status_code == 403
    assert "x-csrf-token" in refused.json()["detail"]
    browser.get("/signin")  # a page to read the session's token from
    admitted = browser.client.post(f"{API}/incidents", json={}, headers={"X-CSRF-Token": browser.csrf})
    assert admitted.status_code == 422  # past sign-in and CSRF: the empty report itself is refused


def test_the_api_without_a_session_or_token_still_answers_401(browser):
    assert browser.client.get(f"{API}/incidents").status_code == 401


def test_the_local_sign_in_is_refused_on_the_azure_backend(browser, stamp):
    browser.get("/signin")
    local = stamp.container.settings
    stamp.container.settings = local.model_copy(update={"backend": "azure"})
    try:
        answer = browser.post("/signin", {"organisation": "northwind", "role": "Platform.Operator"})
    finally:
        stamp.container.settings = local
    assert answer.status_code == 404
    assert COOKIE not in answer.headers.get("set-cookie", "")


def test_console_pages_carry_a_strict_csp_and_are_never_cached(browser):
    page = browser.get("/signin")
    assert page.headers["content-security-policy"] == CONSOLE_CSP
    assert "'unsafe-inline'" not in CONSOLE_CSP
    assert page.headers["cache-control"] == "no-store"
    assert page.headers["x-frame-options"] == "DENY"
    assert '<script src="/assets/console.js"' in page.text
    assert browser.get("/assets/console.css").status_code == 200


def test_an_unknown_page_is_a_readable_404(browser):
    browser.sign_in("northwind", "Retailer.Admin")
    page = browser.get("/no-such-page")
    assert page.status_code == 404
    assert page.headers["content-type"].startswith("text/html")
    assert "There is no page at this address" in page.text
    assert "Northwind Stores" in page.text  # the header still shows who is signed in
