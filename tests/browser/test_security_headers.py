"""The stamp's security headers reach a real browser and do their job there: another site
cannot frame a Vigil page, a script injected into a page does not run, a link out of Vigil
tells the other site nothing about where the user was, and API answers are not cached.

Besides the docs page's own headers, these use the health check: a light document that
carries the headers every answer gets, so the checks do not wait for Swagger UI to draw."""

from __future__ import annotations

import pytest

pytestmark = [pytest.mark.browser, pytest.mark.xdist_group("browser")]

DOCS = "/api/v1/docs"
PLAIN = "/api/v1/healthz"
ELSEWHERE = "http://elsewhere.test"


def test_the_headers_arrive_in_the_browser(page, console):
    headers = page.goto(DOCS, wait_until="commit").all_headers()
    assert headers["x-content-type-options"] == "nosniff"
    assert headers["referrer-policy"] == "no-referrer"
    assert headers["x-frame-options"] == "DENY"
    assert headers["cross-origin-resource-policy"] == "same-origin"
    assert "frame-ancestors 'none'" in headers["content-security-policy"]
    assert "script-src 'self'" in headers["content-security-policy"]

    # The browser logs the 401 of a request without a token as a console error.
    console.allow(r"status of 401")
    with page.expect_response("**/api/v1/incidents") as answer:
        page.evaluate("() => fetch('/api/v1/incidents').then((r) => r.status)")
    assert answer.value.status == 401
    assert answer.value.all_headers()["cache-control"] == "no-store"


def test_another_site_cannot_frame_a_vigil_page(desktop, live_stamp, console):
    # A page on another origin (localhost rather than 127.0.0.1: Chromium lets a loopback
    # page frame another loopback origin once allowed local network access) putting Vigil
    # in a frame, as a clickjacking page would.
    framer = live_stamp.url.replace("127.0.0.1", "localhost")
    vigil = f"{live_stamp.url}{PLAIN}"
    desktop.route(f"{framer}/framer.html", lambda route: route.fulfill(content_type="text/html", body=f'<iframe src="{vigil}"></iframe>'))
    desktop.grant_permissions(["local-network-access"], origin=framer)
    console.allow(r"frame-ancestors 'none'")
    page = desktop.new_page()
    with page.expect_event("requestfailed", lambda r: r.url == vigil) as failed:
        page.goto(f"{framer}/framer.html")
    assert failed.value.failure == "net::ERR_BLOCKED_BY_RESPONSE"
    (frame,) = page.main_frame.child_frames
    # The frame shows Chromium's error page, not Vigil (it gets there just after the refusal).
    for _ in range(50):
        if frame.url.startswith("chrome-error:"):
            break
        page.wait_for_timeout(100)
    assert frame.url.startswith("chrome-error:"), frame.url
    assert any("frame-ancestors 'none'" in p for p in console.csp_violations()), console.problems


def test_a_script_injected_into_a_page_does_not_run(page, console):
    page.goto(PLAIN)
    console.allow(r"Content Security Policy")
    # What a stored cross-site scripting flaw would put in the page: an inline script and
    # an inline event handler.
    page.evaluate(
        """() => {
            const s = document.createElement('script');
            s.textContent = 'window.injected = true';
            document.body.appendChild(s);
            const img = document.createElement('img');
            img.setAttribute('src', 'data:,');
            img.setAttribute('onerror', 'window.injected = true');
            document.body.appendChild(img);
        }"""
    )
    page.wait_for_timeout(200)
    assert page.evaluate("() => window.injected") is None
    assert len(console.csp_violations()) >= 2, console.problems


def test_a_link_out_of_vigil_sends_no_referrer(page):
    page.goto(PLAIN)
    seen = []
    page.route(f"{ELSEWHERE}/**", lambda route: (seen.append(route.request.headers), route.fulfill(body="elsewhere")))
    page.evaluate(
        """(href) => {
            const a = document.createElement('a');
            a.href = href;
            a.id = 'out';
            a.textContent = 'out';
            // Above the browser's own JSON viewer, through the CSSOM (the CSP blocks inline styles).
            Object.assign(a.style, {position: 'fixed', top: '0', left: '0', zIndex: '2147483647', background: 'white'});
            document.body.append(a);
        }""",
        f"{ELSEWHERE}/landing",
    )
    page.click("#out")
    page.wait_for_url(f"{ELSEWHERE}/landing")
    assert seen and "referer" not in {k.lower() for k in seen[0]}
